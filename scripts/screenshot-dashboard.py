#!/usr/bin/env python3
"""Builds a sample repository (ten weeks of commits by four people, five agents, squash and
true merges of pull requests, one costly outlier), writes `agent-cost report --html` for it
and takes a PNG of the page with headless Chromium, to look at the dashboard as a person would.

    scripts/screenshot-dashboard.py [--out dashboard.png] [--html dashboard.html] [--width 1280]

The agent-cost binary is $AGENT_COST_BIN, or built with cargo (honouring CARGO_TARGET_DIR).
Everything else happens in a temporary directory (its own HOME and git config). Chromium comes
from scripts/install-test-tools.sh.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PEOPLE = [
    ("Dana Developer", "dana@example.com"),
    ("Sam Second", "sam@example.com"),
    ("Ana Ortiz", "ana@example.com"),
    ("Kai Müller", "kai@example.com"),
]
# agent, model, typical micro-dollars, other unit
AGENTS = [
    ("claude-code", "claude-sonnet-4-5", 420_000, None),
    ("claude-code", "claude-opus-4-1", 1_600_000, None),
    ("claude-code", "claude-haiku-4-5", 40_000, None),
    ("codex", "gpt-5-codex", 260_000, None),
    ("copilot", "gpt-5", 120_000, "premium-requests"),
    ("cursor", "claude-sonnet-4-5", 300_000, None),
    ("kiro", "claude-sonnet-4-5", 90_000, "credits"),
]
SUBJECTS = [
    "feat: cart totals", "fix: rounding of VAT", "refactor: split checkout", "test: cover refunds",
    "docs: explain pricing", "chore: bump deps", "feat(api): orders endpoint", "fix: flaky login",
    "perf: cache product lookups", "feat: coupon codes", "fix: timezone of invoices",
    "test: property tests for money", "refactor: extract payment port", "ci: cache cargo",
]


def money(micros):
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def block(rng, drain):
    agent, model, typical, unit = rng.choice(AGENTS)
    micros = max(1, int(rng.lognormvariate(0, 0.8) * typical))
    lines = [
        f"AI-Agent: {agent} sessions=1 cost={money(micros)}",
        f"AI-Model: {model} agent={agent} cost={money(micros)}",
        f"AI-Tokens: req={rng.randint(1, 40)} in={rng.randint(100, 9000)} "
        f"out={rng.randint(100, 20000)} cw=0 cr={rng.randint(0, 200000)}",
    ]
    if unit:
        amount = rng.randint(1, 30)
        lines += [f"AI-Quantity: {amount} {unit}"]
    lines += [f"AI-Cost-Estimate: {money(micros)} USD"]
    if unit:
        lines += [f"AI-Cost-Estimate: {amount} {unit}"]
    lines += [f"AI-Cost-Id: {drain:016x}"]
    return "\n".join(lines)


class Repo:
    def __init__(self, path, env):
        self.path, self.env, self.files = path, env, 0

    def git(self, *args, who=None, when=None):
        env = dict(self.env)
        if who:
            env.update(GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1])
        if when:
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        subprocess.run(["git", *args], cwd=self.path, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    def commit(self, message, who, when):
        self.files += 1
        name = f"src/file{self.files}.txt"
        os.makedirs(os.path.join(self.path, "src"), exist_ok=True)
        with open(os.path.join(self.path, name), "w") as f:
            f.write("".join(f"line {i}\n" for i in range(self.files % 40 + 3)))
        self.git("add", name)
        self.git("commit", "-q", "-m", message, who=who, when=when)


def build(path, env):
    rng = random.Random(7)
    repo = Repo(path, env)
    os.makedirs(path)
    repo.git("init", "-q", "-b", "main")
    repo.git("remote", "add", "origin", "git@github.com:acme/shop.git")
    start = datetime(2026, 9, 21, 9, tzinfo=timezone.utc)
    repo.commit("Initial commit", PEOPLE[0], start)
    drain, pr = 1, 100
    for day in range(70):
        when = start + timedelta(days=day, hours=1)
        if when.weekday() >= 5:
            continue
        for _ in range(rng.randint(0, 2)):
            who = rng.choice(PEOPLE)
            pr += 1
            subject = rng.choice(SUBJECTS)
            if rng.random() < 0.3:
                branch = f"topic-{pr}"
                repo.git("checkout", "-q", "-b", branch)
                for part in range(rng.randint(2, 3)):
                    drain += 1
                    repo.commit(f"{subject} (part {part + 1})\n\n{block(rng, drain)}", who,
                                when + timedelta(minutes=part))
                repo.git("checkout", "-q", "main")
                repo.git("merge", "-q", "--no-ff", "-m",
                         f"Merge pull request #{pr} from acme/{branch}", branch,
                         who=PEOPLE[0], when=when + timedelta(hours=2))
            else:
                drain += 1
                body = block(rng, drain) if rng.random() < 0.85 else "No agent this time."
                repo.commit(f"{subject} (#{pr})\n\n{body}", who, when + timedelta(hours=1))
        if day == 38:
            drain += 1
            repo.commit(
                "feat: rewrite <search> & ranking in one go\n\nAI-Agent: claude-code sessions=6 "
                "cost=38.412345\nAI-Model: claude-opus-4-1 agent=claude-code cost=38.412345\n"
                "AI-Tokens: req=220 in=90000 out=400000 cw=100000 cr=9000000\n"
                f"AI-Cost-Estimate: 38.412345 USD\nAI-Cost-Id: {drain:016x}",
                PEOPLE[3], when + timedelta(hours=5))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dashboard.png")
    parser.add_argument("--html", default=None, help="also keep the HTML here")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args()

    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("chromium is missing: run scripts/install-test-tools.sh")
    binary = os.environ.get("AGENT_COST_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "-q", "-p", "agent-cost"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "debug", "agent-cost")

    with tempfile.TemporaryDirectory(prefix="agent-cost-dashboard-") as tmp:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        gitconfig = os.path.join(tmp, "gitconfig")
        with open(gitconfig, "w") as f:
            f.write("[init]\n\tdefaultBranch = main\n")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "GIT_CONFIG_GLOBAL": gitconfig,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_COMMITTER_NAME": "Sample",
            "GIT_COMMITTER_EMAIL": "sample@example.com",
            "AGENT_COST_HOME": os.path.join(tmp, "state"),
        }
        repo = os.path.join(tmp, "shop")
        build(repo, env)
        page = os.path.join(tmp, "dashboard.html")
        subprocess.run([binary, "report", "--html", page], cwd=repo, env=env, check=True)
        out = os.path.abspath(args.out)
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={os.path.join(tmp, 'chromium')}", f"--screenshot={out}",
             f"--window-size={args.width},{args.height}", f"file://{page}"],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        if args.html:
            shutil.copy(page, args.html)
            print(f"html: {os.path.abspath(args.html)}")
        print(f"screenshot: {out}")


if __name__ == "__main__":
    main()
