//! Insertion and removal checked against the real `git` binary.

mod common;

use agent_cost_trailers::{Block, has_content, insert_block, parse_blocks, remove_final_blocks};
use common::{git, git_parse, git_stdin, longest_block, model, sample_block, units_block};
use std::collections::BTreeMap;

const SOB: &str = "Signed-off-by: A U Thor <author@example.com>";

/// (name, message, whether our output must equal `git interpret-trailers`' byte for byte)
const MESSAGES: &[(&str, &str, bool)] = &[
    ("plain subject", "Add feature\n", true),
    ("only subject, no newline", "Add feature", true),
    (
        "subject that looks like a trailer",
        "Fix: the thing\n",
        true,
    ),
    (
        "subject and body",
        "Add feature\n\nThis explains the change.\nOver two lines.\n",
        true,
    ),
    (
        "signed off",
        "Add feature\n\nBody.\n\nSigned-off-by: A U Thor <author@example.com>\n",
        true,
    ),
    (
        "change-id and signed off",
        "Add feature\n\nBody.\n\nChange-Id: I0123456789abcdef0123456789abcdef01234567\nSigned-off-by: A U Thor <author@example.com>\n",
        true,
    ),
    (
        "co-authored",
        "Add feature\n\nBody.\n\nCo-authored-by: B <b@example.com>\n",
        true,
    ),
    (
        "prose with a colon",
        "Add feature\n\nNote: this paragraph is prose with a colon\nthat goes on here.\n",
        true,
    ),
    (
        "mixed block with sign-off",
        "Add feature\n\nBody.\n\nReviewed in person, see thread\nSigned-off-by: A U Thor <author@example.com>\n",
        true,
    ),
    (
        "cherry picked",
        "Add feature\n\nBody.\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
        true,
    ),
    (
        "continuation line",
        "Add feature\n\nBody.\n\nLink: https://example.com/a\n  /very/long/path\n",
        true,
    ),
    (
        "comment inside the trailer block",
        "Add feature\n\nBody.\n\nChange-Id: I01\n# a comment\nSigned-off-by: A U Thor <author@example.com>\n",
        // git drops the comment line when it re-prints the block; we keep it.
        false,
    ),
    (
        "trailing comments",
        "Add feature\n\nBody.\n\nSigned-off-by: A U Thor <author@example.com>\n\n# Please enter the commit message for your changes. Lines starting\n# with '#' will be ignored, and an empty message aborts the commit.\n#\n# On branch main\n",
        true,
    ),
    (
        "verbose scissors",
        "Add feature\n\nBody.\n\n# Please enter the commit message for your changes.\n# ------------------------ >8 ------------------------\n# Do not modify or remove the line above.\n# Everything below it will be ignored.\ndiff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        true,
    ),
    (
        "dashes divider",
        "Add feature\n\nBody.\n---\nNotes after a divider.\n",
        true,
    ),
    (
        "github squash tail",
        "Add feature (#12)\n\n* first\n\n* second\n\n---------\n\nCo-authored-by: B <b@example.com>\n",
        true,
    ),
    (
        "no trailing newline",
        "Add feature\n\nBody.\n\nSigned-off-by: A U Thor <author@example.com>",
        true,
    ),
    (
        "crlf",
        "Add feature\r\n\r\nBody.\r\n\r\nSigned-off-by: A U Thor <author@example.com>\r\n",
        false,
    ),
    ("crlf body", "Add feature\r\n\r\nBody.\r\n", false),
    (
        "empty editor template",
        "\n# Please enter the commit message for your changes. Lines starting\n# with '#' will be ignored, and an empty message aborts the commit.\n",
        false,
    ),
    ("empty", "", false),
];

/// Inserts `block` into every message shape: git must see the old trailers followed by ours,
/// byte for byte as `git interpret-trailers` would place them, and the block reads back.
fn check_insertion(block: &Block) {
    let dir = tempfile::tempdir().unwrap();
    let ours = block.to_trailer_lines();
    for (name, message, exact) in MESSAGES {
        let before = git_parse(dir.path(), message);
        let result = insert_block(message, &ours, "#");
        assert!(
            result.ends_with('\n'),
            "{name}: no final newline: {result:?}"
        );
        let after = git_parse(dir.path(), &result);
        let mut expected = before.clone();
        expected.extend(ours.iter().cloned());
        assert_eq!(
            after, expected,
            "{name}: trailers after insertion\n{result}"
        );

        if *exact {
            let mut args = vec![
                "interpret-trailers",
                "--no-divider",
                "--where",
                "end",
                "--if-exists",
                "add",
            ];
            for line in &ours {
                args.push("--trailer");
                args.push(line);
            }
            let by_git = git_stdin(dir.path(), &args, message);
            assert_eq!(
                result, by_git,
                "{name}: differs from git interpret-trailers"
            );
        }

        // Whatever the shape, the block reads back whole.
        assert_eq!(parse_blocks(&result), vec![block.clone()], "{name}");
    }
}

