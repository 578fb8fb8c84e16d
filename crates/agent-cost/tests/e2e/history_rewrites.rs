//! Trailers copied by squash merges, cherry-picks, merges and rebases are counted once.

use crate::harness::*;

/// A repository on `main` with a `feature` branch of two commits costing 15,300 and
/// 30,600 µ$.
fn with_feature_branch(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.tracked_repo("alpha");
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(env, &repo, "f1.txt", "Feature part one");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    commit(env, &repo, "f2.txt", "Feature part two");
    env.git(&repo, &["checkout", "-q", "main"]);
    repo
}

#[test]
fn merge_squash_keeps_the_spend_once() {
    let env = TestEnv::new();
    let repo = with_feature_branch(&env);
    assert_eq!(
        micros(&sum(&env, &repo, "main..feature")["cost_usd"]),
        45_900
    );
    env.git(&repo, &["merge", "-q", "--squash", "feature"]);
    env.git(&repo, &["commit", "-q", "--no-edit"]);
    let message = env.git(&repo, &["log", "-1", "--format=%B"]).stdout;
    assert!(
        message.contains("Squashed commit of the following:"),
        "{message}"
    );
    // The old blocks are indented in the body, so git sees no trailers...
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty(), "{message}");
    // ...but agent-cost reads whole bodies.
    let main = sum(&env, &repo, "main");
    assert_eq!(micros(&main["cost_usd"]), 45_900, "{main:#}");
    assert_eq!(main["drains"], 2);
    // A history holding both the branch and its squash counts each drain once.
    env.git(
        &repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge feature too",
            "feature",
        ],
    );
    let both = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&both["cost_usd"]), 45_900, "{both:#}");
    assert_eq!(both["duplicate_blocks"], 2);
}

#[test]
fn squash_commit_with_new_spend_adds_its_own_block() {
    let env = TestEnv::new();
    let repo = with_feature_branch(&env);
    env.git(&repo, &["merge", "-q", "--squash", "feature"]);
    env.claude_lines(&repo, "s2", &[sonnet("msg_3", 10, 10)]);
    env.git(&repo, &["commit", "-q", "--no-edit"]);
    // 10×3 + 10×15 = 180 µ$, in a block of its own at the end.
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.contains(&"AI-Cost-Estimate: 0.000180 USD".to_string()),
        "{lines:?}"
    );
    assert_eq!(micros(&sum(&env, &repo, "main")["cost_usd"]), 46_080);
}

#[test]
fn cherry_picked_spend_counts_once() {
    let env = TestEnv::new();
    let repo = with_feature_branch(&env);
    let tip = env
        .git(&repo, &["rev-parse", "feature"])
        .stdout
        .trim()
        .to_string();
    env.git(&repo, &["cherry-pick", &tip]);
    assert_eq!(
        ai_trailers(&env, &repo, "HEAD"),
        ai_trailers(&env, &repo, "feature"),
        "the pick carries the same block"
    );
    assert_eq!(micros(&sum(&env, &repo, "main")["cost_usd"]), 30_600);
    env.git(
        &repo,
        &["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"],
    );
    let all = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&all["cost_usd"]), 45_900, "{all:#}");
    assert_eq!(all["duplicate_blocks"], 1);
}

#[test]
fn merge_commits_carry_pending_spend_and_settle_it() {
    let env = TestEnv::new();
    let repo = with_feature_branch(&env);
    commit(&env, &repo, "m.txt", "Main moves on");
    env.claude_lines(&repo, "s3", &[sonnet("msg_merge", 10, 10)]);
    env.git(
        &repo,
        &["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"],
    );
    let lines = ai_trailers(&env, &repo, "HEAD");
    assert!(
        lines.contains(&"AI-Cost-Estimate: 0.000180 USD".to_string()),
        "{lines:?}"
    );
    let status = env.agent_cost_json(&repo, &["status"]);
    assert_eq!(
        status["pending"]["requests"], 0,
        "post-merge settled the drain"
    );
    commit(&env, &repo, "n.txt", "After the merge");
    assert!(ai_trailers(&env, &repo, "HEAD").is_empty());
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 46_080);
}

