#!/usr/bin/env bash
# Scale check: generate a 2.2 GB synthetic TinyLlama-shaped checkpoint (F16, 5 shards) and
# measure peak resident memory of `quantbench-cli info`, a one-window `eval` and `inspect`
# (without and with the sensitivity ranking) on 4 calibration windows of 512 tokens.
#   scripts/bench_scale.sh [OUT_DIR=/tmp/qb-synth-1b] [CLI=build/app/cli/quantbench-cli]
# Extra arguments for eval (e.g. --threads 2) go in QB_EVAL_ARGS.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-/tmp/qb-synth-1b}"
cli="${2:-${QB_CLI:-$repo/build/app/cli/quantbench-cli}}"
text="$repo/resources/data/tinystories/eval.txt"
[[ -x "$cli" ]] || { echo "error: $cli is not built (cmake --build build --target quantbench-cli)" >&2; exit 1; }
source "$repo/scripts/measure.sh"

python3 "$repo/scripts/make_synthetic_checkpoint.py" "$out"
bytes=$(cat "$out"/*.safetensors | wc -c)
echo
echo "checkpoint      $out"
echo "size on disk    $bytes bytes ($(du -sh "$out" | cut -f1)), $(ls "$out"/*.safetensors | wc -l) shards"

measure info "$bytes" "$cli" info --model "$out"
# shellcheck disable=SC2086
measure eval "$bytes" "$cli" eval --model "$out" --text "$text" --max-windows 1 --ctx 512 ${QB_EVAL_ARGS:-}
# shellcheck disable=SC2086
measure inspect-ns "$bytes" "$cli" inspect --model "$out" --calib "$repo/resources/data/tinystories/calib.txt" \
    --calib-windows 4 --calib-ctx 512 --out "$out.inspect.h5" --no-sensitivity --quiet ${QB_EVAL_ARGS:-}
# shellcheck disable=SC2086
measure inspect "$bytes" "$cli" inspect --model "$out" --calib "$repo/resources/data/tinystories/calib.txt" \
    --calib-windows 4 --calib-ctx 512 --out "$out.inspect.h5" ${QB_EVAL_ARGS:-}
echo "session file    $(stat -c %s "$out.inspect.h5") bytes"
rm -f "$out.inspect.h5"