#[test]
fn insertion_keeps_every_trailer_and_agrees_with_git() {
    check_insertion(&sample_block("6f1c2a9e4b7d3f80"));
}

#[test]
fn lines_in_other_units_and_the_longest_lines_are_trailers_to_git() {
    check_insertion(&units_block("0a1b2c3d4e5f6789"));
    let longest = longest_block("ffffffffffffffff");
    assert!(
        longest
            .to_trailer_lines()
            .iter()
            .all(|l| l.chars().count() <= agent_cost_trailers::MAX_LINE_CHARS)
    );
    check_insertion(&longest);
}

/// A subject made of one of our keys stays the subject, and our block still goes after it.
#[test]
fn a_subject_starting_with_our_key_stays_content_and_the_block_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let message = "AI-Agent: rename the agent module\n";
    assert!(has_content(message, "#"));
    let ours = sample_block("6f1c2a9e4b7d3f80").to_trailer_lines();
    let result = insert_block(message, &ours, "#");
    assert!(result.starts_with("AI-Agent: rename the agent module\n\nAI-Agent: claude-code "));
    assert_eq!(git_parse(dir.path(), &result), ours);
    assert_eq!(
        parse_blocks(&result),
        vec![sample_block("6f1c2a9e4b7d3f80")]
    );
    assert_eq!(remove_final_blocks(&result, "#").0, message);
}

#[test]
fn tail_is_preserved_byte_for_byte() {
    let ours = sample_block("6f1c2a9e4b7d3f80").to_trailer_lines();
    let scissors = "# ------------------------ >8 ------------------------\n# Do not modify.\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n";
    let message = format!("Subject\n\nBody.\n\n# comment\n{scissors}");
    let result = insert_block(&message, &ours, "#");
    assert!(result.ends_with(&format!("\n# comment\n{scissors}")));
    assert!(result.starts_with("Subject\n\nBody.\n\nAI-Agent: "));

    let crlf = "Subject\r\n\r\nBody.\r\n";
    let result = insert_block(crlf, &ours, "#");
    assert!(result.starts_with("Subject\r\n\r\nBody.\r\n\r\nAI-Agent: "));
    assert!(
        !result.replace("\r\n", "").contains('\n'),
        "mixed line endings"
    );

    // Another comment character.
    let result = insert_block("Subject\n\n; comment\n", &ours, ";");
    assert!(result.ends_with("AI-Cost-Id: 6f1c2a9e4b7d3f80\n\n; comment\n"));
}

#[test]
fn empty_template_leaves_room_for_the_subject_like_sign_off() {
    let ours = vec!["AI-Cost-Id: 6f1c2a9e4b7d3f80".to_string()];
    let template = "\n# Please enter the commit message.\n";
    assert_eq!(
        insert_block(template, &ours, "#"),
        "\n\nAI-Cost-Id: 6f1c2a9e4b7d3f80\n\n# Please enter the commit message.\n"
    );
    assert_eq!(
        insert_block("", &ours, "#"),
        "\n\nAI-Cost-Id: 6f1c2a9e4b7d3f80\n"
    );
    assert!(!has_content(template, "#"));
    assert!(!has_content(&insert_block(template, &ours, "#"), "#"));
    assert!(!has_content("", "#"));
    assert!(!has_content(
        "\n\n    AI-Model: m agent=a cost=1\n    AI-Cost-Id: 0123456789abcdef\n# ------------------------ >8 ------------------------\nreal text\n",
        "#"
    ));
    // A line of one of our keys that no written block holds is the user's.
    assert!(has_content(
        "\n\n    AI-Model: m agent=a cost=1\n# ------------------------ >8 ------------------------\nreal text\n",
        "#"
    ));
    assert!(has_content("x\n", "#"));
    assert!(has_content("# not a comment without stripping\n", ""));
    assert!(has_content("\n# c\nSubject\n", "#"));
}

