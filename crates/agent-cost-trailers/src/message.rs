//! Editing a commit message by git's trailer rules: where the trailer block is, where our
//! lines go, taking the final block back out for `--amend`, and whether a message has any
//! content of its own.
//!
//! The rules are those of git's `trailer.c` as used by `git commit --trailer` and
//! `git log --format=%(trailers)` (that is, `git interpret-trailers --no-divider`):
//!
//! - The *ignored tail* of a message is the scissors line
//!   (`# ------------------------ >8 ------------------------`) and everything after it, plus
//!   the run of comment and blank lines (and an old-style `Conflicts:` list) just before it or
//!   before the end. Our lines go before the tail, which is kept byte for byte.
//! - The first paragraph (the subject) is never a trailer block.
//! - The last paragraph is a trailer block if every line is `Token: value` (token of letters,
//!   digits and `-`; indented lines continue the previous line; comment lines are skipped), or
//!   if at least a quarter of its lines are trailers and one is git-generated
//!   (`Signed-off-by: ` or `(cherry picked from commit `).
//!
//! A `---` line is *not* treated as the end of the message: git's own readers of commit
//! messages (`git log`'s `%(trailers)`, `git commit --trailer`, sign-off) do not, so trailers
//! placed before such a line would not be trailers to them.
//!
//! Two deliberate improvements over `git interpret-trailers`: blank lines that contain only
//! whitespace (e.g. `\r` in CRLF messages) belong to the ignored tail, so our lines are never
//! separated from the block they join by such a line; and leading blank lines do not count
//! as the subject paragraph (git's cleanup strips them before the message is stored).

use crate::block::Block;
use crate::parse::{parse_blocks, written_lines};

/// git's marker line for `git commit -v`, after the comment prefix and a space.
const CUT_LINE: &str = "------------------------ >8 ------------------------";
/// Prefixes that make a line a trailer in a mixed block (git's `git_generated_prefixes`).
const GIT_GENERATED_PREFIXES: [&str; 2] = ["Signed-off-by: ", "(cherry picked from commit "];

/// Inserts our trailer `lines` into `message` by git's trailer rules.
///
/// If the message's last paragraph (before the ignored tail) is a trailer block, the lines are
/// appended at its end, so existing trailers (`Signed-off-by:`, `Change-Id:`,
/// `Co-authored-by:`, another hook's) stay trailers; otherwise a blank line and the lines
/// form a new final paragraph. The ignored tail (trailing comments and blank lines, the
/// `git commit -v` scissors section) is kept after the lines, unchanged. A message with no
/// content of its own gets two leading newlines (room for the subject, as `git commit -s`
/// leaves), then the lines. Lines are ended like the message's first line (`\r\n` or `\n`);
/// the result always ends with a line ending. `comment_prefix` is git's `core.commentChar`
/// (`#` by default); pass `""` when comments are not stripped (`--cleanup=whitespace`).
///
/// With no `lines`, the message is returned unchanged.
pub fn insert_block(message: &str, lines: &[String], comment_prefix: &str) -> String {
    if lines.is_empty() {
        return message.to_string();
    }
    let nl = line_ending(message);
    let end = content_end(message, comment_prefix);
    let (head, tail) = message.split_at(end);
    let mut out =
        String::with_capacity(message.len() + lines.iter().map(|l| l.len() + 2).sum::<usize>() + 4);
    if head.bytes().all(is_c_space) {
        out.push_str(nl);
        out.push_str(nl);
    } else {
        out.push_str(head);
        if !head.ends_with('\n') {
            out.push_str(nl);
        }
        if find_trailer_start(head, comment_prefix).is_none() {
            out.push_str(nl);
        }
    }
    for line in lines {
        out.push_str(line);
        out.push_str(nl);
    }
    out.push_str(tail);
    if !out.ends_with('\n') {
        out.push_str(nl);
    }
    out
}