#[test]
fn rebased_commits_keep_their_blocks_and_count_once() {
    let env = TestEnv::new();
    let repo = with_feature_branch(&env);
    commit(&env, &repo, "m.txt", "Main moves on");
    let before = sum(&env, &repo, "main..feature");
    env.git(&repo, &["rebase", "-q", "main", "feature"]);
    let after = sum(&env, &repo, "main..feature");
    assert_eq!(before["cost_usd"], after["cost_usd"]);
    assert_eq!(micros(&after["cost_usd"]), 45_900);
}

#[test]
fn reusing_a_message_with_dash_c_counts_its_block_once() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "Original");
    // Nothing new pending: the copy keeps the same id, and the id counts once.
    stage(&env, &repo, "b.txt");
    env.git(&repo, &["commit", "-q", "-C", "HEAD"]);
    assert_eq!(
        ai_trailers(&env, &repo, "HEAD"),
        ai_trailers(&env, &repo, "HEAD~1")
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 15_300);
    // New spend pending: one merged block that replaces the copied one.
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    stage(&env, &repo, "c.txt");
    env.git(&repo, &["commit", "-q", "-C", "HEAD"]);
    let total = sum(&env, &repo, "HEAD");
    assert_eq!(micros(&total["cost_usd"]), 45_900, "{total:#}");
    assert_eq!(total["replaced_blocks"], 1, "{total:#}");
}

#[test]
fn fixups_folded_by_an_interactive_rebase_keep_their_spend() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "A change");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    stage(&env, &repo, "b.txt");
    env.git(&repo, &["commit", "-q", "--fixup=HEAD"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_3", 10, 10)]);
    stage(&env, &repo, "c.txt");
    env.git(&repo, &["commit", "-q", "--fixup=HEAD~1"]);
    // 15,300 + 30,600 + 180 µ$
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 46_080);

    env.git_env(
        &repo,
        &["rebase", "-q", "-i", "--autosquash", "HEAD~3"],
        &[("GIT_SEQUENCE_EDITOR", "true")],
    );
    assert_eq!(
        env.git(&repo, &["rev-list", "--count", "HEAD"])
            .stdout
            .trim(),
        "2"
    );
    let ids = ai_trailers(&env, &repo, "HEAD")
        .into_iter()
        .filter(|l| l.starts_with("AI-Cost-Id:"))
        .count();
    assert_eq!(ids, 3, "{:?}", ai_trailers(&env, &repo, "HEAD"));
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 46_080);
}

#[test]
fn an_amend_fixup_that_replaces_the_message_keeps_the_target_spend() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "a.txt", "A change");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 200, 2000)]);
    stage(&env, &repo, "b.txt");
    // `amend!` commits become `fixup -C`: the target's message (and block) is replaced.
    env.git_env(
        &repo,
        &["commit", "-q", "--fixup=amend:HEAD", "--no-edit"],
        &[("GIT_EDITOR", "true")],
    );
    env.git_env(
        &repo,
        &["rebase", "-q", "-i", "--autosquash", "HEAD~2"],
        &[("GIT_SEQUENCE_EDITOR", "true"), ("GIT_EDITOR", "true")],
    );
    assert_eq!(
        env.git(&repo, &["rev-list", "--count", "HEAD"])
            .stdout
            .trim(),
        "2"
    );
    assert_eq!(micros(&sum(&env, &repo, "HEAD")["cost_usd"]), 45_900);
}

#[test]
fn merge_squash_committed_with_m_keeps_the_branch_spend() {
    let env = TestEnv::new();
    let repo = env.tracked_repo("alpha");
    env.git(&repo, &["checkout", "-q", "-b", "feature"]);
    env.claude_lines(&repo, "s1", &[sonnet("msg_1", 100, 1000)]);
    commit(&env, &repo, "f1.txt", "Feature part one");
    env.claude_lines(&repo, "s1", &[sonnet("msg_2", 10, 100)]);
    commit(&env, &repo, "f2.txt", "Feature part two");
    env.git(&repo, &["checkout", "-q", "main"]);
    env.git(&repo, &["merge", "-q", "--squash", "feature"]);
    // A message of one's own: git leaves out SQUASH_MSG. Then the branch is deleted.
    env.git(&repo, &["commit", "-q", "-m", "Add the feature"]);
    env.git(&repo, &["branch", "-q", "-D", "feature"]);
    assert_eq!(micros(&sum(&env, &repo, "main")["cost_usd"]), 16_830);
    // Nothing was pending: the squash commit carries the branch's blocks, ids unchanged.
    assert_eq!(
        env.agent_cost_json(&repo, &["status"])["pending"]["requests"],
        0
    );
}

