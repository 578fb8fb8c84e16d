#!/usr/bin/env python3
"""Times `agent-cost report` against `git log --numstat` over a long history.

Builds (once, then reused) a repository of N commits with `git fast-import`: a few hundred small
text files in a handful of directories, each commit editing, inserting or deleting a few lines
in one to four of them (now and then adding a file), thirty authors in several time zones,
conventional-commit subjects, and every fortieth change a pull request of three commits merged
with GitHub's `Merge pull request #N from …` merge. About 85 % of the non-merge commits carry an
agent-cost trailer block in the format of docs/trailers.md (one or two models, a unique
16-hex AI-Cost-Id). The repository is then repacked (`git repack -adf`, then `git gc`, which
writes a commit-graph), as a clone would be.

It then times, in the same invocation, the median (and best) of several runs of:

  git log --numstat --format=%H%n%B HEAD > /dev/null      (the baseline)
  agent-cost report --no-lines
  agent-cost report                                       (with lines)
  agent-cost report --by author --by week
  agent-cost trailers sum

and prints each time (wall, and CPU time over all threads) and its ratio to the baseline. It also checks that the lines `report`
counts equal those `git log --numstat` shows for the commits with a block.

Usage: python3 scripts/bench-report.py [--commits 100000] [--runs 5] [--dir DIR]
                                       [--binary PATH] [--no-gc]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Bump when the generated history changes, so that cached repositories are rebuilt.
GENERATOR_VERSION = 2

WORDS = ("alpha beta gamma delta value count index total result buffer parse render "
         "config state cache error token model agent commit range report line file path "
         "stream batch offset cursor ledger price usage session event").split()
DIRS = ["src", "src/core", "src/cli", "src/report", "tests", "docs", "web/app", "web/lib"]
EXTS = {"src": "rs", "tests": "rs", "docs": "md", "web": "ts"}
TYPES = ["feat", "fix", "fix", "refactor", "test", "docs", "chore", "perf", "ci", "build"]
SCOPES = ["", "", "(cli)", "(core)", "(report)", "(parser)", "(web)"]
MODELS = [("claude-code", "claude-sonnet-4-5", 3.0, 15.0),
          ("claude-code", "claude-haiku-4-5", 1.0, 5.0),
          ("claude-code", "claude-opus-4-1", 15.0, 75.0),
          ("codex", "gpt-5-codex", 1.25, 10.0),
          ("gemini", "gemini-2.5-pro", 1.25, 10.0)]
TIME_ZONES = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900"]


def line_of(rng):
    indent = "    " * rng.randint(0, 2)
    return indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))


def money(micro):
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def trailer_block(rng, serial):
    """One agent-cost block, laid out as docs/trailers.md specifies."""
    chosen = sorted(rng.sample(MODELS, rng.choice([1, 1, 1, 2])), key=lambda m: (m[0], m[1]))
    lines = []
    per_model = []
    for agent, model, price_in, price_out in chosen:
        requests = rng.randint(1, 40)
        tokens_in = rng.randint(100, 20_000)
        tokens_out = rng.randint(200, 30_000)
        cache_write = rng.randint(0, 50_000)
        cache_read = rng.randint(0, 2_000_000)
        micro = (tokens_in * price_in + tokens_out * price_out + cache_write * price_in * 1.25
                 + cache_read * price_in * 0.1)
        micro = int(micro)
        per_model.append((agent, model, micro, requests, tokens_in, tokens_out, cache_write,
                          cache_read))
    agents = sorted({m[0] for m in per_model})
    for agent in agents:
        cost = sum(m[2] for m in per_model if m[0] == agent)
        lines.append(f"AI-Agent: {agent} sessions={rng.randint(1, 3)} cost={money(cost)}")
    for agent, model, micro, req, tin, tout, cw, cr in per_model:
        lines.append(f"AI-Model: {model} agent={agent} cost={money(micro)}")
        lines.append(f"AI-Tokens: req={req} in={tin} out={tout} cw={cw} cr={cr}")
    lines.append(f"AI-Cost-Estimate: {money(sum(m[2] for m in per_model))} USD")
    lines.append(f"AI-Cost-Id: {(serial * 0x9E3779B97F4A7C15) & (2**64 - 1):016x}")
    return "\n".join(lines) + "\n"


class History:
    """The state of the generated working tree and the fast-import stream written so far."""

    def __init__(self, out, rng):
        self.out = out
        self.rng = rng
        self.files = {}
        self.mark = 0
        self.serial = 0
        self.time = 1_600_000_000
        self.authors = [(f"Dev {i:02d}", f"dev{i:02d}@example.com", rng.choice(TIME_ZONES))
                        for i in range(30)]
        for n in range(300):
            self.new_file(n)

    def new_file(self, n):
        top = self.rng.choice(DIRS)
        path = f"{top}/file_{n:05d}.{EXTS[top.split('/')[0]]}"
        self.files[path] = [line_of(self.rng) for _ in range(self.rng.randint(15, 120))]
        return path

    def edit(self, path):
        """A small change: a few lines replaced, inserted or deleted in one or two places."""
        lines = self.files[path]
        for _ in range(self.rng.choice([1, 1, 2])):
            at = self.rng.randint(0, len(lines))
            kind = self.rng.random()
            if kind < 0.45 and at < len(lines):
                for i in range(at, min(len(lines), at + self.rng.randint(1, 4))):
                    lines[i] = line_of(self.rng)
            elif kind < 0.45 + 0.55 * min(1.0, 40 / len(lines)) * 0.9:
                lines[at:at] = [line_of(self.rng) for _ in range(self.rng.randint(1, 6))]
            else:
                del lines[at:at + self.rng.randint(1, 6)]

    def change(self, touched):
        paths = list(self.files)
        if self.rng.random() < 0.03:
            touched.add(self.new_file(len(self.files) + self.serial))
        for path in self.rng.sample(paths, self.rng.choice([1, 1, 2, 2, 3, 4])):
            self.edit(path)
            touched.add(path)

    def commit(self, ref, message, touched, parent=None, merge=None):
        self.mark += 1
        self.time += self.rng.randint(60, 1800)
        name, email, zone = self.rng.choice(self.authors)
        data = message.encode()
        w = self.out.write
        w(f"commit {ref}\nmark :{self.mark}\n".encode())
        w(f"author {name} <{email}> {self.time} {zone}\n".encode())
        w(f"committer {name} <{email}> {self.time + self.rng.randint(0, 600)} {zone}\n".encode())
        w(f"data {len(data)}\n".encode() + data + b"\n")
        if parent is not None:
            w(f"from :{parent}\n".encode())
        if merge is not None:
            w(f"merge :{merge}\n".encode())
        for path in sorted(touched):
            content = ("\n".join(self.files[path]) + "\n").encode()
            w(f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n")
        return self.mark

    def message(self, pr=None):
        self.serial += 1
        kind = self.rng.choice(TYPES)
        subject = f"{kind}{self.rng.choice(SCOPES)}: {' '.join(self.rng.sample(WORDS, 4))}"
        if self.rng.random() < 0.1:
            subject += f" (ENG-{self.rng.randint(1, 4000)})"
        if pr is not None:
            subject += f" (#{pr})"
        body = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(0, 40)))
        text = subject + "\n\n"
        if body:
            text += body + "\n\n"
        if self.rng.random() < 0.85:
            text += trailer_block(self.rng, self.serial)
        return text


def build_stream(commits, path, seed=20261201):
    rng = random.Random(seed)
    with open(path, "wb") as out:
        history = History(out, rng)
        made = 0
        main = None
        pr = 0
        while made < commits:
            if main is not None and rng.random() < 1 / 40 and commits - made >= 4:
                pr += 1
                tip = main
                on_topic = set()
                for i in range(3):
                    touched = set()
                    history.change(touched)
                    on_topic |= touched
                    tip = history.commit("refs/heads/topic", history.message(), touched,
                                         parent=main if i == 0 else None)
                # The merge's tree is the topic's: re-state every file the topic touched.
                subject = f"Merge pull request #{pr} from dev/topic-{pr}\n\nTopic {pr}\n"
                main = history.commit("refs/heads/main", subject, on_topic, parent=main,
                                      merge=tip)
                made += 4
            else:
                touched = set()
                if main is None:
                    touched = set(history.files)
                history.change(touched)
                direct = rng.random() < 0.2
                main = history.commit("refs/heads/main",
                                      history.message(pr=rng.randint(1, 9999) if direct else None),
                                      touched, parent=main)
                made += 1
    return made


def git(args, cwd, **kwargs):
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, **kwargs)


def repository(root, commits, gc):
    """The cached repository of `commits` commits under `root`, built if missing."""
    name = f"report-{commits}-v{GENERATOR_VERSION}{'' if gc else '-nogc'}"
    repo = root / name
    if (repo / ".bench-complete").exists():
        return repo, False
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    started = time.perf_counter()
    git(["init", "-q", "-b", "main", str(repo)], repo)
    stream = repo / ".git" / "bench-stream"
    build_stream(commits, stream)
    with open(stream, "rb") as f:
        git(["fast-import", "--quiet"], repo, stdin=f)
    stream.unlink()
    git(["update-ref", "-d", "refs/heads/topic"], repo)
    if gc:
        # fast-import deltifies each object against the one before it, so that reading newest
        # first resolves long chains from their ends; git's own packs (a clone, `git gc`) store
        # newer objects whole and older ones as deltas against them.
        git(["repack", "-a", "-d", "-f", "-q"], repo)
        git(["gc", "-q"], repo)
    git(["checkout", "-q", "main"], repo)
    (repo / ".bench-complete").write_text("")
    print(f"built {repo} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return repo, True


def timings(command, cwd, runs):
    """Median and best wall time, and median CPU time (user + system, all threads), in s."""
    walls, cpus = [], []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - started)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({process.returncode})")
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def numstat_lines_of_charged(repo):
    """Lines added and removed, per `git log --numstat`, by the commits carrying a block."""
    out = git(["log", "--numstat", "--no-renames", "--format=%x00%H%n%B%x01"], repo,
              stdout=subprocess.PIPE).stdout.decode()
    added = removed = 0
    for record in out.split("\0")[1:]:
        message, _, stats = record.partition("\x01")
        if "\nAI-Cost-Id: " not in message:
            continue
        for line in stats.splitlines():
            fields = line.split("\t")
            if len(fields) == 3 and fields[0] != "-":
                added += int(fields[0])
                removed += int(fields[1])
    return added, removed


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return str(Path(target) / "release" / "agent-cost")
    return str(Path(__file__).resolve().parent.parent / "target" / "release" / "agent-cost")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", default=default_binary(),
                        help="release build of agent-cost (default: $CARGO_TARGET_DIR/release "
                             "or target/release)")
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "agent-cost-bench"),
                        help="where generated repositories are kept between runs")
    parser.add_argument("--no-gc", action="store_true",
                        help="leave the repository as fast-import packed it")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    repo, _ = repository(Path(args.dir), args.commits, not args.no_gc)

    cases = [
        ("git log --numstat", ["git", "log", "--numstat", "--format=%H%n%B", "HEAD"]),
        ("report --no-lines", [binary, "report", "--no-lines"]),
        ("report", [binary, "report"]),
        ("report --by author --by week", [binary, "report", "--by", "author", "--by", "week"]),
        ("trailers sum", [binary, "trailers", "sum"]),
    ]
    results = [(label, *timings(command, repo, args.runs)) for label, command in cases]
    baseline, baseline_cpu = results[0][1], results[0][3]

    count = git(["rev-list", "--count", "HEAD"], repo, stdout=subprocess.PIPE).stdout.decode()
    merges = git(["rev-list", "--count", "--merges", "HEAD"], repo,
                 stdout=subprocess.PIPE).stdout.decode()
    print(f"{int(count):,} commits ({int(merges):,} merges), "
          f"{'repacked' if not args.no_gc else 'packed by fast-import'}, "
          f"median (best) of {args.runs} runs")
    print(f"{'command':30} {'median s':>9} {'best s':>8} {'ratio':>6} {'CPU s':>8} {'ratio':>6}")
    for label, median, best, cpu in results:
        print(f"{label:30} {median:9.3f} {best:8.3f} {median / baseline:6.2f} "
              f"{cpu:8.3f} {cpu / baseline_cpu:6.2f}")
    load = os.getloadavg()[0]
    print(f"ratio: median wall time / the baseline's; CPU: user + system of all threads, "
          f"median; load average {load:.1f} on {os.cpu_count()} CPUs")

    report = json.loads(subprocess.run([binary, "report", "--json"], cwd=repo, check=True,
                                       stdout=subprocess.PIPE).stdout)
    ours = (report["total"]["lines_added"], report["total"]["lines_removed"])
    theirs = numstat_lines_of_charged(repo)
    verdict = "equal" if ours == theirs else "DIFFERENT"
    print(f"lines of commits with AI cost: report +{ours[0]} -{ours[1]}, "
          f"git log --numstat +{theirs[0]} -{theirs[1]}: {verdict}")
    if ours != theirs:
        sys.exit(1)


if __name__ == "__main__":
    main()
