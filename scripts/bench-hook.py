#!/usr/bin/env python3
"""Measures what agent-cost's hooks add to `git commit`.

Runs `git commit` repeatedly in throwaway repositories under a fake home and prints the median
wall time of each scenario and its difference from a baseline without hooks, measured in the
same run:

  baseline      no hooks installed
  floor         hooks installed but switched off (AGENT_COST_DISABLE=1): the cost of starting
                the hook processes (links to the binary, or shims), which no work inside agent-cost can remove
  idle          hooks installed, nothing pending
  small         one new request appended to a transcript before each commit
  large         10,000 requests already pending (ingested) plus ~1 MB of new transcript
                lines to catch up before each commit
  history       nothing pending, beside 2,000 transcripts of other projects already read
  pending       N requests pending (default 200,000, ingested before each commit; fewer runs)
  big-repo      as small, on a feature branch of a repository with a year of history (default
                20,000 commits, a third with AI trailers), no budgets
  budgets       the same repository with all five budgets set ([budget.commit], branch,
                author_day, repo_week, repo_month), alternating with big-repo: the hook reads
                the branch's and this month's commits

Several --binary options measure several builds in turn, run by run, and add a table of what
each adds side by side: on a machine whose speed drifts, compare builds that way, not across
invocations.

Usage: python3 scripts/bench-hook.py [--binary target/release/agent-cost ...] [--runs 21]
                                    [--pending 200000] [--pending-runs 5]
                                    [--history-commits 20000]
Build first: cargo build --release -p agent-cost
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def line(cwd, session, message_id, timestamp):
    return json.dumps({
        "type": "assistant", "isSidechain": False, "cwd": str(cwd), "sessionId": session,
        "gitBranch": "main", "requestId": "req_" + message_id, "uuid": "u_" + message_id,
        "timestamp": timestamp,
        "message": {"id": message_id, "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": "x" * 120}],
                    "usage": {"input_tokens": 12, "output_tokens": 345,
                              "cache_creation_input_tokens": 1500,
                              "cache_read_input_tokens": 24000}},
    }, separators=(",", ":"))


def encode_project(path):
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in str(path))


class Bench:
    def __init__(self, root, binary):
        self.root = Path(root)
        self.binary = binary
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root / "home"),
            "AGENT_COST_HOME": str(self.root / "state"),
            "CLAUDE_CONFIG_DIR": str(self.root / "claude"),
            "GIT_CONFIG_GLOBAL": str(self.root / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        (self.root / "home").mkdir(parents=True)
        (self.root / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
        self.counter = 0

    def run(self, args, cwd):
        subprocess.run(args, cwd=cwd, env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def repo(self, name, hooks):
        repo = self.root / name
        repo.mkdir()
        self.run(["git", "init", "-q"], repo)
        self.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], repo)
        if hooks:
            self.run([self.binary, "install-hooks", "--since", "2020-01-01"], repo)
        return repo

    def year_of_history(self, name, commits):
        """A repository whose main branch holds `commits` commits spread over the last year
        (one in three with an AI trailer block), with hooks, on a branch 50 commits ahead."""
        repo = self.root / name
        repo.mkdir()
        self.run(["git", "init", "-q"], repo)
        now = int(time.time())
        start = now - 365 * 86_400
        step = max(1, (now - 3_600 - start) // commits)
        chunks = []
        for index in range(commits):
            when = start + index * step
            message = f"change {index}\n"
            if index % 3 == 0:
                micros = 1_000 + index % 50_000
                cost = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
                message += (f"\nAI-Agent: claude-code sessions=1 cost={cost}\n"
                            f"AI-Model: claude-sonnet-4-5 agent=claude-code cost={cost}\n"
                            f"AI-Tokens: req=1 in=10 out=10 cw=0 cr=0\n"
                            f"AI-Cost-Estimate: {cost} USD\n"
                            f"AI-Cost-Id: {index:016x}\n")
            data = message.encode()
            parent = "" if index == 0 else f"from :{index}\n"
            chunks.append(
                f"commit refs/heads/main\nmark :{index + 1}\n"
                f"author Bench <bench@example.com> {when} +0000\n"
                f"committer Bench <bench@example.com> {when} +0000\n"
                f"data {len(data)}\n".encode() + data + f"{parent}\n".encode())
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, env=self.env, check=True,
                       input=b"".join(chunks))
        self.run(["git", "checkout", "-q", "-b", "feature"], repo)
        for _ in range(50):
            self.run(["git", "commit", "-q", "--allow-empty", "-m", "feature work"], repo)
        self.run([self.binary, "install-hooks", "--since", "2020-01-01"], repo)
        return repo

    def append(self, repo, session, count, project=None):
        """Appends `count` requests to a transcript of a session started in `repo` (Claude
        Code's directory for it: every character but ASCII letters and digits as `-`), the
        directory a hook reads; `project` names another directory, which only `ingest` reads."""
        directory = self.root / "claude" / "projects" / (project or encode_project(repo))
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        lines = []
        for _ in range(count):
            self.counter += 1
            lines.append(line(repo, session, f"msg_{self.counter:09d}", stamp))
        with open(directory / f"{session}.jsonl", "a") as f:
            f.write("\n".join(lines) + "\n")
        return sum(len(l) + 1 for l in lines)

    def commit(self, repo, extra_env=None):
        """Commits; returns ((wall seconds, CPU seconds), stderr). The CPU time is git's and
        its hooks' (user + system), which the host's other load disturbs less than the wall
        time."""
        env = dict(self.env, **(extra_env or {}))
        started = time.perf_counter()
        process = subprocess.Popen(["git", "commit", "-q", "--allow-empty", "-m", "bench"],
                                   cwd=repo, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        stderr = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"git commit failed: {stderr}")
        return (elapsed, usage.ru_utime + usage.ru_stime), stderr

    def require_block(self, repo, scenario):
        """Stops the bench unless HEAD's message carries a block of agent-cost (checked after
        the timing): a scenario whose commits carry nothing measures nothing."""
        message = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=repo, env=self.env,
                                 check=True, capture_output=True, text=True).stdout
        if "AI-Cost-Id:" not in message:
            raise SystemExit(f"{scenario}: the commit carries no AI-Cost-Id block")


ALL_BUDGETS = ("[budget.commit]\nsoft = 100\n[budget.branch]\nsoft = 1000\n"
               "[budget.author_day]\nsoft = 1000\n[budget.repo_week]\nsoft = 1000\n"
               "[budget.repo_month]\nhard = 10000\n")
SCENARIOS = ["baseline", "floor", "idle", "small", "large", "history", "big-repo", "budgets",
             "pending"]


class Subject:
    """One binary's repositories and samples; subjects are measured in turn, run by run, so
    that a change in the machine's speed falls on all of them alike."""

    def __init__(self, root, binary, history_commits):
        self.binary = binary
        bench = self.bench = Bench(root, binary)
        self.plain = bench.repo("plain", hooks=False)
        self.idle = bench.repo("idle", hooks=True)
        self.small = bench.repo("small", hooks=True)
        self.large = bench.repo("large", hooks=True)
        self.history = bench.repo("history", hooks=True)
        self.pending = bench.repo("pending", hooks=True)
        self.big = bench.year_of_history("big-repo", history_commits)
        bench.append(self.idle, "idle-session", 50)
        bench.run([binary, "ingest"], self.idle)
        bench.commit(self.idle)
        for index in range(2_000):
            bench.append(self.history, f"old-{index:04d}", 3, project=f"other-{index % 40}")
        bench.run([binary, "ingest"], self.history)
        bench.commit(self.history)
        self.times = {name: [] for name in SCENARIOS}
        self.out_of_time = 0
        self.new_bytes = 0

    def round(self):
        bench, times = self.bench, self.times
        times["baseline"].append(bench.commit(self.plain)[0])
        times["floor"].append(bench.commit(self.idle, {"AGENT_COST_DISABLE": "1"})[0])
        times["idle"].append(bench.commit(self.idle)[0])
        bench.append(self.small, "small-session", 1)
        times["small"].append(bench.commit(self.small)[0])
        bench.require_block(self.small, "small")
        bench.append(self.large, "large-pending", 10_000)
        bench.run([self.binary, "ingest"], self.large)
        self.new_bytes = bench.append(self.large, "large-new", 2_150)
        sample, stderr = bench.commit(self.large)
        bench.require_block(self.large, "large")
        times["large"].append(sample)
        self.out_of_time += "time budget" in stderr
        times["history"].append(bench.commit(self.history)[0])
        # The same repository, with and without budgets, alternating.
        for name, settings in (("big-repo", ""), ("budgets", ALL_BUDGETS)):
            (self.big / "agent-cost.toml").write_text(settings)
            bench.append(self.big, "big-session", 1)
            sample, stderr = bench.commit(self.big)
            bench.require_block(self.big, name)
            if "budget" in stderr:
                raise SystemExit(f"unexpected budget warning: {stderr}")
            times[name].append(sample)

    def pending_round(self, count):
        self.bench.append(self.pending, "many-pending", count)
        self.bench.run([self.binary, "ingest"], self.pending)
        self.times["pending"].append(self.bench.commit(self.pending)[0])
        self.bench.require_block(self.pending, "pending")

    def median(self, name, index):
        return statistics.median(sample[index] for sample in self.times[name])

    def added(self, name, index):
        return self.median(name, index) - self.median("baseline", index)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", action="append",
                        help="the agent-cost to measure; repeat to compare binaries in one run "
                             "(default target/release/agent-cost)")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--pending", type=int, default=200_000)
    parser.add_argument("--pending-runs", type=int, default=5)
    parser.add_argument("--history-commits", type=int, default=20_000)
    args = parser.parse_args()
    binaries = [str(Path(b).resolve()) for b in args.binary or ["target/release/agent-cost"]]
    for binary in binaries:
        if not Path(binary).exists():
            raise SystemExit(f"{binary} not found: cargo build --release -p agent-cost")

    with tempfile.TemporaryDirectory() as tmp:
        subjects = [Subject(Path(tmp) / str(index), binary, args.history_commits)
                    for index, binary in enumerate(binaries)]
        for _ in range(args.runs):
            for subject in subjects:
                subject.round()
        for _ in range(args.pending_runs):
            for subject in subjects:
                subject.pending_round(args.pending)

        for subject in subjects:
            base, base_cpu = subject.median("baseline", 0), subject.median("baseline", 1)
            print(f"git commit latency, median of {args.runs} runs (agent-cost {subject.binary})")
            print(f"{'scenario':<10} {'median ms':>10} {'added ms':>10} {'ratio':>7} "
                  f"{'cpu ms':>8} {'added cpu':>10}")
            for name in SCENARIOS:
                wall, cpu = subject.median(name, 0), subject.median(name, 1)
                print(f"{name:<10} {wall * 1000:>10.2f} {(wall - base) * 1000:>10.2f} "
                      f"{wall / base:>7.2f} {cpu * 1000:>8.2f} {(cpu - base_cpu) * 1000:>10.2f}")
            print(f"large: hook ran out of its time budget in {subject.out_of_time} of "
                  f"{args.runs}")
            print()
        if len(subjects) > 1:
            print("added to git commit, ms (wall / cpu), binaries measured in turn:")
            print(f"{'scenario':<10} " + " ".join(f"{f'#{i + 1}':>15}" for i in
                                                  range(len(subjects))))
            for name in SCENARIOS[1:]:
                cells = [f"{s.added(name, 0) * 1000:6.2f} / {s.added(name, 1) * 1000:6.2f}"
                         for s in subjects]
                print(f"{name:<10} " + " ".join(f"{c:>15}" for c in cells))
            for index, subject in enumerate(subjects):
                print(f"#{index + 1}: {subject.binary}")
            print()
        print("cpu: user + system time of git commit and its hooks, which other load on the "
              "machine disturbs less than the wall time")
        print(f"history: beside 2,000 transcripts already read; pending: {args.pending:,} "
              f"requests pending, median of {args.pending_runs} runs")
        print(f"big-repo, budgets: {args.history_commits:,} commits over a year, on a branch "
              f"50 commits ahead; budgets: all five set")
        print(f"large: 10,000 pending requests + {subjects[0].new_bytes / 1e6:.2f} MB of new "
              f"lines per commit")


if __name__ == "__main__":
    main()
