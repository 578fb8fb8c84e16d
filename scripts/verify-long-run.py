#!/usr/bin/env python3
"""A long randomized run, then `agent-cost verify`: hundreds of steps of streamed transcript
lines, commits, amends, commits the editor aborts, and `git commit` / `agent-cost ingest`
crashed at the ledger's crash points (AGENT_COST_FAULT, see docs/ledger.md), in a throwaway
repository and home. Prints what happened and verify's output; exits with verify's status.

    python3 scripts/verify-long-run.py [--binary target/release/agent-cost] [--steps 300] [--seed N]
"""
import argparse, json, os, random, shutil, subprocess, sys, tempfile

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--binary", default="target/release/agent-cost")
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--seed", type=int, default=20261201)
args = parser.parse_args()
B = os.path.abspath(args.binary)
W = tempfile.mkdtemp(prefix="agent-cost-long-run-"); os.makedirs(W + "/home")
env = dict(os.environ, HOME=W + "/home", GIT_CONFIG_GLOBAL=W + "/gitconfig", AGENT_COST_HOME=W + "/state")
def run(*args, check=True, extra=None, cwd=None):
    e = dict(env, **(extra or {}))
    r = subprocess.run(args, cwd=cwd or W + "/shop", env=e, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"{args} failed: {r.stderr}")
    return r
os.makedirs(W + "/shop")
subprocess.run(["git", "config", "--global", "user.name", "Dana"], env=env)
subprocess.run(["git", "config", "--global", "user.email", "d@e"], env=env)
run("git", "init", "-q", "-b", "main"); open(W + "/shop/README.md", "w").write("x\n")
run("git", "add", "."); run("git", "commit", "-q", "-m", "init")
run(B, "install-hooks", "--since", "2020-01-01")
proj = W + "/home/.claude/projects/" + (W + "/shop").replace("/", "-").replace(".", "-")
os.makedirs(proj)
rng = random.Random(args.seed)
n = 0; requests = 0; crashes = 0; aborted = 0; amends = 0; commits = 0
def line(i, inp, out):
    return json.dumps({"type": "assistant", "isSidechain": False, "cwd": W + "/shop", "sessionId": f"s{i % 4}",
        "gitBranch": "main", "requestId": f"req_{i}", "uuid": f"u{i}-{out}", "timestamp": "2026-12-01T12:00:00Z",
        "message": {"id": f"msg_{i}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [], "usage": {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
for step in range(args.steps):
    for _ in range(rng.randint(0, 3)):
        n += 1; requests += 1
        inp, out = rng.randint(1, 5000), rng.randint(1, 3000)
        with open(f"{proj}/s{n % 4}.jsonl", "a") as f:
            f.write(line(n, inp, 1) + "\n" + line(n, inp, out) + "\n")
    k = rng.random()
    open(f"{W}/shop/f{step}.txt", "w").write(str(step)); run("git", "add", f"f{step}.txt")
    if k < 0.35:
        run("git", "commit", "-q", "-m", f"step {step}"); commits += 1
    elif k < 0.45:
        run("git", "commit", "-q", "--amend", "--no-edit"); amends += 1
    elif k < 0.55:
        r = run("git", "commit", "-q", check=False, extra={"GIT_EDITOR": "false"}); aborted += 1
    elif k < 0.75:
        point = rng.choice(["store.commit.before:1", "store.commit.after:1", "hook.proposed:1", "hook.written:1"])
        r = run("sh", "-c", f'ulimit -c 0; exec git commit -q -m "crash {step}"', check=False, extra={"AGENT_COST_FAULT": point})
        crashes += r.returncode != 0
    elif k < 0.9:
        point = rng.choice(["store.commit.before:1", "store.commit.after:1"])
        r = run("sh", "-c", f"ulimit -c 0; exec {B} ingest", check=False, extra={"AGENT_COST_FAULT": point})
        crashes += r.returncode != 0
    else:
        run(B, "ingest")
run("git", "commit", "-q", "-m", "last", check=False)
print(f"{args.steps} steps (seed {args.seed}): {requests} requests (each logged twice, streamed), {commits} commits, {amends} amends, {aborted} commits aborted by the editor, {crashes} processes crashed at a crash point")
r = run(B, "verify", check=False)
print("$ agent-cost verify")
print(r.stdout, end="")
shutil.rmtree(W, ignore_errors=True)
sys.exit(r.returncode)
