#!/usr/bin/env bash
# The plan autopilot against every uniform plan between 3 and 5 bits per weight (issue 16's
# must-show table), measured, on the bundled model or any model folder.
#
#   scripts/autoplan_table.sh CLI OUT [MODEL] [LABEL]
#
# CLI: quantbench-cli; OUT: a work folder (made if missing). For every uniform plan — one
# method/bits/group for every module, method in gptq awq rtn, bits 3 4, group 32 64 128 and
# per row (-1) — the plan is quantized (calib.txt, the quantize defaults) and, when its bits per
# weight lies in [3, 5], `plan --auto --target-bytes <its linear bytes>` chooses a plan of at
# most the same size (costs measured once, recorded in OUT/costs.h5 and reused by every later
# target), which is quantized the same way. Both are evaluated on held-out text
# (resources/data/tinystories/heldout.txt: neither eval.txt nor calib.txt) against the FP model
# with `eval --baseline --ctx 128`.
#
# Writes OUT/table.md (the markdown table) and OUT/pareto.tsv (kind, label, bpw, ppl, kld: one
# row per uniform and per autopilot point) — the data of the Pareto plot — and, where g++, Qt 6
# Widgets and QCustomPlot are installed, OUT/pareto.png drawn by scripts/autoplan_plot.cpp
# (compiled here, run offscreen).
# Environment: AUTOPLAN_ARGS extra arguments for `plan --auto` (default below), THREADS.
set -euo pipefail
CLI=${1:?usage: autoplan_table.sh CLI OUT [MODEL] [LABEL]}
OUT=${2:?usage: autoplan_table.sh CLI OUT [MODEL] [LABEL]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${3:-$ROOT/resources/models/stories260K}
LABEL=${4:-$(basename "$MODEL")}
CALIB=$ROOT/resources/data/tinystories/calib.txt
HELDOUT=$ROOT/resources/data/tinystories/heldout.txt
AUTOPLAN_ARGS=${AUTOPLAN_ARGS:---methods gptq,awq,rtn --bits 2-8 --groups 32,64,128,-1 --calib-windows 16 --calib-ctx 128}
THREADS=${THREADS:-2}
command -v jq >/dev/null || { echo "autoplan_table.sh: needs jq" >&2; exit 1; }
mkdir -p "$OUT"

quantize() {  # plan folder -> prints "bytes bpw"
    rm -rf "$2"
    "$CLI" quantize --model "$MODEL" --plan "$1" --calib "$CALIB" --out "$2" --json --quiet --threads "$THREADS" \
        | jq -r '"\(.linear_bytes) \(.bits_per_weight)"'
}
evaluate() {  # folder -> prints "ppl kld"
    "$CLI" eval --model "$1" --text "$HELDOUT" --baseline "$MODEL" --ctx 128 --json --quiet --threads "$THREADS" \
        | jq -r '"\(.perplexity) \(.kld_mean)"'
}

fp=$("$CLI" eval --model "$MODEL" --text "$HELDOUT" --ctx 128 --json --quiet --threads "$THREADS" | jq -r '"\(.perplexity) \(.windows)"')
read -r fpPpl windows <<<"$fp"
printf 'kind\tlabel\tbpw\tppl\tkld\n' > "$OUT/pareto.tsv.tmp"
{
    echo "| uniform plan | bpw | ppl | KLD | autopilot bpw | ppl | KLD | autopilot at least as good |"
    echo "|---|---|---|---|---|---|---|---|"
} > "$OUT/table.md.tmp"
wins=0; ties=0; losses=0
for method in gptq awq rtn; do
    for bits in 3 4; do
        for group in 32 64 128 -1; do
            name=$method-w$bits-g${group/-1/row}
            echo "{\"default\": {\"method\": \"$method\", \"bits\": $bits, \"group_size\": $group}}" > "$OUT/$name.json"
            read -r bytes bpw <<<"$(quantize "$OUT/$name.json" "$OUT/$name")"
            inRange=$(awk -v b="$bpw" 'BEGIN { print (b >= 3 && b <= 5) ? 1 : 0 }')
            if [ "$inRange" != 1 ]; then
                echo "$name: $bpw bpw, outside [3, 5]" >&2; rm -rf "$OUT/$name"; continue
            fi
            read -r ppl kld <<<"$(evaluate "$OUT/$name")"
            "$CLI" plan --auto --model "$MODEL" --calib "$CALIB" --target-bytes "$bytes" $AUTOPLAN_ARGS \
                --session "$OUT/costs.h5" --out "$OUT/auto-$name.json" --json --quiet --threads "$THREADS" > "$OUT/auto-$name.plan.json"
            read -r abytes abpw <<<"$(quantize "$OUT/auto-$name.json" "$OUT/auto-$name")"
            read -r appl akld <<<"$(evaluate "$OUT/auto-$name")"
            [ "$abytes" -le "$bytes" ] || { echo "$name: the autopilot's plan is larger ($abytes > $bytes bytes)" >&2; exit 1; }
            verdict=$(awk -v p="$ppl" -v k="$kld" -v ap="$appl" -v ak="$akld" 'BEGIN {
                if (ap <= p && ak <= k) print (ap < 0.99 * p && ak < 0.95 * k) ? "yes, clearly" : "yes";
                else if (ap <= p || ak <= k) print "no (" (ap <= p ? "KLD" : "ppl") " worse)"; else print "no" }')
            case $verdict in yes,*) wins=$((wins + 1)) ;; yes) ties=$((ties + 1)) ;; *) losses=$((losses + 1)) ;; esac
            printf '| %s w%s %s | %.3f | %.3f | %.4f | %.3f | %.3f | %.4f | %s |\n' "$method" "$bits" "$([ "$group" = -1 ] && echo 'per row' || echo "g$group")" \
                "$bpw" "$ppl" "$kld" "$abpw" "$appl" "$akld" "$verdict" >> "$OUT/table.md.tmp"
            printf 'uniform\t%s\t%s\t%s\t%s\nautopilot\t%s\t%s\t%s\t%s\n' "$name" "$bpw" "$ppl" "$kld" "auto-$name" "$abpw" "$appl" "$akld" \
                >> "$OUT/pareto.tsv.tmp"
            rm -rf "$OUT/$name" "$OUT/auto-$name"
            echo "$name: $bpw bpw ppl $ppl kld $kld | autopilot $abpw bpw ppl $appl kld $akld: $verdict" >&2
        done
    done
