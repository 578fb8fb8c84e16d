#!/usr/bin/env bash
# Installs the pinned outside tools the test suite drives, into .tools/ (ignored by git):
#   - the sqlite3 shell (Debian package), to read the ledger as a user would;
#   - Chromium (Debian package), to render `report --html` headless and read its DOM;
#   - DuckDB with its SQLite extension (PyPI, in a virtualenv), to attach the ledger;
#   - the hook managers husky, lefthook, commitlint (npm, in .tools/node) and pre-commit (PyPI).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=1.4.4
DUCKDB_SQLITE_VERSION=1.4.4.20260205

if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "== installing sqlite3"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq sqlite3 >/dev/null
    fi
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "== installing chromium"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    fi
fi

venv=.tools/venv
if ! "$venv/bin/python" -c "import duckdb, duckdb_ext; assert duckdb.__version__ == '$DUCKDB_VERSION'" >/dev/null 2>&1; then
    echo "== installing duckdb $DUCKDB_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "duckdb==$DUCKDB_VERSION" "duckdb-ext-sqlite==$DUCKDB_SQLITE_VERSION"
fi

# The git hook managers agent-cost must live with (npm, into .tools/node), pinned.
HUSKY_VERSION=9.1.7
LEFTHOOK_VERSION=2.2.2
COMMITLINT_VERSION=20.5.3
PRE_COMMIT_VERSION=4.7.0
node_tools=.tools/node
want="husky@$HUSKY_VERSION lefthook@$LEFTHOOK_VERSION @commitlint/cli@$COMMITLINT_VERSION @commitlint/config-conventional@$COMMITLINT_VERSION"
if [ "$(cat "$node_tools/installed" 2>/dev/null)" != "$want" ]; then
    echo "== installing $want into $node_tools"
    mkdir -p "$node_tools"
    [ -f "$node_tools/package.json" ] || echo '{"name": "agent-cost-test-tools", "private": true}' > "$node_tools/package.json"
    # No install scripts: lefthook's would install its hooks into this repository (its binary
    # comes from an optional dependency, not from the script).
    (cd "$node_tools" && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact $want)
    echo "$want" > "$node_tools/installed"
fi
if ! "$venv/bin/pre-commit" --version 2>/dev/null | grep -qx "pre-commit $PRE_COMMIT_VERSION"; then
    echo "== installing pre-commit $PRE_COMMIT_VERSION into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
fi
