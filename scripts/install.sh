#!/usr/bin/env bash
# Builds and installs agent-cost (into cargo's bin directory, ~/.cargo/bin by default), with
# agent-cost-otlp beside it: the sender `agent-cost export --otlp` runs (docs/otlp.md).
#
# On Linux with glibc the binary is linked statically: git starts it twice per commit, and a
# static binary skips the dynamic loader, about 0.5 ms per start on a 2-core machine (see
# docs/performance.md). Elsewhere it is a plain `cargo install`. Extra arguments go to
# `cargo install` (e.g. --root DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    echo "agent-cost: building a statically linked binary for $host"
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo install --locked --force --path crates/agent-cost --target "$host" "$@"
    ;;
  *)
    cargo install --locked --force --path crates/agent-cost "$@"
    ;;
esac