/// Removes the blocks agent-cost wrote from the message's final trailer block only, and
/// returns the message and those blocks.
///
/// A block agent-cost wrote is a run of consecutive well-formed lines of our keys closed by an
/// `AI-Cost-Id:` line with a 16-hex-digit id (see `docs/trailers.md`, "Which lines are
/// ours"); any other line, even one starting with one of our keys, is the user's and stays.
/// Blocks elsewhere in the body (e.g. indented in a squash message) are left alone. If the
/// trailer block is left with no trailer of anyone else, it is removed with the blank lines
/// before it. Used by `--amend`: merge the returned blocks with the new spend
/// ([`Block::merge`]), then [`insert_block`] the merged block.
pub fn remove_final_blocks(message: &str, comment_prefix: &str) -> (String, Vec<Block>) {
    let end = content_end(message, comment_prefix);
    let (head, tail) = message.split_at(end);
    let Some(start) = find_trailer_start(head, comment_prefix) else {
        return (message.to_string(), Vec::new());
    };

    let lines: Vec<&str> = split_lines(&head[start..]).collect();
    let ours = written_lines(lines.iter().copied(), false);
    let mut kept = String::new();
    let mut removed = String::new();
    let mut kept_content = false;
    for (line, ours) in lines.into_iter().zip(ours) {
        if ours {
            removed.push_str(line);
            if !line.ends_with('\n') {
                removed.push('\n');
            }
            continue;
        }
        if !is_blank(line) && !is_comment(line, comment_prefix) {
            kept_content = true;
        }
        kept.push_str(line);
    }
    if removed.is_empty() {
        return (message.to_string(), Vec::new());
    }
    let blocks = parse_blocks(&removed);

    let mut out = String::with_capacity(message.len());
    if kept_content {
        out.push_str(&head[..start]);
        out.push_str(&kept);
    } else {
        // Drop the emptied paragraph and the blank lines that separated it; keep comments.
        let mut before = start;
        while let Some(prev) = previous_line_start(head, before) {
            if !is_blank(&head[prev..before]) {
                break;
            }
            before = prev;
        }
        out.push_str(&head[..before]);
        for line in split_lines(&kept) {
            if is_comment(line, comment_prefix) {
                out.push_str(line);
            }
        }
    }
    if !out.is_empty() && !out.ends_with('\n') && !tail.is_empty() {
        out.push_str(line_ending(message));
    }
    out.push_str(tail);
    (out, blocks)
}

/// True if `message` has a line of its own: one that is not blank, not a comment (starting
/// with `comment_prefix`; `""` means no comments), not in the scissors section, and not a line
/// of a block agent-cost wrote (indented or not; see [`remove_final_blocks`] for which
/// lines those are). A line that merely starts with one of our keys, such as the subject
/// `AI-Agent: rename the agent module`, is content.
///
/// git aborts a commit whose message is empty after cleanup; a hook must not let our trailers
/// turn an empty message into a non-empty one, so it checks this before committing to them.
pub fn has_content(message: &str, comment_prefix: &str) -> bool {
    let cutoff = scissors_start(message, comment_prefix);
    let lines: Vec<&str> = split_lines(&message[..cutoff]).collect();
    let ours = written_lines(lines.iter().copied(), true);
    lines
        .iter()
        .zip(ours)
        .any(|(line, ours)| !ours && !is_blank(line) && !is_comment(line, comment_prefix))
}

/// `message` without the lines of the blocks agent-cost wrote, wherever they stand (indented or
/// not). Every other line is kept, including lines that start with one of our keys but are not
/// part of such a block. Used on a message that [`has_content`] found empty but for our
/// blocks, so that git aborts it as empty.
pub fn remove_our_lines(message: &str) -> String {
    let lines: Vec<&str> = split_lines(message).collect();
    let ours = written_lines(lines.iter().copied(), true);
    lines
        .into_iter()
        .zip(ours)
        .filter(|(_, ours)| !ours)
        .map(|(line, _)| line)
        .collect()
}

