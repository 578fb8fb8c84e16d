#!/usr/bin/env bash
# The whole test suite: installs the pinned outside tools the tests drive (once), then runs
# every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
cargo test --workspace --locked "$@"