/// A block as agent-cost writes it, costing `micros` µ$, with id `id` and replaced ids.
fn written_block(id: &str, micros: u64, replaces: &[&str]) -> String {
    let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let mut block = format!(
        "AI-Agent: claude-code sessions=1 cost={cost}\n\
         AI-Model: claude-sonnet-4-5 agent=claude-code cost={cost}\n\
         AI-Tokens: req=1 in=10 out={micros} cw=0 cr=0\n\
         AI-Cost-Estimate: {cost} USD\n"
    );
    for replaced in replaces {
        block.push_str(&format!("AI-Cost-Replaces: {replaced}\n"));
    }
    block.push_str(&format!("AI-Cost-Id: {id}\n"));
    block
}

fn commit_message(env: &TestEnv, repo: &std::path::Path, file: &str, message: &[u8]) {
    std::fs::write(repo.join(file), file).unwrap();
    env.git(repo, &["add", file]);
    let message_file = env.root.join("message.txt");
    std::fs::write(&message_file, message).unwrap();
    env.git(
        repo,
        &[
            "commit",
            "-q",
            "--cleanup=verbatim",
            "-F",
            message_file.to_str().unwrap(),
        ],
    );
}

#[test]
fn sums_are_the_same_from_loose_objects_packs_and_a_commit_graph() {
    let env = TestEnv::new();
    let repo = env.repo("packed");
    for n in 0..40u64 {
        let id = format!("{:016x}", 0xa000 + n);
        let message = match n % 5 {
            0 => format!(
                "Change {n}\n\nBody {n}.\n\n{}",
                written_block(&id, 1_000 + n, &[])
            ),
            1 => format!("Change {n}\n\nNo spend here.\n"),
            // A local squash's body (git's header, old messages indented), one of its blocks a
            // copy of an earlier drain.
            2 => format!(
                "Squashed {n}\n\nSquashed commit of the following:\n\n    {}\n    {}",
                written_block(&id, 2_000 + n, &[]).replace('\n', "\n    "),
                written_block(&format!("{:016x}", 0xa000 + n - 2), 1_000 + n - 2, &[])
                    .replace('\n', "\n    ")
            ),
            // An amended drain that includes the one before it.
            3 => format!(
                "Amended {n}\n\n{}",
                written_block(&id, 5_000 + n, &[&format!("{:016x}", 0xa000 + n - 1)])
            ),
            _ => format!("Change {n}\n"),
        };
        commit_message(&env, &repo, &format!("f{n}.txt"), message.as_bytes());
        if n == 20 {
            env.git(&repo, &["checkout", "-q", "-b", "side"]);
        }
        if n == 30 {
            env.git(&repo, &["checkout", "-q", "main"]);
        }
    }
    let mut not_utf8 = b"Latin-1 \xe9t\xe9\n\n".to_vec();
    not_utf8.extend_from_slice(written_block("00000000000000ff", 777, &[]).as_bytes());
    commit_message(&env, &repo, "latin1.txt", &not_utf8);
    env.git(&repo, &["merge", "-q", "--no-edit", "side"]);
    let ranges = [
        "HEAD",
        "main",
        "side",
        "side..main",
        "main...side",
        "HEAD^2",
        "HEAD^@",
    ];
    let loose: Vec<_> = ranges.iter().map(|r| sum(&env, &repo, r)).collect();
    assert_eq!(loose[0]["commits"], 43);
    assert_eq!(loose[0]["duplicate_blocks"], 8);
    assert!(loose[0]["replaced_blocks"].as_u64().unwrap() > 0);

    env.git(
        &repo,
        &["repack", "-a", "-d", "-f", "--window=250", "--depth=50"],
    );
    let packed: Vec<_> = ranges.iter().map(|r| sum(&env, &repo, r)).collect();
    assert_eq!(packed, loose);

    env.git(&repo, &["commit-graph", "write", "--reachable"]);
    let with_graph: Vec<_> = ranges.iter().map(|r| sum(&env, &repo, r)).collect();
    assert_eq!(with_graph, loose);
}
