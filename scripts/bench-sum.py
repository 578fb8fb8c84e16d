#!/usr/bin/env python3
"""Compares `agent-cost trailers sum` with `git log --format=%B` over a long history.

Builds a repository of N commits with `git fast-import` (every fifth commit carries an AI
trailer block, every fiftieth is a squash-style body holding two indented blocks), then times,
in the same invocation, the median of several runs of:

  git log --format=%B HEAD > /dev/null       (the baseline: reading every message)
  agent-cost trailers sum HEAD --json > /dev/null

Usage: python3 scripts/bench-sum.py [--commits 100000] [--runs 5] [--binary target/release/agent-cost]
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def block(n):
    return (f"AI-Agent: claude-code sessions=1 cost=0.{n % 1000000:06d}\n"
            f"AI-Model: claude-sonnet-4-5 agent=claude-code requests=3 in=10 out={n % 5000} "
            f"cache-write=100 cache-read=2000 cost=0.{n % 1000000:06d}\n"
            f"AI-Cost-Estimate: 0.{n % 1000000:06d} USD\n"
            f"AI-Cost-Id: {n:016x}\n")


def fast_import_stream(commits):
    out = []
    for n in range(1, commits + 1):
        if n % 50 == 0:
            message = (f"Squashed change {n}\n\n* part one\n\n    " +
                       block(n * 7).replace("\n", "\n    ") + "\n* part two\n\n    " +
                       block(n * 7 + 1).replace("\n", "\n    ") + "\n")
        elif n % 5 == 0:
            message = f"Change {n}\n\nSome body text for change {n}.\n\n" + block(n)
        else:
            message = f"Change {n}\n\nSome body text for change {n}.\n"
        data = message.encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"committer Bench <bench@example.com> {1700000000 + n} +0000\n".encode())
        out.append(f"data {len(data)}\n".encode() + data + b"\n")
    return b"".join(out)


def median_time(command, cwd, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", default="target/release/agent-cost")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
        subprocess.run(["git", "init", "-q", "-b", "main", tmp], check=True, env=env)
        subprocess.run(["git", "fast-import", "--quiet"], cwd=tmp, input=fast_import_stream(args.commits),
                       check=True, env=env)
        subprocess.run(["git", "checkout", "-q", "main"], cwd=tmp, check=True, env=env)
        git_log = median_time(["git", "log", "--format=%B", "HEAD"], tmp, args.runs)
        ours = median_time([binary, "trailers", "sum", "HEAD", "--json"], tmp, args.runs)
        print(f"{args.commits:,} commits (packed by fast-import), median of {args.runs} runs")
        print(f"git log --format=%B        {git_log:7.3f} s")
        print(f"agent-cost trailers sum    {ours:7.3f} s")
        print(f"ratio (agent-cost / git)   {ours / git_log:7.2f}")


if __name__ == "__main__":
    main()
