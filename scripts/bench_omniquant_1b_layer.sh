#!/usr/bin/env bash
# OmniQuant's cost on one decoder layer of the Llama 3.2 1B shape (issue 15): a one-layer
# synthetic checkpoint (make_synthetic_checkpoint.py --preset llama3.2-1b --layers 1, never
# committed), quantized with omniquant W4 g128 (LWC) and W4A4 per channel (LWC + LET) for
# EPOCHS epochs over WINDOWS calibration windows of 512 tokens, one window per AdamW step.
# Prints the "lwc training" stage (the layer's training and the float layer's forward) per step
# and what the issue's protocol (20 epochs x 128 windows) and a 16-layer model would take.
#   scripts/bench_omniquant_1b_layer.sh BUILD_DIR OUT_DIR [WINDOWS=8] [EPOCHS=1] [THREADS=2]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?build dir}"
out="${2:?output dir}"
windows="${3:-8}"
epochs="${4:-1}"
threads="${5:-2}"
cli="$build/app/cli/quantbench-cli"
tok="$build/third_party/tokenizers/llama3_1"
[[ -x "$cli" ]] || { echo "error: $cli is not built" >&2; exit 1; }
[[ -f "$tok/tokenizer.json" ]] || { echo "error: $tok/tokenizer.json missing (scripts/fetch_tokenizers.sh)" >&2; exit 1; }
mkdir -p "$out"
model="$out/llama32-1b-1layer"
[[ -f "$model/config.json" ]] || python3 "$here/scripts/make_synthetic_checkpoint.py" --preset llama3.2-1b --layers 1 \
    --tokenizer-dir "$tok" "$model" > /dev/null
echo "machine  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads"
echo "protocol $windows windows x 512 tokens, $epochs epoch(s): $((windows * epochs)) steps"
for s in 'LWC W4 g128|"bits": 4, "group_size": 128' 'LWC+LET W4A4|"bits": 4, "group_size": -1, "act_bits": 4'; do
  IFS='|' read -r label keys <<< "$s"
  tag=$(echo "$label" | tr -c 'A-Za-z0-9\n' '-')
  printf '{"default": {"method": "omniquant", %s, "epochs": %d}}\n' "$keys" "$epochs" > "$out/$tag.json"
  rm -rf "$out/$tag"
  "$cli" quantize --model "$model" --plan "$out/$tag.json" --calib "$here/resources/data/tinystories/calib.txt" \
      --calib-windows "$windows" --calib-ctx 512 --seed 0 --out "$out/$tag" --threads "$threads" --json \
      > "$out/$tag.run.json" 2> "$out/$tag.log"
  python3 - "$out/$tag.run.json" "$label" "$((windows * epochs))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
steps = int(sys.argv[3])
train = r["stage_seconds"]["lwc training"]
per_step = train / steps
layer = per_step * 20 * 128
print(f"{sys.argv[2]:14s} training {train:8.1f} s = {per_step:6.2f} s/step; whole run {r['seconds']:.1f} s; "
      f"at 20 epochs x 128 windows {layer / 3600:.2f} h per layer, {16 * layer / 3600:.1f} h for 16 layers")
PY
done
