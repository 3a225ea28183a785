#!/usr/bin/env bash
# Peak memory of one `quantize` run, sampled: /usr/bin/time -v's maximum RSS, and RssAnon /
# RssFile from /proc/PID/status once a second (their maxima, and a line every 10 s so the
# growth from layer to layer shows).
#
#   scripts/bench_quantize_memory.sh CLI MODEL_DIR OUT_DIR [quantize options…]
#   e.g. scripts/bench_quantize_memory.sh build/app/cli/quantbench-cli /tmp/l3-8b-8l /tmp/q8 \
#          --plan plan.json --calib resources/data/tinystories/calib.txt --calib-windows 4 --calib-ctx 128
#
# OUT_DIR (and its .quantize-state) must not exist; it is removed afterwards.
set -euo pipefail
cli=$1 model=$2 out=$3
shift 3
log=$(mktemp)
/usr/bin/time -v "$cli" quantize --model "$model" --out "$out" --quiet "$@" > /dev/null 2> "$log" &
tpid=$!
pid=
for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2; pid=$(pgrep -P "$tpid" | head -1 || true); [[ -n "$pid" ]] && break; done
anon=0 file=0 t=0
while kill -0 "$tpid" 2>/dev/null; do
    if [[ -n "$pid" && -r /proc/$pid/status ]]; then
        a=$(awk '/^RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
        f=$(awk '/^RssFile/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
        (( ${a:-0} > anon )) && anon=$a
        (( ${f:-0} > file )) && file=$f
        (( t % 10 == 0 )) && awk -v t="$t" -v a="${a:-0}" -v f="${f:-0}" 'BEGIN { printf "  t=%4ds RssAnon %6.2f GB  RssFile %6.2f GB\n", t, a / 1e6, f / 1e6 }'
    fi
    sleep 1
    t=$((t + 1))
done
wait "$tpid" || { cat "$log"; exit 1; }
grep -E "Maximum resident|Elapsed|User time|System time" "$log" | sed 's/^\s*/  /'
awk -v a="$anon" -v f="$file" 'BEGIN { printf "  RssAnon peak %.2f GB, RssFile peak %.2f GB (10^9 bytes)\n", a / 1e6, f / 1e6 }'
du -sh "$out" | sed 's/^/  written /'
rm -rf "$out" "$out.quantize-state" "$log"
