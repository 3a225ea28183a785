#!/usr/bin/env bash
# Perplexity table of issue #3: eval.txt at context 512, calibration calib.txt 128 x 512, seed 0.
# Prints a Markdown table (method, bits, group, perplexity, reference, deviation, bits/weight, seconds).
#   scripts/quant_table.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
out="${2:-$(mktemp -d /tmp/qb-table.XXXXXX)}"
cli="$build/app/cli/quantbench-cli"
model="$here/resources/models/stories260K"
eval="$here/resources/data/tinystories/eval.txt"
calib="$here/resources/data/tinystories/calib.txt"
mkdir -p "$out"

# name | plan default scheme | reference perplexity (independent implementations; "-" if none)
configs=(
  'RTN W4 g32|{"method":"rtn","bits":4,"group_size":32}|4.2448'
  'RTN W4 per-channel|{"method":"rtn","bits":4,"group_size":-1}|4.3263'
  'RTN W3 g32|{"method":"rtn","bits":3,"group_size":32}|6.8307'
  'GPTQ W4 g32|{"method":"gptq","bits":4,"group_size":32}|4.1509'
  'GPTQ W4 g32 act-order|{"method":"gptq","bits":4,"group_size":32,"act_order":true}|4.1258'
  'GPTQ W4 per-channel|{"method":"gptq","bits":4,"group_size":-1}|4.2149'
  'GPTQ W3 g32|{"method":"gptq","bits":3,"group_size":32}|5.4451'
  'GPTQ W2 g32|{"method":"gptq","bits":2,"group_size":32}|110.1'
  'AWQ W4 g32|{"method":"awq","bits":4,"group_size":32}|4.1589'
  'AWQ W4 per-channel|{"method":"awq","bits":4,"group_size":-1}|4.2475'
  'AWQ W3 g32|{"method":"awq","bits":3,"group_size":32}|-'
  'RTN W5 g32|{"method":"rtn","bits":5,"group_size":32}|-'
  'RTN W6 g32|{"method":"rtn","bits":6,"group_size":32}|-'
  'RTN W7 g32|{"method":"rtn","bits":7,"group_size":32}|-'
  'GPTQ W5 g32|{"method":"gptq","bits":5,"group_size":32}|-'
  'GPTQ W6 g32|{"method":"gptq","bits":6,"group_size":32}|-'
  'GPTQ W7 g32|{"method":"gptq","bits":7,"group_size":32}|-'
  'W8A8 (plain)|{"method":"w8a8"}|-'
  'W8A6 (simulated)|{"method":"w8a8","act_bits":6}|-'
  'W8A4 (simulated)|{"method":"w8a8","act_bits":4}|-'
  'SmoothQuant W8A6 (simulated, alpha 0.5)|{"method":"smoothquant","alpha":0.5,"act_bits":6}|-'
  'SmoothQuant W8A4 (simulated, alpha 0.5)|{"method":"smoothquant","alpha":0.5,"act_bits":4}|-'
  'SmoothQuant W8A8 (alpha 0.5)|{"method":"smoothquant","alpha":0.5}|-'
  'LLM.int8() (threshold 6.0)|{"method":"llm_int8","threshold":6.0}|-'
)

fp=$("$cli" eval --model "$model" --text "$eval" --ctx 512 --json --quiet | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["perplexity"])')
echo "| method | perplexity | reference | deviation | bits/weight (linears) | quantize seconds |"
echo "|---|---|---|---|---|---|"
echo "| FP32 | $fp | 3.9153 | $(python3 -c "print('%+.2f%%' % (100*($fp/3.9153-1)))") | 32 | - |"
i=0
for c in "${configs[@]}"; do
  IFS='|' read -r name scheme ref <<<"$c"
  i=$((i+1))
  printf '{"default": %s}\n' "$scheme" > "$out/plan$i.json"
  rm -rf "$out/model$i"
  "$cli" quantize --model "$model" --plan "$out/plan$i.json" --calib "$calib" --calib-windows 128 --calib-ctx 512 \
      --seed 0 --out "$out/model$i" --eval "$eval" --json --quiet > "$out/run$i.json"
  python3 - "$out/run$i.json" "$name" "$ref" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); name, ref = sys.argv[2], sys.argv[3]
ppl = r["perplexity"]
dev = "-" if ref == "-" else "%+.2f%%" % (100 * (ppl / float(ref) - 1))
print("| %s | %.4f | %s | %s | %.3f | %.1f |" % (name, ppl, ref, dev, r["bits_per_weight"], r["seconds"]))
PY
done
