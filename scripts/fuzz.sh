#!/usr/bin/env bash
# Runs every cargo-fuzz target (or those named) for a fixed time each, one at a time, on the
# stable toolchain, and prints per target its executions and crashes. Not part of CI (slow);
# see docs/fuzzing.md.
#
#   scripts/fuzz.sh [TARGET...]         # 60 s each
#   FUZZ_SECONDS=180 scripts/fuzz.sh trailers
#
# Corpora are kept in fuzz/corpus/<target> (not committed) and seeded from tests/fixtures the
# first time; crashing inputs land in fuzz/artifacts/<target>.
set -euo pipefail

seconds="${FUZZ_SECONDS:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
fixtures="$root/tests/fixtures"
all_targets=(claude codex copilot_cli copilot_vscode gemini opencode cursor_csv trailers store_import)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Only nightly has `-Z` flags; RUSTC_BOOTSTRAP=1 lets stable take the ones cargo-fuzz passes
# (`-Zsanitizer=...`, `-Cpasses=sancov-module` needs none). No sanitizer: the code under test
# forbids `unsafe`, and the address sanitizer needs the nightly standard library.
export RUSTC_BOOTSTRAP=1
fuzz_flags=(--sanitizer none)

# Writes a seed: a selector byte (see fuzz/src/lib.rs) and then the file's bytes.
seed_file() { # target selector file
    local out="$fuzz/corpus/$1/seed-$2-$(basename "$3")"
    { printf "\\x$2"; cat "$3"; } > "$out"
}

seed() { # target
    local dir="$fuzz/corpus/$1"
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        return
    fi
    mkdir -p "$dir"
    local f
    case "$1" in
    claude)
        for f in "$fixtures"/claude/*.jsonl "$fixtures"/claude/*.tail; do
            seed_file "$1" 80 "$f"; seed_file "$1" ff "$f"; seed_file "$1" 01 "$f"
        done ;;
    codex)
        for f in "$fixtures"/codex/*.jsonl "$fixtures"/codex/*.rest; do
            seed_file "$1" 80 "$f"; seed_file "$1" ff "$f"
        done ;;
    copilot_cli)
        for f in "$fixtures"/copilot/cli/*.jsonl; do
            seed_file "$1" 80 "$f"; seed_file "$1" ff "$f"
        done ;;
    copilot_vscode)
        for f in "$fixtures"/copilot/vscode/*.json; do
            seed_file "$1" 81 "$f"; seed_file "$1" ff "$f"
        done
        seed_file "$1" 80 "$fixtures/copilot/vscode/sess-b.jsonl"
        seed_file "$1" fe "$fixtures/copilot/vscode/sess-b.jsonl" ;;
    gemini)
        for f in "$fixtures"/gemini/*.jsonl "$fixtures"/gemini/*.rest; do
            seed_file "$1" 80 "$f"; seed_file "$1" fe "$f"
        done
        for f in "$fixtures"/gemini/*.json; do
            seed_file "$1" 81 "$f"; seed_file "$1" ff "$f"
        done ;;
    opencode)
        local storage="$fixtures/opencode/storage" message id
        for message in "$storage"/message/*/*.json; do
            id="$(basename "$message" .json)"
            {
                cat "$message"
                for f in "$storage/part/$id"/*.json; do
                    [ -e "$f" ] && { printf '\0'; cat "$f"; }
                done
            } > "$dir/seed-$id"
        done ;;
    cursor_csv)
        for f in "$fixtures"/cursor/*.csv; do
            cp "$f" "$dir/seed-$(basename "$f")"
        done ;;
    trailers)
        cp "$root/docs/trailers.md" "$dir/seed-trailers-doc"
        cat > "$dir/seed-two-commits" <<'MSG'
Add the parser

AI-Agent: claude-code
AI-Model: claude-sonnet-4-5 req=3 in=1200 out=340 cw=5000 cr=20000 cost=0.1234
AI-Cost-Estimate: 0.1234 USD
AI-Cost-Id: 0123456789abcdef
MSG
        printf '\0' >> "$dir/seed-two-commits"
        cat >> "$dir/seed-two-commits" <<'MSG'
Amend it

AI-Agent: codex
AI-Model: gpt-5 req=1 in=10 out=20 cost=unpriced
AI-Quantity: 2.5 credits
AI-Cost-Estimate: 0.0000 USD
AI-Cost-Replaces: 0123456789abcdef
AI-Cost-Id: fedcba9876543210
MSG
        ;;
    store_import)
        {
            printf '%s\n' '{"base":{"settled_upto":1}}' \
                '{"charge":{"seq":2,"event":"claude:msg_a","agent":"claude-code","session":"s1","model":"claude-sonnet-4-5-20250929","ts":"2026-06-01T12:00:00Z","tokens":{"input":1,"output":10,"cache_write_5m":0,"cache_write_1h":0,"cache_read":0},"requests":1,"branch":"main"}}' \
                '{"propose":{"drain":"0123456789abcdef","upto":2,"at":"2026-06-01T12:05:00Z"}}' \
                '{"settle":{"drain":"0123456789abcdef","upto":2}}'
            printf '\0'
            printf '1\tclaude:msg_s\t0\t5\t0\t0\t0\n2\tclaude:msg_a\t1\t10\t0\t0\t0\n'
            printf '\0'
            printf '{"since":"2026-05-01T00:00:00Z"}'
            printf '\0'
            printf '%s\n' '{"charge":{"seq":1,"event":"claude:msg_u","agent":"claude-code","session":"s2","model":"m","ts":"2026-06-01T12:00:00Z","tokens":{"output":7},"requests":1}}'
            printf '\0'
            printf '{"version":1,"files":{"/p/s.jsonl":{"offset":10,"len":10}}}'
        } > "$dir/seed-tally" ;;
    esac
}

cd "$fuzz"
summary=()
for target in "${targets[@]}"; do
    seed "$target"
    mkdir -p "artifacts/$target"
    before=$(ls "artifacts/$target" | wc -l)
    log="$(mktemp)"
    echo "== $target: ${seconds}s" >&2
    # -rss_limit_mb: a parser that holds a whole log in memory is a finding at 2 GB.
    cargo fuzz run "${fuzz_flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || true
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    after=$(ls "artifacts/$target" | wc -l)
    crashes=$((after - before))
    if grep -q -E 'ERROR: libFuzzer|panicked at|deadly signal' "$log"; then
        grep -E 'panicked at|ERROR: libFuzzer|Test unit written' "$log" | head -5 >&2 || true
    fi
    summary+=("$(printf '%-16s executions %-10s crashes %s' "$target" "$runs" "$crashes")")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
