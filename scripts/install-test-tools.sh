#!/usr/bin/env bash
# Installs the pinned outside tools the test suite drives, into .tools/ (ignored by git):
#   - the sqlite3 shell (Debian package), to read the ledger as a user would;
#   - DuckDB with its SQLite extension (PyPI, in a virtualenv), to attach the ledger.
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

venv=.tools/venv
if ! "$venv/bin/python" -c "import duckdb, duckdb_ext; assert duckdb.__version__ == '$DUCKDB_VERSION'" >/dev/null 2>&1; then
    echo "== installing duckdb $DUCKDB_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "duckdb==$DUCKDB_VERSION" "duckdb-ext-sqlite==$DUCKDB_SQLITE_VERSION"
fi
