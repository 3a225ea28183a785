#!/usr/bin/env bash
# OmniQuant LWC against RTN and GPTQ (issue 15): perplexity on eval.txt at context 512,
# calibration calib.txt WINDOWS x 512 (the issue's protocol: 128), seed 0, LWC with the
# defaults (20 epochs, AdamW lr 5e-3, a = b = 4). Prints a Markdown table and the seconds of
# every decoder layer.
#   scripts/omniquant_table.sh [BUILD_DIR] [OUT_DIR] [WINDOWS] [THREADS]
# THREADS (default 1): on a 2-core machine shared with other jobs, two OpenMP threads per
# training step spend most of their time waiting for each other at barriers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
out="${2:-$(mktemp -d /tmp/qb-omniquant.XXXXXX)}"
windows="${3:-128}"
threads="${4:-1}"
cli="$build/app/cli/quantbench-cli"
model="$here/resources/models/stories260K"
eval="$here/resources/data/tinystories/eval.txt"
calib="$here/resources/data/tinystories/calib.txt"
mkdir -p "$out"

# scheme | grid keys | reference for OmniQuant LWC (the issue's independent implementation)
schemes=(
  'W4 g32|"bits":4,"group_size":32|4.2148'
  'W3 g32|"bits":3,"group_size":32|5.4330'
  'W3 per-channel|"bits":3,"group_size":-1|6.0328'
  'W2 g32|"bits":2,"group_size":32|25.27'
)

ppl() {  # method, grid keys, tag -> perplexity; the quantize log goes to $out/<tag>.log
  printf '{"default": {"method": "%s", %s}}\n' "$1" "$2" > "$out/$3.json"
  rm -rf "$out/$3"
  "$cli" quantize --model "$model" --plan "$out/$3.json" --calib "$calib" --calib-windows "$windows" --calib-ctx 512 \
      --seed 0 --out "$out/$3" --eval "$eval" --threads "$threads" --json > "$out/$3.run.json" 2> "$out/$3.log"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.4f %.1f" % (r["perplexity"], r["seconds"]))' "$out/$3.run.json"
}

echo "| scheme | OmniQuant LWC | reference | deviation | GPTQ | RTN | OmniQuant quantize seconds |"
echo "|---|---|---|---|---|---|---|"
i=0
for s in "${schemes[@]}"; do
  IFS='|' read -r name grid ref <<<"$s"
  i=$((i+1))
  read -r omni secs <<<"$(ppl omniquant "$grid" "omni$i")"
  read -r gptq _ <<<"$(ppl gptq "$grid" "gptq$i")"
  read -r rtn _ <<<"$(ppl rtn "$grid" "rtn$i")"
  dev=$(python3 -c "print('%+.2f%%' % (100*($omni/$ref-1)))")
  echo "| $name | $omni | $ref | $dev | $gptq | $rtn | $secs |"
done
echo
echo "seconds per decoder layer (LWC training and folding, from the modules of quantize --json):"
for j in $(seq 1 $i); do
  python3 - "$out/omni$j.run.json" "${schemes[$((j-1))]%%|*}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); per = {}
for m in r["modules"]:
    layer = int(m["name"].split(".")[2]); per[layer] = per.get(layer, 0.0) + m["seconds"]
print("  %s: %s" % (sys.argv[2], " ".join("%.1f" % per[k] for k in sorted(per))))
PY
done
