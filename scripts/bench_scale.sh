#!/usr/bin/env bash
# Scale check: generate a 2.2 GB synthetic TinyLlama-shaped checkpoint (F16, 5 shards) and
# measure peak resident memory of `quantbench-cli info` and of a one-window `eval`.
#   scripts/bench_scale.sh [OUT_DIR=/tmp/qb-synth-1b] [CLI=build/app/cli/quantbench-cli]
# Extra arguments for eval (e.g. --threads 2) go in QB_EVAL_ARGS.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-/tmp/qb-synth-1b}"
cli="${2:-${QB_CLI:-$repo/build/app/cli/quantbench-cli}}"
text="$repo/resources/data/tinystories/eval.txt"
[[ -x "$cli" ]] || { echo "error: $cli is not built (cmake --build build --target quantbench-cli)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

python3 "$repo/scripts/make_synthetic_checkpoint.py" "$out"
bytes=$(cat "$out"/*.safetensors | wc -c)
echo
echo "checkpoint      $out"
echo "size on disk    $bytes bytes ($(du -sh "$out" | cut -f1)), $(ls "$out"/*.safetensors | wc -l) shards"

measure() {  # label, command...
    local label="$1"; shift
    local log; log="$(mktemp)"
    echo
    echo "\$ $*"
    /usr/bin/time -v "$@" 2>"$log" | sed 's/^/    /'
    grep -v -E '^\s' "$log" | grep -v '^Command' | sed 's/^/    stderr: /' || true
    local rss_kb wall
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    printf '%-6s peak RSS %s kB (%.2f GB, %.0f%% of the checkpoint), wall %s\n' "$label" "$rss_kb" \
        "$(echo "$rss_kb * 1024 / 1000000000" | bc -l)" "$(echo "$rss_kb * 1024 * 100 / $bytes" | bc -l)" "$wall"
    rm -f "$log"
}

measure info "$cli" info --model "$out"
# shellcheck disable=SC2086
measure eval "$cli" eval --model "$out" --text "$text" --max-windows 1 --ctx 512 ${QB_EVAL_ARGS:-}