done
{
    echo
    echo "$LABEL; FP perplexity $fpPpl on heldout.txt ($windows windows of 128 tokens). Autopilot at least as good on both:"
    echo "$((wins + ties)) of $((wins + ties + losses)) ($wins clearly: perplexity 1 % and KLD 5 % lower); not: $losses."
    echo "Autopilot: plan --auto --target-bytes <the uniform plan's bytes> $AUTOPLAN_ARGS."
} >> "$OUT/table.md.tmp"
mv "$OUT/table.md.tmp" "$OUT/table.md"
mv "$OUT/pareto.tsv.tmp" "$OUT/pareto.tsv"
cat "$OUT/table.md"
if pkg-config --exists Qt6Widgets Qt6PrintSupport 2>/dev/null && command -v g++ >/dev/null; then
    g++ -std=c++20 -O1 -fPIC "$ROOT/scripts/autoplan_plot.cpp" -o "$OUT/autoplan_plot" \
        $(pkg-config --cflags --libs Qt6Widgets Qt6PrintSupport) -lQCustomPlotQt6
    "$OUT/autoplan_plot" "$OUT/pareto.tsv" "$OUT/pareto.png" "$LABEL: uniform plans and the autopilot, measured on heldout.txt" 2>/dev/null
    echo "plot: $OUT/pareto.png" >&2
fi
