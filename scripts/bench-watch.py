#!/usr/bin/env python3
"""Measures the watcher (`agent-cost watch`) and the status line.

In a fake home with --files transcripts of one tracked repository, starts the watcher and
prints:

  idle          CPU time and context switches (wake-ups) of all its threads over --idle
                seconds with nothing changing
  lag           from a line appended to a transcript to the ledger holding it (what
                `agent-cost status --no-ingest` and the status line show), median and p90 of
                --appends appends, one at a time
  rss           peak resident memory (VmHWM) after every transcript got a new line at once
                and the watcher caught up with all of them
  statusline    median run time of `agent-cost statusline` with Claude Code's JSON on stdin,
                beside `agent-cost --version` (the cost of starting the process), measured in
                the same run

Usage: python3 scripts/bench-watch.py [--binary target/release/agent-cost] [--files 2000]
                                      [--idle 60] [--appends 100] [--runs 50]
Build first: cargo build --release -p agent-cost
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def line(cwd, session, message_id):
    return json.dumps({
        "type": "assistant", "isSidechain": False, "cwd": str(cwd), "sessionId": session,
        "gitBranch": "main", "requestId": "req_" + message_id, "uuid": "u_" + message_id,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "message": {"id": message_id, "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": "x" * 120}],
                    "usage": {"input_tokens": 12, "output_tokens": 345,
                              "cache_creation_input_tokens": 1500,
                              "cache_read_input_tokens": 24000}},
    }, separators=(",", ":")) + "\n"


def thread_counters(pid):
    """CPU seconds and context switches summed over every thread of `pid`."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = 0.0
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        for row in (task / "status").read_text().splitlines():
            if row.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(row.split()[1])
    return cpu, switches


def vm_hwm_kb(pid):
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM"):
            return int(row.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/agent-cost")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--appends", type=int, default=100)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            "PATH": os.environ["PATH"], "HOME": str(root / "home"),
            "AGENT_COST_HOME": str(root / "state"), "CLAUDE_CONFIG_DIR": str(root / "claude"),
            "CODEX_HOME": str(root / "codex"), "GIT_CONFIG_GLOBAL": str(root / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        (root / "home").mkdir()
        repo = root / "repo"
        repo.mkdir()
        run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, check=True,
                                          capture_output=True)
        run("git", "init", "-q")
        run("git", "commit", "-q", "--allow-empty", "-m", "init")
        # Tracking from long before the transcripts: pending spend is then read from the
        # running sums alone (spend in the minute tracking started is split charge by charge,
        # which would make every request here, all written this minute, a boundary case).
        run(binary, "install-hooks", "--since", "2020-01-01")
        project = root / "claude" / "projects" / str(repo).replace("/", "-").replace(".", "-")
        project.mkdir(parents=True)
        files = [project / f"s{i}.jsonl" for i in range(args.files)]
        for i, path in enumerate(files):
            path.write_text(line(repo, f"s{i}", f"m{i}_0"))
        run(binary, "ingest")

        watcher = subprocess.Popen([binary, "watch", "--quiet"], cwd=repo, env=env)
        ledger = sqlite3.connect(f"file:{root / 'state' / 'ledger.db'}?mode=ro", uri=True)
        count = lambda: ledger.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        state = root / "state" / "watch.json"
        deadline = time.time() + 60
        while not (state.exists() and not json.loads(state.read_text())["busy"]):
            assert time.time() < deadline, "the watcher did not start"
            time.sleep(0.01)
        try:
            time.sleep(1)
            cpu0, sw0 = thread_counters(watcher.pid)
            time.sleep(args.idle)
            cpu1, sw1 = thread_counters(watcher.pid)
            print(f"idle          {args.idle:.0f} s: {(cpu1 - cpu0) * 1000:.0f} ms CPU, "
                  f"{sw1 - sw0} context switches (wake-ups) over all threads")

            lags = []
            for i in range(args.appends):
                before = count()
                start = time.perf_counter()
                with open(files[0], "a") as f:
                    f.write(line(repo, "s0", f"lag{i}"))
                while count() == before:
                    time.sleep(0.0005)
                lags.append((time.perf_counter() - start) * 1000)
                time.sleep(0.05)
            lags.sort()
            print(f"lag           {args.appends} appends: median {statistics.median(lags):.1f} ms, "
                  f"p90 {lags[int(len(lags) * 0.9) - 1]:.1f} ms, max {lags[-1]:.1f} ms")

            before = count()
            for i, path in enumerate(files):
                with open(path, "a") as f:
                    f.write(line(repo, f"s{i}", f"m{i}_1"))
            deadline = time.time() + 120
            while count() < before + len(files):
                assert time.time() < deadline, "the watcher did not catch up"
                time.sleep(0.01)
            print(f"rss           peak {vm_hwm_kb(watcher.pid) / 1024:.1f} MB after "
                  f"{len(files)} transcripts each got a line")
        finally:
            watcher.kill()
            watcher.wait()

        stdin = json.dumps({"session_id": "s0", "cwd": str(repo),
                            "workspace": {"current_dir": str(repo)}})

        def median_ms(cmd, text):
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                subprocess.run(cmd, cwd=repo, env=env, input=text, capture_output=True,
                               text=True, check=True)
                times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        floor = median_ms([binary, "--version"], "")
        status_line = median_ms([binary, "statusline"], stdin)
        shown = subprocess.run([binary, "statusline"], cwd=repo, env=env, input=stdin,
                               capture_output=True, text=True).stdout.strip()
        print(f"statusline    median {status_line:.2f} ms ({status_line - floor:.2f} ms above "
              f"`--version` at {floor:.2f} ms; ratio {status_line / floor:.2f}); "
              f"prints: {shown}")


if __name__ == "__main__":
    main()
