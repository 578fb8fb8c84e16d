//! What a commit is, from its subject and message alone: conventional-commit type, pull
//! request number, the branch a merge names, and the calendar keys (day, ISO week, month) of
//! a time. Tickets and configured PR forms are [`crate::ReportConfig`]'s.

/// The type of a commit from the conventional-commit prefix of its subject (`fix:`,
/// `feat(cart)!:`): `fix`, `feat`, `refac` (refac, refactor), `test` (test, tests), `doc`
/// (doc, docs), `config` (config, ci, build, chore), else `other`. Case-insensitive.
pub fn commit_type(subject: &str) -> &'static str {
    let Some((head, _)) = subject.trim_start().split_once(':') else {
        return "other";
    };
    let head = head.strip_suffix('!').unwrap_or(head);
    let word = match head.find('(') {
        Some(open) if head.ends_with(')') => &head[..open],
        Some(_) => return "other",
        None => head,
    };
    work_type(word)
}

/// A type word (`fix`, `Feat`, `refactor`, `docs`, `ci` …) as one of the types
/// [`commit_type`] gives; `other` for any other word.
pub fn work_type(word: &str) -> &'static str {
    match word.to_ascii_lowercase().as_str() {
        "fix" => "fix",
        "feat" => "feat",
        "refac" | "refactor" => "refac",
        "test" | "tests" => "test",
        "doc" | "docs" => "doc",
        "config" | "ci" | "build" | "chore" => "config",
        _ => "other",
    }
}

/// The pull request a subject names: `Merge pull request #N from …` (GitHub's true merge)
/// or a subject ending in `(#N)` (GitHub's squash and rebase merges).
pub fn pr_number(subject: &str) -> Option<u64> {
    let subject = subject.trim();
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        return digits.parse().ok();
    }
    let inner = subject.strip_suffix(')')?;
    let open = inner.rfind("(#")?;
    let digits = &inner[open + 2..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether a subject is GitHub's true-merge subject, `Merge pull request #N …`: its second
/// parent's commits belong to pull request N.
pub fn is_pr_merge_subject(subject: &str) -> bool {
    subject.trim_start().starts_with("Merge pull request #")
}

/// The branch a merge's subject names as merged: `Merge pull request #N from owner/BRANCH`
/// (everything after the first `/`), `Merge branch 'BRANCH'` (with or without ` into X`),
/// `Merge remote-tracking branch 'origin/BRANCH'` (without the remote's name).
pub fn merged_branch(subject: &str) -> Option<String> {
    let subject = subject.trim();
    let name = if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        let from = rest.split_once(" from ")?.1.split_whitespace().next()?;
        from.split_once('/')?.1
    } else if let Some(rest) = subject.strip_prefix("Merge branch '") {
        rest.split_once('\'')?.0
    } else if let Some(rest) = subject.strip_prefix("Merge remote-tracking branch '") {
        rest.split_once('\'')?.0.split_once('/')?.1
    } else {
        return None;
    };
    (!name.is_empty()).then(|| name.to_string())
}

/// The author's local date of a time (seconds since the epoch, UTC offset in seconds), the
/// date `git log --date=short` shows.
pub fn local_date(seconds: i64, offset: i32) -> jiff::civil::Date {
    let offset = jiff::tz::Offset::from_seconds(offset).unwrap_or(jiff::tz::Offset::UTC);
    let timestamp = jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    offset.to_datetime(timestamp).date()
}

/// `2026-12-01`.
pub fn day_key(date: jiff::civil::Date) -> String {
    date.to_string()
}

/// The ISO 8601 week: `2026-W49` (weeks start on Monday; week 1 holds the year's first
/// Thursday, so early January can belong to the previous year's last week).
pub fn week_key(date: jiff::civil::Date) -> String {
    let week = date.iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// `2026-12`.
pub fn month_key(date: jiff::civil::Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_conventional_prefixes() {
        for (subject, expected) in [
            ("fix: off by one", "fix"),
            ("Fix(cart): rounding", "fix"),
            ("feat!: new API", "feat"),
            ("feat(api)!: drop v1", "feat"),
            ("refactor: split module", "refac"),
            ("refac: tidy", "refac"),
            ("test: cover totals", "test"),
            ("tests: more", "test"),
            ("docs: readme", "doc"),
            ("doc: typo", "doc"),
            ("ci: cache", "config"),
            ("build: bump", "config"),
            ("chore: deps", "config"),
            ("config: lint", "config"),
            ("perf: faster", "other"),
            ("Add cart total", "other"),
            ("Merge pull request #12 from x/y", "other"),
            ("fix (cart): space before scope", "other"),
            ("feat(cart: unclosed", "other"),
        ] {
            assert_eq!(commit_type(subject), expected, "{subject}");
        }
    }

    #[test]
    fn pr_numbers_from_merge_and_squash_subjects() {
        assert_eq!(pr_number("Merge pull request #12 from x/y"), Some(12));
        assert_eq!(pr_number("Add thing (#13)"), Some(13));
        assert_eq!(pr_number("feat: cart (#7) "), Some(7));
        assert_eq!(pr_number("Fix #13 crash"), None);
        assert_eq!(pr_number("Add thing (#)"), None);
        assert_eq!(pr_number("Add thing (#1a)"), None);
        assert_eq!(pr_number("Merge branch 'main'"), None);
        assert!(is_pr_merge_subject("Merge pull request #12 from x/y"));
        assert!(!is_pr_merge_subject("Add thing (#13)"));
    }

    #[test]
    fn branches_from_merge_subjects() {
        for (subject, expected) in [
            (
                "Merge pull request #5 from dana/SHOP-7-cart",
                Some("SHOP-7-cart"),
            ),
            (
                "Merge pull request #6 from shop/feature/cart",
                Some("feature/cart"),
            ),
            ("Merge pull request #6 from nobranch", None),
            ("Merge branch 'fix/OPS-3'", Some("fix/OPS-3")),
            ("Merge branch 'fix/OPS-3' into develop", Some("fix/OPS-3")),
            ("Merge branch 'cart' into 'main'", Some("cart")),
            (
                "Merge remote-tracking branch 'origin/feature/x'",
                Some("feature/x"),
            ),
            ("Merge remote-tracking branch 'origin/x' into x", Some("x")),
            ("Merge branch ''", None),
            ("Merge tag 'v1.0'", None),
            ("Add cart (#7)", None),
        ] {
            assert_eq!(merged_branch(subject).as_deref(), expected, "{subject}");
        }
    }

    #[test]
    fn iso_weeks_days_and_months() {
        let date = |y, m, d| jiff::civil::date(y, m, d);
        assert_eq!(week_key(date(2026, 12, 1)), "2026-W49");
        // 2027-01-01 is a Friday: ISO week 53 of 2026.
        assert_eq!(week_key(date(2027, 1, 1)), "2026-W53");
        // 2024-12-30 is a Monday: ISO week 1 of 2025.
        assert_eq!(week_key(date(2024, 12, 30)), "2025-W01");
        assert_eq!(month_key(date(2026, 3, 9)), "2026-03");
        assert_eq!(day_key(date(2026, 3, 9)), "2026-03-09");
        // 2026-12-01T23:30:00Z is already 2 December at +02:00.
        let seconds = 1_796_167_800;
        assert_eq!(local_date(seconds, 0).to_string(), "2026-12-01");
        assert_eq!(local_date(seconds, 7200).to_string(), "2026-12-02");
    }
}
