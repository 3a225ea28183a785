#!/usr/bin/env bash
# Issue 12's scale run: a synthetic checkpoint shaped like Llama 3.2 1B (16 layers, hidden 2048,
# intermediate 8192, 32/8 heads, vocab 128256, tied embeddings, rope_scaling llama3, BF16, two
# shards, the real Llama 3 tokenizer.json; make_synthetic_checkpoint.py --preset llama3.2-1b,
# never committed), then info, eval, inspect, quantize (GPTQ W4 g128 on 16 x 512 calibration
# tokens), bench of the quantized model against its FP16 version, and the workbench opening it
# (quantbench-open-bench: time to the model tree, the GUI thread's longest stall during Inspect).
# Peak RSS of every command, also as a share of the checkpoint's size.
#   scripts/bench_llama32_1b.sh [OUT_DIR=/tmp/qb-llama32-1b] [BUILD=build]
# QB_SKIP="inspect quantize ..." skips steps; QB_THREADS (default 2).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-/tmp/qb-llama32-1b}"
build="${2:-$repo/build}"
cli="$build/app/cli/quantbench-cli"
threads="${QB_THREADS:-2}"
tok="$build/third_party/tokenizers/llama3_1"  # Llama 3.1/3.2 tokenizer.json: adds BOS 128000
[[ -x "$cli" ]] || { echo "error: $cli is not built" >&2; exit 1; }
[[ -f "$tok/tokenizer.json" ]] || { echo "error: $tok/tokenizer.json missing (scripts/fetch_tokenizers.sh)" >&2; exit 1; }
source "$repo/scripts/measure.sh"
skip() { [[ " ${QB_SKIP:-} " == *" $1 "* ]]; }

[[ -f "$out/config.json" ]] || python3 "$repo/scripts/make_synthetic_checkpoint.py" --preset llama3.2-1b --tokenizer-dir "$tok" "$out"
bytes=$(cat "$out"/*.safetensors | wc -c)
echo "checkpoint      $out: $bytes bytes in $(ls "$out"/*.safetensors | wc -l) shards"
echo "machine         $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads"

calib=(--calib "$repo/resources/data/tinystories/calib.txt" --calib-windows 16 --calib-ctx 512)
skip info || measure info "$bytes" "$cli" info --model "$out"
skip eval || measure eval "$bytes" "$cli" eval --model "$out" --text "$repo/resources/data/tinystories/eval.txt" \
    --max-windows 2 --ctx 512 --threads "$threads"
skip inspect || measure inspect-ns "$bytes" "$cli" inspect --model "$out" "${calib[@]}" --out "$out.inspect.h5" \
    --no-sensitivity --quiet --threads "$threads"
skip inspect || rm -f "$out.inspect.h5"
q="$out-gptq-w4g128"
if ! skip quantize; then
  rm -rf "$q"
  printf '{"default": {"method": "gptq", "bits": 4, "group_size": 128}}\n' > "$out.plan.json"
  measure quantize "$bytes" "$cli" quantize --model "$out" --plan "$out.plan.json" "${calib[@]}" --out "$q" --quiet \
      --threads "$threads"
fi
skip bench || measure bench "$bytes" "$cli" bench --model "$q" --threads "$threads"
if ! skip gui; then
  gui="$build/tests/ui/quantbench-open-bench"
  [[ -x "$gui" ]] || { echo "error: $gui is not built" >&2; exit 1; }
  QT_QPA_PLATFORM=offscreen measure gui "$bytes" "$gui" "$out" 2 512 900
fi
