#!/usr/bin/env python3
"""Measures a full `agent-cost ingest` of a synthetic Claude Code corpus.

Generates a corpus (default ~200 MB in 2,000 session files, with streamed duplicates, long
tool-result lines and one large file), then runs, in the same invocation:

  full          agent-cost ingest with empty state (every byte read)
  incremental   agent-cost ingest after appending one line to one file
  noop          agent-cost ingest with nothing new (median of --runs)
  appended      agent-cost ingest after appending ~1.3 MB across 10 files (median of --runs,
                each after its own append)
  floor         `true` started the same way (median of 21 runs): what starting a process from
                this script, under /usr/bin/time, costs whatever the program does

and prints wall time, peak RSS and throughput for each. The short runs (incremental, noop,
appended) are also shown net of the floor, which is most of their wall time on a slow machine.

With --ccusage PATH it also runs `ccusage claude daily --json --offline` on the same corpus as
the baseline, and prints the ratio.

With --dense the corpus holds only short usage lines (many distinct requests), to show that
memory does not grow with the number of requests.

Usage: python3 scripts/bench-ingest.py [--binary target/release/agent-cost] [--mb 200] [--dense]
                                      [--ccusage node_modules/@ccusage/ccusage-linux-x64/bin/ccusage]
"""

import argparse
import json
import os
import shutil
import random
import subprocess
import tempfile
import time
from pathlib import Path


def assistant(cwd, session, message_id, output, padding, model="claude-sonnet-4-5-20250929"):
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd,
        "sessionId": session, "version": "2.0.14", "gitBranch": "main", "type": "assistant",
        "message": {"id": message_id, "type": "message", "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": padding}], "stop_reason": None,
                    "usage": {"input_tokens": 8, "cache_creation_input_tokens": 1200,
                              "cache_read_input_tokens": 24000, "output_tokens": output,
                              "cache_creation": {"ephemeral_5m_input_tokens": 1200,
                                                 "ephemeral_1h_input_tokens": 0}}},
        "requestId": "req_" + message_id, "uuid": f"{message_id}-{output}",
        "timestamp": "2026-06-01T12:00:00.000Z"}, separators=(",", ":"))


def tool_result(cwd, session, size):
    return json.dumps({"type": "user", "cwd": cwd, "sessionId": session,
                       "message": {"role": "user", "content": [{"type": "tool_result",
                                                                "content": "y" * size}]}})


def generate(root, megabytes, files, dense=False):
    random.seed(7)
    projects = root / "claude" / "projects"
    target = megabytes * 1_000_000
    per_file = target // files
    written = 0
    responses = 0
    for index in range(files):
        cwd = f"/home/dev/project-{index % 40}"
        session = f"session-{index:05d}"
        directory = projects / cwd.replace("/", "-")
        directory.mkdir(parents=True, exist_ok=True)
        size = per_file * (20 if index == 0 else 1)
        lines, length = [], 0
        while length < size:
            responses += 1
            message_id = f"msg_{responses:09d}"
            model = random.choice(["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"])
            for output in (1, random.randint(50, 900)):
                padding = "x" if dense else "x" * random.randint(50, 400)
                line = assistant(cwd, session, message_id, output, padding, model)
                lines.append(line)
                length += len(line) + 1
            if not dense and random.random() < 0.3:
                line = tool_result(cwd, session, random.randint(2_000, 40_000))
                lines.append(line)
                length += len(line) + 1
        (directory / f"{session}.jsonl").write_text("\n".join(lines) + "\n")
        written += length
        if written >= target * 1.2:
            break
    return written, responses, projects


