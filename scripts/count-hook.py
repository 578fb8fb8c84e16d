#!/usr/bin/env python3
"""Counts what one `prepare-commit-msg` run costs, in figures that do not depend on the machine's
load: instructions (valgrind's callgrind), system calls (strace -c) and WAL frames written.

For each --binary, builds two repositories the way scripts/bench-hook.py does (a fake home,
hooks installed, three commits with spend made), leaves one new request in the worktree's
transcript, and runs the hook once on a saved copy of the ledger and git dir per measure:

  small         the repository alone
  beside-2000   the same, on a machine whose Claude Code directory also holds 2,000 transcripts
                of other projects, already ingested

Wall times on a shared VM drift by half within an hour (see docs/performance.md); these counts
do not, so two builds can be compared across invocations.

Usage: python3 scripts/count-hook.py --binary A [--binary B ...]
Needs valgrind and strace (apt-get install valgrind strace).
"""

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_hook", HERE / "bench-hook.py")
bench_hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_hook)


def prepare(root, binary, others):
    """A repository with hooks, three commits with spend, and one new request pending."""
    bench = bench_hook.Bench(root, binary)
    repo = bench.repo("repo", hooks=True)
    for index in range(others):
        bench.append(repo, f"old-{index:04d}", 3, project=f"other-{index % 40}")
    if others:
        bench.run([binary, "ingest"], repo)
    for _ in range(3):
        bench.append(repo, "session", 1)
        bench.commit(repo)
        bench.require_block(repo, "setup")
    bench.append(repo, "session", 1)
    saved = Path(root) / "saved"
    saved.mkdir()
    shutil.copytree(Path(root) / "state", saved / "state")
    shutil.copytree(repo / ".git", saved / "git", symlinks=True)
    return bench, repo, saved


def restore(root, repo, saved):
    """The ledger and git dir as they were before the hook ran (transcripts keep their inodes,
    so their cursors stay valid)."""
    shutil.rmtree(Path(root) / "state")
    shutil.rmtree(repo / ".git")
    shutil.copytree(saved / "state", Path(root) / "state")
    shutil.copytree(saved / "git", repo / ".git", symlinks=True)


def run_hook(bench, repo, wrapper):
    message = repo / ".git" / "MSG"
    message.write_text("change\n")
    env = dict(bench.env, AGENT_COST_HOOK_BUDGET_MS="20000")
    result = subprocess.run(wrapper + [str(repo / ".git/hooks/prepare-commit-msg"), str(message),
                                       "message"], cwd=repo, env=env, check=True,
                            capture_output=True, text=True)
    if "AI-Cost-Id:" not in message.read_text():
        raise SystemExit("the hook wrote no block: the measure would count nothing")
    return result.stderr


def measure(binary, others):
    with tempfile.TemporaryDirectory() as tmp:
        bench, repo, saved = prepare(tmp, binary, others)
        wal = Path(tmp) / "state" / "ledger.db-wal"

        restore(tmp, repo, saved)
        before = wal.stat().st_size if wal.exists() else 0
        out = Path(tmp) / "callgrind.out"
        stderr = run_hook(bench, repo, ["valgrind", "--tool=callgrind",
                                        f"--callgrind-out-file={out}"])
        instructions = int(re.search(r"Collected : (\d+)", stderr).group(1))
        frames = (wal.stat().st_size - before) // 4120

        restore(tmp, repo, saved)
        counts = Path(tmp) / "strace.txt"
        run_hook(bench, repo, ["strace", "-f", "-c", "-o", str(counts)])
        # The total line: % time, seconds, usecs/call, calls, [errors,] "total".
        calls = int(counts.read_text().strip().splitlines()[-1].split()[3])
        return instructions, calls, frames


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", action="append", required=True)
    args = parser.parse_args()
    for tool in ("valgrind", "strace"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install {tool}")
    print(f"{'binary':<40} {'scenario':<12} {'instructions':>13} {'syscalls':>9} "
          f"{'WAL frames':>10}")
    for binary in args.binary:
        binary = str(Path(binary).resolve())
        for name, others in (("small", 0), ("beside-2000", 2_000)):
            instructions, calls, frames = measure(binary, others)
            print(f"{os.path.basename(binary):<40} {name:<12} {instructions:>13,} {calls:>9} "
                  f"{frames:>10}")


if __name__ == "__main__":
    main()