/// `\r\n` if the message's first line ends so, else `\n`.
fn line_ending(message: &str) -> &'static str {
    match message.find('\n') {
        Some(i) if i > 0 && message.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Lines of `text`, each with its `\n` (the last one may lack it).
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A line of only whitespace (git's `is_blank_line`).
fn is_blank(line: &str) -> bool {
    line.bytes().all(is_c_space)
}

fn is_comment(line: &str, comment_prefix: &str) -> bool {
    !comment_prefix.is_empty() && line.starts_with(comment_prefix)
}

/// Where the scissors line starts (git's `wt_status_locate_end`), or the message length.
fn scissors_start(message: &str, comment_prefix: &str) -> usize {
    if comment_prefix.is_empty() {
        return message.len();
    }
    let pattern = format!("\n{comment_prefix} {CUT_LINE}");
    if message.starts_with(&pattern[1..]) {
        0
    } else {
        message.find(&pattern).map_or(message.len(), |i| i + 1)
    }
}

/// Where the ignored tail starts (git's `ignored_log_message_bytes`): the scissors section,
/// and before it the final run of comment lines, blank lines and an old `Conflicts:` list.
fn content_end(message: &str, comment_prefix: &str) -> usize {
    let cutoff = scissors_start(message, comment_prefix);
    let mut tail_start: Option<usize> = None;
    let mut in_conflicts = false;
    let mut pos = 0;
    for line in split_lines(&message[..cutoff]) {
        if is_comment(line, comment_prefix) || is_blank(line) {
            tail_start.get_or_insert(pos);
        } else if line == "Conflicts:\n" {
            in_conflicts = true;
            tail_start.get_or_insert(pos);
        } else if in_conflicts && line.starts_with('\t') {
            // A path of the conflicts list.
        } else {
            tail_start = None;
            in_conflicts = false;
        }
        pos += line.len();
    }
    tail_start.unwrap_or(cutoff)
}

/// The start of the line before the line starting at `pos`, if any.
fn previous_line_start(text: &str, pos: usize) -> Option<usize> {
    if pos == 0 {
        return None;
    }
    let before = &text.as_bytes()[..pos - 1];
    Some(
        before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1),
    )
}

/// git's `find_separator` with separator `:`: the colon's position if the line starts with a
/// token of ASCII letters, digits and `-`, optionally followed by spaces or tabs.
fn find_separator(line: &str) -> Option<usize> {
    let mut whitespace_found = false;
    for (i, b) in line.bytes().enumerate() {
        if b == b':' {
            return Some(i);
        }
        if !whitespace_found && (b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        if i != 0 && (b == b' ' || b == b'\t') {
            whitespace_found = true;
            continue;
        }
        break;
    }
    None
}

/// The start of the trailer block in `head` (a message without its ignored tail), by git's
/// `find_trailer_block_start`; `None` if the last paragraph is not a trailer block.
fn find_trailer_start(head: &str, comment_prefix: &str) -> Option<usize> {
    let starts: Vec<usize> = {
        let mut starts = Vec::new();
        let mut pos = 0;
        for line in split_lines(head) {
            starts.push(pos);
            pos += line.len();
        }
        starts
    };
    let line_at = |i: usize| -> &str {
        let end = starts.get(i + 1).copied().unwrap_or(head.len());
        &head[starts[i]..end]
    };

    // The subject paragraph (after any leading blank lines, which cleanup strips) is never
    // trailers: find the blank line that ends it.
    let mut index = 0;
    while index < starts.len() && is_blank(line_at(index)) {
        index += 1;
    }
    while index < starts.len() {
        let line = line_at(index);
        if !is_comment(line, comment_prefix) && is_blank(line) {
            break;
        }
        index += 1;
    }
    let end_of_title = index;

    let mut only_spaces = true;
    let mut recognized_prefix = false;
    let mut trailer_lines = 0usize;
    let mut non_trailer_lines = 0usize;
    let mut possible_continuation_lines = 0usize;
    for i in (end_of_title..starts.len()).rev() {
        let line = line_at(i);
        if is_comment(line, comment_prefix) {
            non_trailer_lines += possible_continuation_lines;
            possible_continuation_lines = 0;
            continue;
        }
        if is_blank(line) {
            if only_spaces {
                continue;
            }
            non_trailer_lines += possible_continuation_lines;
            let start = starts.get(i + 1).copied().unwrap_or(head.len());
            if recognized_prefix && trailer_lines * 3 >= non_trailer_lines {
                return Some(start);
            }
            if trailer_lines > 0 && non_trailer_lines == 0 {
                return Some(start);
            }
            return None;
        }
        only_spaces = false;
        if GIT_GENERATED_PREFIXES.iter().any(|p| line.starts_with(p)) {
            trailer_lines += 1;
            possible_continuation_lines = 0;
            recognized_prefix = true;
            continue;
        }
        let first = line.as_bytes()[0];
        if find_separator(line).is_some_and(|pos| pos >= 1) && !is_c_space(first) {
            trailer_lines += 1;
            possible_continuation_lines = 0;
        } else if is_c_space(first) {
            possible_continuation_lines += 1;
        } else {
            non_trailer_lines += 1 + possible_continuation_lines;
            possible_continuation_lines = 0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "AI-Agent: claude-code sessions=1 cost=0.015300\nAI-Model: claude-sonnet-4-5 agent=claude-code cost=0.015300\nAI-Tokens: req=1 in=100 out=1000 cw=0 cr=0\nAI-Cost-Estimate: 0.015300 USD\nAI-Cost-Id: 0123456789abcdef\n";

    #[test]
    fn a_subject_that_starts_with_our_key_is_content() {
        for subject in [
            "AI-Agent: rename the agent module\n",
            "AI-Agent: rename the agent module",
            "ai-model: support gpt-5\n",
            "AI-Cost-Id: show it in the log\n",
            "AI-Cost-Estimate: 2 USD was wrong\n",
        ] {
            assert!(has_content(subject, "#"), "{subject:?}");
            assert_eq!(remove_our_lines(subject), subject);
            let with_block = format!("{subject}\n\n{BLOCK}");
            assert!(has_content(&with_block, "#"), "{with_block:?}");
        }
    }

    #[test]
    fn only_blocks_closed_by_a_written_id_are_ours() {
        // A block we wrote, alone (after the editor emptied the rest), indented or not.
        let template = format!("\n\n{BLOCK}\n# Please enter the commit message.\n");
        assert!(!has_content(&template, "#"));
        assert_eq!(
            remove_our_lines(&template),
            "\n\n\n# Please enter the commit message.\n"
        );
        let indented = BLOCK.replace("AI-", "    AI-");
        assert!(!has_content(&indented, "#"));
        assert_eq!(remove_our_lines(&indented), "");

        // The same lines without a closing id, or with an id agent-cost does not write.
        let open = BLOCK.replace("AI-Cost-Id: 0123456789abcdef\n", "");
        assert!(has_content(&open, "#"));
        assert_eq!(remove_our_lines(&open), open);
        for id in [
            "0123456789abcde",
            "0123456789abcdefa",
            "0123456789abcdeg",
            "x",
        ] {
            let other = BLOCK.replace("0123456789abcdef", id);
            assert!(has_content(&other, "#"), "{id}");
            assert_eq!(remove_our_lines(&other), other);
        }
        // Upper-case hex is still an id (ids compare case-insensitively).
        assert!(!has_content(&BLOCK.replace("abcdef", "ABCDEF"), "#"));
    }

    #[test]
    fn a_malformed_line_of_our_keys_is_never_taken_with_a_block() {
        // A user's line right above our block (the user's trailer block we joined).
        let message = format!("AI-Agent: reviewed by hand\n{BLOCK}");
        assert!(has_content(&message, "#"));
        assert_eq!(remove_our_lines(&message), "AI-Agent: reviewed by hand\n");
        // Inside a run it breaks the run: the lines above it are not closed by the id.
        let broken = BLOCK.replace(
            "AI-Cost-Estimate:",
            "AI-Model: note without agent\nAI-Cost-Estimate:",
        );
        assert_eq!(
            remove_our_lines(&broken),
            "AI-Agent: claude-code sessions=1 cost=0.015300\nAI-Model: claude-sonnet-4-5 agent=claude-code cost=0.015300\nAI-Tokens: req=1 in=100 out=1000 cw=0 cr=0\nAI-Model: note without agent\n"
        );
        // An AI-Tokens line that follows no model line is malformed too.
        let stray = format!(
            "AI-Tokens: req=1\n{}",
            &BLOCK[BLOCK.find("AI-Cost-E").unwrap()..]
        );
        assert_eq!(remove_our_lines(&stray), "AI-Tokens: req=1\n");
        // Prose between our lines breaks a run the same way.
        let prose = BLOCK.replace("AI-Cost-Estimate:", "Some prose\nAI-Cost-Estimate:");
        assert!(has_content(&prose, "#"));
    }

    #[test]
    fn amend_takes_only_written_blocks_out_of_the_trailer_block() {
        // A trailer block of the user's that uses one of our keys: nothing is ours.
        let message =
            "Subject\n\nAI-Model: the new one, see #12\nSigned-off-by: A <a@example.com>\n";
        assert_eq!(
            remove_final_blocks(message, "#"),
            (message.to_string(), Vec::new())
        );
        // Our block joined it: only our block comes out.
        let joined = format!("{message}{BLOCK}");
        let (stripped, blocks) = remove_final_blocks(&joined, "#");
        assert_eq!(stripped, message);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].id, "0123456789abcdef");
        // A well-formed line of the user's right above our block is out of the order we write
        // (our blocks start with their AI-Agent lines): it stays.
        for line in [
            "AI-Model: mine agent=me cost=1\n",
            "AI-Cost-Estimate: 2 USD\n",
        ] {
            let message = format!("Subject\n\n{line}{BLOCK}");
            let (stripped, blocks) = remove_final_blocks(&message, "#");
            assert_eq!(stripped, format!("Subject\n\n{line}"));
            assert_eq!(blocks.len(), 1);
            assert!(has_content(&format!("\n\n{line}{BLOCK}"), "#"));
        }
        // An id line that git reads as continued is not an id we wrote.
        let continued = format!("Subject\n\n{BLOCK}  continued\n");
        assert_eq!(remove_final_blocks(&continued, "#").1, Vec::new());
        // Indented lines in a trailer block continue the line above: never ours there.
        let indented = format!("Subject\n\nKey: v\n{}", BLOCK.replace("AI-", "  AI-"));
        assert_eq!(remove_final_blocks(&indented, "#").1, Vec::new());
    }

    #[test]
    fn separator_follows_git() {
        assert_eq!(find_separator("Signed-off-by: x"), Some(13));
        assert_eq!(find_separator("Key : x"), Some(4));
        assert_eq!(find_separator("Two words: x"), None);
        assert_eq!(find_separator(": x"), Some(0));
        assert_eq!(find_separator(" Key: x"), None);
        assert_eq!(find_separator("Under_score: x"), None);
        assert_eq!(find_separator("https://example.com"), Some(5));
    }

    #[test]
    fn tail_starts_at_trailing_comments_and_scissors() {
        let msg = "subj\n\nbody\n\n# c\n# d\n";
        assert_eq!(&msg[content_end(msg, "#")..], "\n# c\n# d\n");
        let msg = "subj\n# c\nbody\n";
        assert_eq!(content_end(msg, "#"), msg.len());
        let msg = "subj\n# ------------------------ >8 ------------------------\ndiff\n";
        assert_eq!(content_end(msg, "#"), 5);
        let msg = "subj\n\nConflicts:\n\ta.txt\n";
        assert_eq!(content_end(msg, "#"), 5);
        assert_eq!(content_end("subj", "#"), 4);
    }

    #[test]
    fn trailer_block_detection() {
        assert_eq!(find_trailer_start("Key: v\n", "#"), None);
        assert_eq!(find_trailer_start("s\n\nKey: v\n", "#"), Some(3));
        assert_eq!(find_trailer_start("s\n\nKey: v\n  more\n", "#"), Some(3));
        assert_eq!(find_trailer_start("s\n\nKey: v\nprose\n", "#"), None);
        assert_eq!(
            find_trailer_start("s\n\nprose\nSigned-off-by: a\n", "#"),
            Some(3)
        );
        assert_eq!(
            find_trailer_start("s\n\nprose\nprose\nprose\nprose\nSigned-off-by: a\n", "#"),
            None
        );
        assert_eq!(
            find_trailer_start("s\n\nKey: v\n# c\nK2: w\n", "#"),
            Some(3)
        );
        assert_eq!(find_trailer_start("\n\nKey: v\n", "#"), None);
    }
}
