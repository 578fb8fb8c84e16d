//! Concentration of spend: the smallest share of items (commits, pull requests, authors)
//! that holds 50 % and 80 % of the USD spend, with those items named.

use agent_cost_events::Money;

/// The smallest set of items holding at least `percent` of the spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParetoShare {
    /// The share of spend asked for: 50 or 80.
    pub percent: u8,
    /// How many items (the costliest first) it takes.
    pub items: usize,
    /// Items with spend in all.
    pub of: usize,
    /// Those items, costliest first, with their cost.
    pub top: Vec<(String, Money)>,
}

impl ParetoShare {
    /// `items` as a share of `of`, in whole percent rounded half up (0 when there are none).
    pub fn items_percent(&self) -> u64 {
        if self.of == 0 {
            return 0;
        }
        ((self.items as u64) * 200 + self.of as u64) / (2 * self.of as u64)
    }
}

/// For 50 % and 80 % of the summed cost of `items` (label, cost; items costing nothing are left
/// out), the fewest costliest items that reach it. Ties in cost are ordered by label.
pub fn pareto(mut items: Vec<(String, Money)>) -> Vec<ParetoShare> {
    items.retain(|(_, cost)| cost.0 > 0);
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: u128 = items.iter().map(|(_, cost)| cost.0).sum();
    [50u8, 80]
        .into_iter()
        .map(|percent| {
            let mut running = 0u128;
            let mut count = 0;
            for (_, cost) in &items {
                if total > 0 && running * 100 >= total * u128::from(percent) {
                    break;
                }
                running += cost.0;
                count += 1;
            }
            ParetoShare {
                percent,
                items: count,
                of: items.len(),
                top: items[..count].to_vec(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(micros: u64) -> Money {
        Money::from_micros(micros)
    }

    #[test]
    fn the_fewest_costliest_items_that_reach_each_share() {
        // 10 items: one of 6.00, one of 2.00, eight of 0.25 (total 10.00).
        let mut items = vec![
            ("a".to_string(), usd(6_000_000)),
            ("b".to_string(), usd(2_000_000)),
        ];
        for i in 0..8 {
            items.push((format!("c{i}"), usd(250_000)));
        }
        items.push(("free".to_string(), usd(0)));
        let shares = pareto(items);
        assert_eq!(shares[0].percent, 50);
        assert_eq!(shares[0].items, 1);
        assert_eq!(shares[0].of, 10);
        assert_eq!(shares[0].items_percent(), 10);
        assert_eq!(shares[0].top, vec![("a".to_string(), usd(6_000_000))]);
        // 80 %: 6.00 + 2.00 = 8.00 reaches it exactly.
        assert_eq!(shares[1].items, 2);
        assert_eq!(shares[1].items_percent(), 20);
        assert_eq!(shares[1].top[1].0, "b");
    }

    #[test]
    fn equal_costs_need_the_share_of_items_and_nothing_is_none() {
        let items = (0..4).map(|i| (format!("x{i}"), usd(1_000_000))).collect();
        let shares = pareto(items);
        assert_eq!((shares[0].items, shares[1].items), (2, 4));
        assert_eq!(shares[0].top[0].0, "x0");
        let none = pareto(Vec::new());
        assert_eq!(
            (none[0].items, none[0].of, none[0].items_percent()),
            (0, 0, 0)
        );
    }
}