/// Commits for real and reads the trailers back with `git log`, as users will.
#[test]
fn git_log_reads_inserted_trailers_after_a_real_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let status = git(path).args(["init", "-q"]).status().unwrap();
    assert!(status.success());
    let block = sample_block("6f1c2a9e4b7d3f80");
    let ours = block.to_trailer_lines();
    for (name, message, _) in MESSAGES {
        if !has_content(message, "#") {
            continue;
        }
        let result = insert_block(message, &ours, "#");
        let file = path.join("COMMIT_MSG");
        std::fs::write(&file, &result).unwrap();
        let out = git(path)
            .args([
                "commit",
                "-q",
                "--allow-empty",
                "--cleanup=strip",
                "-v",
                "-F",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ids = git_stdin(
            path,
            &["log", "-1", "--format=%(trailers:key=AI-Cost-Id,valueonly)"],
            "",
        );
        assert_eq!(ids.trim(), "6f1c2a9e4b7d3f80", "{name}");
        let estimate = git_stdin(
            path,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=ai-cost-estimate,valueonly)",
            ],
            "",
        );
        assert_eq!(
            estimate.trim(),
            "0.412345 USD (incomplete: 1 model unpriced)",
            "{name}"
        );
        let signed = git_stdin(
            path,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Signed-off-by,valueonly)",
            ],
            "",
        );
        assert_eq!(
            signed.trim().is_empty(),
            !message.contains(SOB),
            "{name}: sign-off lost"
        );
        let body = git_stdin(path, &["log", "-1", "--format=%B"], "");
        assert_eq!(parse_blocks(&body), vec![block.clone()], "{name}");
    }

    // Lines in other units read back through git too.
    let units = units_block("0a1b2c3d4e5f6789");
    let message = insert_block("Add feature\n", &units.to_trailer_lines(), "#");
    let file = path.join("COMMIT_MSG");
    std::fs::write(&file, &message).unwrap();
    let status = git(path)
        .args(["commit", "-q", "--allow-empty", "-F"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let read = |key: &str| {
        git_stdin(
            path,
            &[
                "log",
                "-1",
                &format!("--format=%(trailers:key={key},valueonly)"),
            ],
            "",
        )
        .trim_end()
        .to_string()
    };
    assert_eq!(read("AI-Quantity"), "12 premium-requests\n3.5 credits");
    assert_eq!(
        read("AI-Cost-Estimate"),
        "0.453234 USD (incomplete: 1 model unpriced)\n3.5 credits\n12 premium-requests"
    );
    assert_eq!(read("AI-Tokens").lines().count(), 3);
    let body = git_stdin(path, &["log", "-1", "--format=%B"], "");
    assert_eq!(parse_blocks(&body), vec![units]);
}

#[test]
fn amend_merges_the_final_block_and_keeps_other_trailers() {
    let dir = tempfile::tempdir().unwrap();
    let old = sample_block("1111111111111111");
    let message = format!(
        "Add feature\n\nBody.\n\nChange-Id: I01\n{}\n{SOB}\n",
        old.to_trailer_lines().join("\n")
    );
    let before = git_parse(dir.path(), &message);

    let (stripped, blocks) = remove_final_blocks(&message, "#");
    assert_eq!(blocks, vec![old.clone()]);
    assert_eq!(
        stripped,
        format!("Add feature\n\nBody.\n\nChange-Id: I01\n{SOB}\n")
    );

    let sessions = BTreeMap::from([("claude-code".to_string(), 1)]);
    let merged = Block::merge(
        "2222222222222222".to_string(),
        &blocks,
        vec![model("claude-code", "claude-sonnet-4-5", Some(1))],
        &sessions,
    );
    assert_eq!(
        merged.replaces,
        vec!["1111111111111111", "00000000000000aa"]
    );
    let sonnet = merged
        .models
        .iter()
        .find(|m| m.model == "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(sonnet.requests, 6);
    assert_eq!(
        sonnet.cost,
        Some(agent_cost_events::Money::from_micros(401_235))
    );
    assert_eq!(merged.agents[0].sessions, 3);

    let amended = insert_block(&stripped, &merged.to_trailer_lines(), "#");
    let after = git_parse(dir.path(), &amended);
    let mut expected = vec!["Change-Id: I01".to_string(), SOB.to_string()];
    expected.extend(merged.to_trailer_lines());
    assert_eq!(after, expected);
    assert_eq!(before[0], "Change-Id: I01");
    assert_eq!(parse_blocks(&amended), vec![merged]);
}

#[test]
fn removing_the_only_trailers_drops_the_paragraph() {
    let old = sample_block("1111111111111111");
    let lines = old.to_trailer_lines().join("\n");
    let message = format!("Subject\n\nBody.\n\n{lines}\n\n# Please enter\n");
    let (stripped, blocks) = remove_final_blocks(&message, "#");
    assert_eq!(stripped, "Subject\n\nBody.\n\n# Please enter\n");
    assert_eq!(blocks, vec![old.clone()]);
    // And inserting again gives the original back.
    assert_eq!(
        insert_block(&stripped, &old.to_trailer_lines(), "#"),
        message
    );

    // No final trailer block: nothing removed, squashed blocks mid-body stay.
    let squashed = format!(
        "Subject\n\n    {}\n\nMore prose.\n",
        lines.replace('\n', "\n    ")
    );
    let (same, none) = remove_final_blocks(&squashed, "#");
    assert_eq!(same, squashed);
    assert!(none.is_empty());

    // Only subject + our block, without final newline.
    let message = format!("Subject\n\n{lines}");
    assert_eq!(remove_final_blocks(&message, "#").0, "Subject\n");
}
