#!/usr/bin/env bash
# Builds and installs agent-cost (into cargo's bin directory, ~/.cargo/bin by default), with
# agent-cost-otlp beside it: the sender `agent-cost export --otlp` runs (docs/otlp.md).
#
# On Linux with glibc the binary is linked statically and at a fixed address (not
# position-independent): git starts it twice per commit, and such a binary skips the dynamic
# loader and the ~30,000 relocations a static-pie binary applies at every start, about 0.5 ms per
# start on a 2-core machine (see docs/performance.md). Elsewhere it is a plain `cargo install`.
# The price is that the binary's own code loses address-space randomisation (the stack, heap
# and memory maps keep it); `AGENT_COST_PIE=1 scripts/install.sh` builds a static-pie binary
# instead (docs/security.md). Extra arguments go to `cargo install` (e.g. --root DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

# `cargo install` ignores the repository's .cargo/config.toml: pass its SQLite build options on.
LIBSQLITE3_FLAGS="${LIBSQLITE3_FLAGS:-$(sed -n 's/^LIBSQLITE3_FLAGS = "\(.*\)"$/\1/p' .cargo/config.toml)}"
export LIBSQLITE3_FLAGS

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    flags="-C target-feature=+crt-static"
    if [ "${AGENT_COST_PIE:-}" != 1 ]; then flags="$flags -C relocation-model=static"; fi
    echo "agent-cost: building a statically linked binary for $host ($flags)"
    RUSTFLAGS="${RUSTFLAGS:-} $flags" \
      cargo install --locked --force --path crates/agent-cost --target "$host" "$@"
    ;;
  *)
    cargo install --locked --force --path crates/agent-cost "$@"
    ;;
esac
