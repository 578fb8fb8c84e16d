//! The branch each commit of a range was made on, from history alone: the default branch's
//! first-parent line, then the branches merges name for the commits they brought in, then the
//! other local branches' first-parent lines.

use std::collections::HashMap;

use agent_cost_git::{Branches, CommitLinks, HistoryError};

/// A walked commit, as branch naming sees it.
pub(crate) struct Node<'a> {
    /// Full hex id.
    pub id: &'a str,
    /// Parent ids, in the commit's order.
    pub parents: &'a [String],
    /// Committer time.
    pub commit_time: i64,
    /// For a merge, the branch its subject names ([`crate::classify::merged_branch`]).
    pub merged_branch: Option<&'a str>,
}

/// The default branch: `configured`, else the branch `origin/HEAD` names, else the first of
/// `main`, `master`, `trunk` that is a local branch, else the branch `HEAD` is on.
pub fn default_branch(branches: &Branches, configured: Option<&str>) -> Option<String> {
    configured
        .map(str::to_string)
        .or_else(|| branches.origin_head.clone())
        .or_else(|| {
            ["main", "master", "trunk"]
                .into_iter()
                .find(|name| branches.local.iter().any(|b| b.name == *name))
                .map(str::to_string)
        })
        .or_else(|| branches.head.clone())
}

/// The branch of each node (`None`: no rule names one):
///
/// 1. the first-parent lines of the default branch's local and `origin` tips get its name;
/// 2. merges, oldest first, give the branch their subject names to the commits reachable from
///    their second and later parents that have none yet (stopping at named commits);
/// 3. the other local branches, by name, each name the unnamed commits of its first-parent
///    line (stopping at the first named one).
///
/// `links` reads a commit outside the nodes, for first-parent lines that start above the
/// range; such a line is followed until it enters the nodes and stops when it leaves them or
/// reaches a commit older than the oldest node.
pub(crate) fn assign(
    nodes: &[Node<'_>],
    branches: &Branches,
    default: Option<&str>,
    mut links: impl FnMut(&str) -> Result<CommitLinks, HistoryError>,
) -> Result<Vec<Option<String>>, HistoryError> {
    let mut named: Vec<Option<String>> = vec![None; nodes.len()];
    let Some(oldest) = nodes.iter().map(|n| n.commit_time).min() else {
        return Ok(named);
    };
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut first_parent_line =
        |tip: &str, named: &mut Vec<Option<String>>, name: &str| -> Result<(), HistoryError> {
            let mut at = tip.to_string();
            let mut entered = false;
            loop {
                let parent = match index.get(at.as_str()) {
                    Some(&i) => {
                        entered = true;
                        if named[i].is_some() {
                            break;
                        }
                        named[i] = Some(name.to_string());
                        nodes[i].parents.first().cloned()
                    }
                    None if entered => break,
                    None => {
                        let outside = links(&at)?;
                        if outside.commit_time < oldest {
                            break;
                        }
                        outside.parents.into_iter().next()
                    }
                };
                match parent {
                    Some(parent) => at = parent,
                    None => break,
                }
            }
            Ok(())
        };

    if let Some(default) = default {
        let tips = branches
            .local
            .iter()
            .chain(&branches.origin)
            .filter(|b| b.name == default);
        for branch in tips {
            first_parent_line(&branch.tip, &mut named, default)?;
        }
    }

    // The walk lists newer commits first.
    for merge in nodes.iter().rev().filter(|n| n.parents.len() > 1) {
        let Some(name) = merge.merged_branch else {
            continue;
        };
        let mut stack: Vec<usize> = merge.parents[1..]
            .iter()
            .filter_map(|p| index.get(p.as_str()).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if named[i].is_some() {
                continue;
            }
            named[i] = Some(name.to_string());
            stack.extend(
                nodes[i]
                    .parents
                    .iter()
                    .filter_map(|p| index.get(p.as_str()).copied()),
            );
        }
    }

    for branch in branches
        .local
        .iter()
        .filter(|b| Some(b.name.as_str()) != default)
    {
        first_parent_line(&branch.tip, &mut named, &branch.name)?;
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_cost_git::Branch;

    fn branch(name: &str, tip: &str) -> Branch {
        Branch {
            name: name.to_string(),
            tip: tip.to_string(),
        }
    }

    #[test]
    fn the_default_branch_is_configured_then_origin_head_then_a_usual_name_then_head() {
        let mut branches = Branches {
            local: vec![branch("master", "a"), branch("topic", "b")],
            head: Some("topic".to_string()),
            origin_head: Some("develop".to_string()),
            ..Branches::default()
        };
        assert_eq!(
            default_branch(&branches, Some("trunk")).as_deref(),
            Some("trunk")
        );
        assert_eq!(default_branch(&branches, None).as_deref(), Some("develop"));
        branches.origin_head = None;
        assert_eq!(default_branch(&branches, None).as_deref(), Some("master"));
        branches.local.remove(0);
        assert_eq!(default_branch(&branches, None).as_deref(), Some("topic"));
        branches.head = None;
        assert_eq!(default_branch(&branches, None), None);
    }

    /// History (newest first), with `o` outside the walked range, above it:
    ///
    /// ```text
    /// o ─ m3 (Merge branch 'fix/OPS-3') ─ m2 (Merge pull request #5 from dana/cart) ─ m1 ─ r
    ///          └ f1                          └ c2 ─ c1 ┘ (c1's parent: m1)
    /// open: s2 ─ s1 ─ m2
    /// ```
    #[test]
    fn mainline_then_merges_then_local_branches() {
        let p = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let parents = [
            p(&["m2", "f1"]),
            p(&["m2"]),
            p(&["s1"]),
            p(&["m2"]),
            p(&["m1", "c2"]),
            p(&["c1"]),
            p(&["m1"]),
            p(&["r"]),
            p(&[]),
        ];
        let ids = ["m3", "f1", "s2", "s1", "m2", "c2", "c1", "m1", "r"];
        let merged = [
            Some("fix/OPS-3"),
            None,
            None,
            None,
            Some("cart"),
            None,
            None,
            None,
            None,
        ];
        let nodes: Vec<Node<'_>> = ids
            .iter()
            .zip(&parents)
            .zip(merged)
            .enumerate()
            .map(|(i, ((id, parents), merged_branch))| Node {
                id,
                parents,
                commit_time: 100 - i as i64,
                merged_branch,
            })
            .collect();
        let branches = Branches {
            local: vec![
                branch("main", "o"),
                branch("open", "s2"),
                branch("stale", "c2"),
            ],
            ..Branches::default()
        };
        let mut read = Vec::new();
        let named = assign(&nodes, &branches, Some("main"), |id| {
            read.push(id.to_string());
            Ok(CommitLinks {
                parents: vec!["m3".to_string()],
                commit_time: 200,
            })
        })
        .unwrap();
        let named: Vec<&str> = named
            .iter()
            .map(|n| n.as_deref().unwrap_or("none"))
            .collect();
        assert_eq!(
            named,
            [
                "main",
                "fix/OPS-3",
                "open",
                "open",
                "main",
                "cart",
                "cart",
                "main",
                "main"
            ]
        );
        assert_eq!(read, ["o"]);
    }
}