def run(command, env):
    """Wall time in seconds and peak RSS in KB (from /usr/bin/time) of one command."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, env=env, check=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, int(result.stderr.strip().splitlines()[-1])


def compare_totals(binary, ccusage, env, root):
    """Prints both tools' token and cost totals for the corpus (all of it is unattributed)."""
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    ours = json.loads(subprocess.run([binary, "status", "--no-ingest", "--json"], cwd=repo,
                                     env=env, check=True, capture_output=True).stdout)
    ours = ours["unattributed"]
    theirs = json.loads(subprocess.run([ccusage, "claude", "daily", "--json", "--offline",
                                        "-m", "calculate"], env=env, check=True,
                                       capture_output=True).stdout)["totals"]
    print("totals       input       output   cache write    cache read     cost USD")
    print(f"agent-cost {ours['tokens']['input']:>7} {ours['tokens']['output']:>12} "
          f"{ours['tokens']['cache_write']:>13} {ours['tokens']['cache_read']:>13} "
          f"{ours['cost_usd']:>12.6f}")
    print(f"ccusage    {theirs['inputTokens']:>7} {theirs['outputTokens']:>12} "
          f"{theirs['cacheCreationTokens']:>13} {theirs['cacheReadTokens']:>13} "
          f"{theirs['totalCost']:>12.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/agent-cost")
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--ccusage")
    parser.add_argument("--runs", type=int, default=5, help="full runs (median reported)")
    parser.add_argument("--dense", action="store_true",
                        help="only short usage lines: as many distinct requests as the size allows "
                             "(~1.4M responses in 200 MB), to show memory does not grow with them")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        written, responses, projects = generate(root, args.mb, args.files, args.dense)
        print(f"corpus: {written / 1e6:.0f} MB, {responses:,} responses (each streamed twice)")
        env = dict(os.environ, HOME=str(root / "home"), AGENT_COST_HOME=str(root / "state"),
                   CLAUDE_CONFIG_DIR=str(root / "claude"))
        rows = []

        def median_of(command, fresh_state):
            samples = []
            for _ in range(args.runs):
                if fresh_state:
                    shutil.rmtree(root / "state", ignore_errors=True)
                samples.append(run(command, env))
            samples.sort()
            return samples[len(samples) // 2]

        if args.ccusage:
            command = [args.ccusage, "claude", "daily", "--json", "--offline"]
            rows.append(("ccusage",) + median_of(command, False))
        rows.append(("full",) + median_of([binary, "ingest"], True))
        state_bytes = sum(p.stat().st_size for p in (root / "state").rglob("*") if p.is_file())
        first = next(projects.rglob("*.jsonl"))
        with open(first, "a") as f:
            f.write(assistant("/home/dev/project-0", "session-00000", "msg_new", 10, "z") + "\n")
        rows.append(("incremental",) + run([binary, "ingest"], env))
        rows.append(("noop",) + median_of([binary, "ingest"], False))
        appended_runs = []
        appended = 0
        for round_ in range(args.runs):
            appended = 0
            for path in sorted(projects.rglob("*.jsonl"))[:10]:
                with open(path, "a") as f:
                    for n in range(50):
                        text = assistant("/home/dev/project-1", path.stem,
                                         f"msg_app_{round_}_{path.stem}_{n}", 10,
                                         "w" * 1900) + "\n"
                        appended += len(text)
                        f.write(text)
            appended_runs.append(run([binary, "ingest"], env))
        appended_runs.sort()
        rows.append(("appended",) + appended_runs[len(appended_runs) // 2])
        floor = sorted(run(["true"], env) for _ in range(21))[10]
        rows.append(("floor",) + floor)
        print(f"{'run':<12} {'seconds':>8} {'MB/s':>8} {'peak RSS MB':>12}")
        for name, elapsed, peak in rows:
            print(f"{name:<12} {elapsed:>8.3f} {written / 1e6 / elapsed:>8.0f} {peak / 1024:>12.1f}")
        for name, elapsed, _ in rows:
            if name in ("incremental", "noop", "appended"):
                print(f"{name} net of the floor: {(elapsed - floor[0]) * 1e3:.1f} ms")
        print(f"noop, appended: median of {args.runs} runs; appended: {appended / 1e6:.2f} MB "
              f"across 10 files per run; state after the full ingest: "
              f"{state_bytes / 1e6:.1f} MB = {100 * state_bytes / written:.1f}% of the input")
        if args.ccusage:
            print(f"full ingest / ccusage wall time: {rows[1][1] / rows[0][1]:.2f}")
            compare_totals(binary, args.ccusage, env, root)


if __name__ == "__main__":
    main()
