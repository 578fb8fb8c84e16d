//! Model-name normalisation: the candidate spellings a logged model name is looked up under
//! (case, provider prefixes, Bedrock and Vertex spellings, dates).

/// Provider prefixes (LiteLLM / router style) stripped from a name.
const PROVIDER_PREFIXES: &[&str] = &["anthropic/", "openai/", "gemini/", "vertex_ai/", "bedrock/"];

/// The spellings to try for `name`, most specific first, without repeats:
///
/// 1. the name as logged, trimmed;
/// 2. lower-cased;
/// 3. each step of stripping provider prefixes (`anthropic/`, `openai/`, `gemini/`,
///    `vertex_ai/`, `bedrock/`), Bedrock model ids (`anthropic.`, `us.anthropic.`,
///    `eu.anthropic.`, `apac.anthropic.`, `global.anthropic.`, ...) and Bedrock version
///    suffixes (`-v1:0`, `-v2`);
/// 4. Vertex `@` versions: `claude-sonnet-4-5@20250929` → `claude-sonnet-4-5-20250929`, and
///    `@default`-style labels dropped;
/// 5. the undated name: a trailing `-YYYYMMDD` or `-YYYY-MM-DD` removed.
///
/// The last element is the *family* name: undated, without provider spellings.
pub(crate) fn candidates(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |form: &str| {
        if !form.is_empty() && !out.iter().any(|seen| seen == form) {
            out.push(form.to_string());
        }
    };
    let trimmed = name.trim();
    push(trimmed);
    let mut current = trimmed.to_lowercase();
    push(&current);
    while let Some(next) = strip_once(&current) {
        push(&next);
        current = next;
    }
    if let Some((model, version)) = current.split_once('@') {
        let model = model.to_string();
        current = if is_compact_date(version) {
            format!("{model}-{version}")
        } else {
            model
        };
        push(&current);
    }
    if let Some(undated) = strip_date(&current) {
        push(undated);
    }
    out
}

/// The undated, provider-free name of `name` (the last of [`candidates`]).
pub(crate) fn family(name: &str) -> String {
    candidates(name).pop().unwrap_or_default()
}

/// One stripping step, or `None` when nothing is left to strip.
fn strip_once(name: &str) -> Option<String> {
    for prefix in PROVIDER_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix) {
            return Some(rest.to_string());
        }
    }
    if let Some(index) = name.find("anthropic.") {
        let before = &name[..index];
        let region_ok = before.is_empty()
            || before.strip_suffix('.').is_some_and(|region| {
                !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            });
        let rest = &name[index + "anthropic.".len()..];
        if region_ok && !rest.is_empty() {
            return Some(rest.to_string());
        }
    }
    strip_version_suffix(name).map(str::to_string)
}

/// `claude-x-v1:0` → `claude-x`; `claude-x-v2` → `claude-x`.
fn strip_version_suffix(name: &str) -> Option<&str> {
    let index = name.rfind("-v")?;
    let suffix = &name[index + 2..];
    let (major, minor) = match suffix.split_once(':') {
        Some((major, minor)) => (major, Some(minor)),
        None => (suffix, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if index > 0 && digits(major) && minor.is_none_or(digits) {
        Some(&name[..index])
    } else {
        None
    }
}

/// `x-20250929` or `x-2025-09-29` → `x`.
pub(crate) fn strip_date(name: &str) -> Option<&str> {
    date_suffix(name).map(|(base, _)| base)
}

/// Splits `x-20250929` / `x-2025-09-29` into `("x", 20250929)`.
pub(crate) fn date_suffix(name: &str) -> Option<(&str, u32)> {
    if let Some((base, date)) = name.rsplit_once('-')
        && !base.is_empty()
        && is_compact_date(date)
    {
        return Some((base, date.parse().ok()?));
    }
    // `-YYYY-MM-DD`: the last 11 bytes.
    let split = name.len().checked_sub(11)?;
    if !name.is_char_boundary(split) {
        return None;
    }
    let (base, tail) = name.split_at(split);
    let date = tail.strip_prefix('-')?;
    let bytes = date.as_bytes();
    if base.is_empty() || bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let compact: String = date.chars().filter(|c| *c != '-').collect();
    if is_compact_date(&compact) {
        Some((base, compact.parse().ok()?))
    } else {
        None
    }
}

/// `YYYYMMDD` with a plausible year, month and day.
fn is_compact_date(text: &str) -> bool {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(4..6), number(6..8));
    (1990..=2199).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_provider_spellings_in_order() {
        assert_eq!(
            candidates("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            [
                "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5",
            ]
        );
        assert_eq!(
            candidates(" Claude-Sonnet-4-5@20250929 "),
            [
                "Claude-Sonnet-4-5@20250929",
                "claude-sonnet-4-5@20250929",
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5",
            ]
        );
        assert_eq!(
            family("vertex_ai/claude-opus-4-6@default"),
            "claude-opus-4-6"
        );
        assert_eq!(family("gpt-5-2025-08-07"), "gpt-5");
        assert_eq!(family("openai/gpt-5-codex"), "gpt-5-codex");
        assert_eq!(family("anthropic.claude-opus-4-6-v1"), "claude-opus-4-6");
        assert_eq!(family("gemini-2.5-pro"), "gemini-2.5-pro");
    }

    #[test]
    fn odd_names_do_not_panic() {
        for name in [
            "",
            " ",
            "-",
            "@",
            "anthropic.",
            "-v",
            "x-v1:",
            "é-2025-09-29",
            "ü@",
        ] {
            let _ = candidates(name);
            let _ = family(name);
        }
        assert_eq!(strip_date("gpt-4-0613"), None);
        assert_eq!(strip_date("x-20251399"), None);
        assert_eq!(date_suffix("x-2025-09-29"), Some(("x", 20250929)));
    }
}
