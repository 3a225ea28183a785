#!/usr/bin/env bash
# Issue 17's memory bounds: checkpoints with the widths of Llama 3.1 70B (hidden 8192,
# intermediate 28672, 64/8 heads, vocab 128256, untied, BF16), written by
# make_synthetic_checkpoint.py --preset llama3-70b, never committed, removed at the end:
#   FULL   all 80 layers, 30 shards of ≤ 5 GB, 141 GB apparent; only layers 0 and 1 (and the
#          embedding, norms, lm_head) hold random values, layers 2–79 are holes of sparse files
#          (read as zeros), 7.6 GB of disk
#   TWO    the same widths with num_hidden_layers 2 (the same values as FULL's filled tensors)
# then, under /usr/bin/time -v with /proc/PID/status sampled once a second (RssAnon, RssFile):
#   info FULL, info TWO; eval FULL and TWO (1 window of 64 tokens: the same perplexity, as the
#   zero layers add nothing); inspect --no-sensitivity TWO (4 x 512 calibration tokens) and FULL
#   (1 x 64); quantize TWO RTN W4 g128 (4 x 512); inspect TWO with sensitivity (1 x 256).
#   scripts/bench_70b_layers.sh [DIR=/tmp/qb-70b-layers] [BUILD=build]
# QB_SKIP="info eval eval-full inspect inspect-full quantize sensitivity" skips steps; QB_THREADS (default 2); QB_KEEP=1 keeps
# the checkpoints.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/qb-70b-layers}"
build="${2:-$repo/build}"
cli="$build/app/cli/quantbench-cli"
threads="${QB_THREADS:-2}"
tok="$build/third_party/tokenizers/llama3_1"
[[ -x "$cli" ]] || { echo "error: $cli is not built" >&2; exit 1; }
[[ -f "$tok/tokenizer.json" ]] || { echo "error: $tok/tokenizer.json missing (scripts/fetch_tokenizers.sh)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
skip() { [[ " ${QB_SKIP:-} " == *" $1 "* ]]; }
full="$dir/l3-70b" two="$dir/l3-70b-2l"
mkdir -p "$dir"
[[ "$(realpath "$dir")" != "$repo"* ]] || { echo "error: $dir lies inside the repository" >&2; exit 1; }
# Only what this script writes is removed (the folder may be shared).
if [[ "${QB_KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$full" "$two" "$dir/q-two" "$dir/q-two.quantize-state" "$dir/two-ns.h5" "$dir/full-ns.h5" "$dir/two.h5" \
        "$dir/w4g128.json" "$dir"/{info,eval,inspect-ns,inspect,quantize}-{full,two}.rss' EXIT
fi

gen() { python3 "$repo/scripts/make_synthetic_checkpoint.py" --preset llama3-70b --tokenizer-dir "$tok" "$@"; }
[[ -f "$full/config.json" ]] || gen "$full" --fill-layers 2
[[ -f "$two/config.json" ]] || gen "$two" --layers 2
echo "machine         $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads; load $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL COMMAND...: peak RSS (time -v) and the peaks of RssAnon and RssFile (sampled).
run() {
    local label="$1"; shift
    local log out samples; log="$(mktemp)"; out="$(mktemp)"; samples="$dir/$label.rss"
    echo; echo "\$ $*"
    /usr/bin/time -v "$@" >"$out" 2>"$log" &
    local tpid=$! pid="" t=0
    while [[ -z "$pid" ]] && kill -0 "$tpid" 2>/dev/null; do pid=$(pgrep -P "$tpid" || true); sleep 0.1; done
    : >"$samples"
    while [[ -n "$pid" ]] && [[ -r /proc/$pid/status ]]; do
        awk -v t="$t" '/^RssAnon|^RssFile/ {v[$1]=$2} END {print t, v["RssAnon:"], v["RssFile:"]}' "/proc/$pid/status" >>"$samples" 2>/dev/null || true
        sleep 1; t=$((t + 1))
    done
    wait "$tpid" || true
    sed 's/^/    /' "$out"
    grep -v -E '^\s' "$log" | grep -v '^Command' | sed 's/^/    stderr: /' || true
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    printf '%-16s peak RSS %s kB (%.2f GB), sampled peaks RssAnon %s kB, RssFile %s kB; wall %s; load %s\n' "$label" "$rss" \
        "$(echo "$rss * 1024 / 1000000000" | bc -l)" "$(sort -k2 -n "$samples" | tail -1 | cut -d' ' -f2)" \
        "$(sort -k3 -n "$samples" | tail -1 | cut -d' ' -f3)" "$wall" "$(cut -d' ' -f1-3 /proc/loadavg)"
    rm -f "$log" "$out"
}

text="$repo/resources/data/tinystories/eval.txt"
calib="$repo/resources/data/tinystories/calib.txt"
skip info || { run info-full "$cli" info --model "$full"; run info-two "$cli" info --model "$two"; }
skip eval || run eval-two "$cli" eval --model "$two" --text "$text" --max-windows 1 --ctx 64 --threads "$threads"
skip eval-full || run eval-full "$cli" eval --model "$full" --text "$text" --max-windows 1 --ctx 64 --threads "$threads"
skip inspect || run inspect-ns-two "$cli" inspect --model "$two" --calib "$calib" --calib-windows 4 --calib-ctx 512 \
    --no-sensitivity --quiet --out "$dir/two-ns.h5" --threads "$threads"
skip inspect-full || run inspect-ns-full "$cli" inspect --model "$full" --calib "$calib" --calib-windows 1 --calib-ctx 64 \
    --no-sensitivity --quiet --out "$dir/full-ns.h5" --threads "$threads"
if ! skip quantize; then
    printf '{"default": {"method": "rtn", "bits": 4, "group_size": 128}}\n' >"$dir/w4g128.json"
    rm -rf "$dir/q-two"
    run quantize-two "$cli" quantize --model "$two" --plan "$dir/w4g128.json" --calib "$calib" --calib-windows 4 \
        --calib-ctx 512 --out "$dir/q-two" --threads "$threads"
    echo "quantized       $(cat "$dir"/q-two/*.safetensors | wc -c) bytes of safetensors"
fi
skip sensitivity || run inspect-two "$cli" inspect --model "$two" --calib "$calib" --calib-windows 1 --calib-ctx 256 \
    --quiet --out "$dir/two.h5" --threads "$threads"
