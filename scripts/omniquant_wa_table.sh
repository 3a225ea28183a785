#!/usr/bin/env bash
# OmniQuant's weight-activation schemes (LWC + LET, issue 15) against RTN, GPTQ, AWQ and
# SmoothQuant at the same widths, on a model and, when given, its outlier-injected equivalent
# (scripts/inject_outliers.py). Perplexity on eval.txt at context 512; calibration calib.txt
# WINDOWS x 512 (the issue's protocol: 128), seed 0; every weight grid per output channel
# (group_size -1), activations per token (asymmetric, simulated). Prints one Markdown table.
#   scripts/omniquant_wa_table.sh BUILD_DIR OUT_DIR [WINDOWS] [THREADS] [MODEL_DIR...]
# Our SmoothQuant keeps its weights in int8 (W8A4 in the W4A4 row: more bits than the others);
# "SmoothQuant scales + RTN" is LET's initialisation without training (omniquant, lwc off,
# epochs 0): SmoothQuant's scales (alpha 0.5; also between v and o), then plain min-max W4.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?build dir}"
out="${2:?output dir}"
windows="${3:-128}"
threads="${4:-2}"
shift $(( $# < 4 ? $# : 4 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$here/resources/models/stories260K")
cli="$build/app/cli/quantbench-cli"
eval="$here/resources/data/tinystories/eval.txt"
calib="$here/resources/data/tinystories/calib.txt"
mkdir -p "$out"

ppl() {  # model, tag, plan default object -> perplexity; the quantize log goes to $out/<tag>.log
  printf '{"default": {%s}}\n' "$3" > "$out/$2.json"
  rm -rf "$out/$2"
  "$cli" quantize --model "$1" --plan "$out/$2.json" --calib "$calib" --calib-windows "$windows" --calib-ctx 512 \
      --seed 0 --out "$out/$2" --eval "$eval" --threads "$threads" --json > "$out/$2.run.json" 2> "$out/$2.log"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.4f" % r["perplexity"])' "$out/$2.run.json"
}

# scheme | weight bits | activation bits
schemes=('W4A4|4|4' 'W6A6|6|6' 'W4A8|4|8')
echo "| model | scheme | RTN | GPTQ | AWQ | SmoothQuant (W8) | SmoothQuant scales + RTN | OmniQuant LWC | OmniQuant LWC+LET |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  name=$(basename "$m")
  for s in "${schemes[@]}"; do
    IFS='|' read -r label w a <<< "$s"
    grid="\"bits\": $w, \"group_size\": -1, \"act_bits\": $a"
    t="$name-$label"
    rtn=$(ppl "$m" "$t-rtn" "\"method\": \"rtn\", $grid")
    gptq=$(ppl "$m" "$t-gptq" "\"method\": \"gptq\", $grid")
    awq=$(ppl "$m" "$t-awq" "\"method\": \"awq\", $grid")
    sq=$(ppl "$m" "$t-sq" "\"method\": \"smoothquant\", \"act_bits\": $a")
    sqrtn=$(ppl "$m" "$t-sqrtn" "\"method\": \"omniquant\", $grid, \"lwc\": false, \"epochs\": 0")
    lwc=$(ppl "$m" "$t-lwc" "\"method\": \"omniquant\", $grid, \"let\": false")
    let=$(ppl "$m" "$t-let" "\"method\": \"omniquant\", $grid")
    echo "| $name | $label | $rtn | $gptq | $awq | $sq | $sqrtn | $lwc | $let |"
  done
done
