#!/usr/bin/env bash
# Loads quantbench's GGUF exports in llama.cpp's own C++ code (llama-perplexity) and puts its
# perplexity next to quantbench's. Run by hand, never in CI (CI has no llama.cpp); quantbench
# does not build or ship llama.cpp: build llama-perplexity from a llama.cpp checkout yourself
# (CPU only is enough, e.g. cmake -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF
# -DLLAMA_BUILD_SERVER=OFF, then cmake --build B --target llama-perplexity).
#
#   scripts/check_llama_cpp.sh LLAMA_PERPLEXITY QUANTBENCH_CLI [WORKDIR]
#
# Environment: MODEL (resources/models/stories260K), TEXT (resources/data/tinystories/eval.txt),
# CTX (512), THREADS (2), TYPES ("F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q6_K"),
# PLAN_JSON (GPTQ W4 g32) and CKPT_TYPE (Q4_1) for the quantized checkpoint's row, CALIB
# (resources/data/tinystories/calib.txt); SKIP_CKPT=1 leaves that row out. LLAMA_FULL ("all"):
# the rows (types, or ckpt-TYPE) whose llama.cpp run covers the whole text (about 3 minutes each
# on two shared cores for the bundled model); the first type's row always does.
#
# For each type: export the model (the checkpoint for the last row), then
#  - llama.cpp: llama-perplexity -m FILE -f TEXT -c CTX -b CTX over the whole text, its own
#    protocol (the file as one token stream, BOS first; chunks of CTX with BOS put at each
#    chunk's start; only the second half of each chunk scored);
#  - quantbench: eval --ctx CTX on the source model (or the checkpoint), its protocol (BOS per
#    story, non-overlapping windows, every prediction scored);
#  - quantbench on the file's own weights: check-export --dump, then eval on that folder
#    (scripts/llama_cpp_compare.py hf-from-dump), same protocol as the previous column;
#  - the same tokens in both: the text with its <|endoftext|> lines blanked, first chunk only:
#    llama-perplexity --chunks 1 and quantbench's eval --save-logits on the file's weights,
#    scored on the same positions (CTX/2 .. CTX-2). This column compares numerics.
# The first type's llama.cpp run also writes its token ids (--kl-divergence-base), compared with
# quantbench-cli tokenize on the same text (exit 1 when they differ).
# Needs python3 (no numpy). Exit 1 when llama.cpp fails to load or run a file.
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
LLAMA_PPL=$(readlink -f "$1")
QB=$(readlink -f "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${3:-$(mktemp -d /tmp/qb-llama-cpp.XXXXXX)}
mkdir -p "$WORK"
MODEL=${MODEL:-$ROOT/resources/models/stories260K}
TEXT=${TEXT:-$ROOT/resources/data/tinystories/eval.txt}
CALIB=${CALIB:-$ROOT/resources/data/tinystories/calib.txt}
CTX=${CTX:-512}
THREADS=${THREADS:-2}
TYPES=${TYPES:-"F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q6_K"}
PLAN_JSON=${PLAN_JSON:-'{"default":{"method":"gptq","bits":4,"group_size":32}}'}
CKPT_TYPE=${CKPT_TYPE:-Q4_1}
LLAMA_FULL=${LLAMA_FULL:-all}
HELPER="python3 $ROOT/scripts/llama_cpp_compare.py"
# --no-warmup (skips one throw-away evaluation) exists in llama.cpp from spring 2025 on.
NO_WARMUP=()
"$LLAMA_PPL" --help 2>&1 | grep -q -- --no-warmup && NO_WARMUP=(--no-warmup)
FIRST=$((CTX / 2))

sed 's/^<|endoftext|>$//' "$TEXT" > "$WORK/text-nosep.txt"

qb_ppl() {  # MODEL_DIR TEXT [extra eval args...] -> perplexity
    local m=$1 t=$2
    shift 2
    "$QB" eval --model "$m" --text "$t" --ctx "$CTX" --threads "$THREADS" --quiet --json "$@" |
        python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["perplexity"])'
}

llama_ppl() {  # GGUF TEXT LOG [extra args...] -> "ppl chunks"
    local f=$1 t=$2 log=$3
    shift 3
    if ! "$LLAMA_PPL" -m "$f" -f "$t" -c "$CTX" -b "$CTX" -t "$THREADS" "${NO_WARMUP[@]}" "$@" > "$log" 2>&1; then
        echo "llama-perplexity failed on $f (log: $log):" >&2
        tail -20 "$log" >&2
        return 1
    fi
    local ppl chunks
    ppl=$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$log")
    chunks=$(sed -n 's/.*calculating perplexity over \([0-9]*\) chunks.*/\1/p' "$log")
    if [ -z "$ppl" ]; then
        echo "llama-perplexity printed no estimate for $f (log: $log)" >&2
        return 1
    fi
    echo "$ppl $chunks"
}

row() {  # LABEL GGUF SOURCE_DIR
    local label=$1 f=$2 src=$3 dir=$WORK/$1
    mkdir -p "$dir"
    local bytes full chunk1 qb_src qb_file qb_chunk1
    bytes=$(stat -c %s "$f")
    if [ "$label" = "$TOKENS_ROW" ]; then
        full=$(llama_ppl "$f" "$TEXT" "$dir/llama-full.log" --kl-divergence-base "$dir/base.bin")
        "$QB" tokenize --model "$src" --text "$TEXT" --json > "$dir/ids.json"
        bos=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("bos_token_id", 1))' "$src/config.json")
        $HELPER tokens-check "$dir/base.bin" "$dir/ids.json" "$bos" > "$WORK/tokens-check.txt" || TOKENS_FAILED=1
        rm -f "$dir/base.bin"
    elif [ "$LLAMA_FULL" = all ] || [[ " $LLAMA_FULL " == *" $label "* ]]; then
        full=$(llama_ppl "$f" "$TEXT" "$dir/llama-full.log")
    else
        full="not run"
    fi
    chunk1=$(llama_ppl "$f" "$WORK/text-nosep.txt" "$dir/llama-chunk1.log" --chunks 1)
    "$QB" check-export "$f" --model "$src" --dump "$dir/dump.safetensors" --threads "$THREADS" > "$dir/check.log"
    $HELPER hf-from-dump "$dir/dump.safetensors" "$MODEL" "$dir/hf"
    qb_src=${QB_SRC_CACHE[$src]:-}
    if [ -z "$qb_src" ]; then
        qb_src=$(qb_ppl "$src" "$TEXT")
        QB_SRC_CACHE[$src]=$qb_src
    fi
    qb_file=$(qb_ppl "$dir/hf" "$TEXT")
    "$QB" eval --model "$dir/hf" --text "$WORK/text-nosep.txt" --ctx "$CTX" --threads "$THREADS" --quiet \
        --max-windows 1 --save-logits "$dir/chunk1-logits.safetensors" > /dev/null
    qb_chunk1=$($HELPER chunk-ppl "$dir/chunk1-logits.safetensors" "$FIRST" 1 | cut -d' ' -f1)
    [ "$full" = "not run" ] || full="${full% *} (${full#* } chunks)"
    printf '| %s | %s | %s | %s | %s | %s / %.4f |\n' "$label" "$bytes" "$full" \
        "$qb_src" "$qb_file" "${chunk1% *}" "$qb_chunk1"
}

declare -A QB_SRC_CACHE
TOKENS_ROW=${TYPES%% *}   # the first type's run also compares the token streams
TOKENS_FAILED=0
TABLE=$WORK/table.md
{
    echo "| export | bytes | llama.cpp PPL, its protocol | quantbench PPL, source or checkpoint | quantbench PPL, the file's weights | chunk 1, same tokens: llama.cpp / quantbench |"
    echo "|---|---|---|---|---|---|"
} > "$TABLE"

for t in $TYPES; do
    "$QB" export --model "$MODEL" --format gguf --type "$t" --out "$WORK/model-$t.gguf" --threads "$THREADS" \
        > "$WORK/export-$t.log" 2>&1
    row "$t" "$WORK/model-$t.gguf" "$MODEL" >> "$TABLE"
    tail -1 "$TABLE"
done

if [ "${SKIP_CKPT:-0}" != 1 ]; then
    echo "$PLAN_JSON" > "$WORK/plan.json"
    rm -rf "$WORK/ckpt"
    "$QB" quantize --model "$MODEL" --plan "$WORK/plan.json" --calib "$CALIB" --out "$WORK/ckpt" \
        --threads "$THREADS" --quiet > "$WORK/quantize.log" 2>&1
    "$QB" export --model "$WORK/ckpt" --format gguf --type "$CKPT_TYPE" --out "$WORK/ckpt-$CKPT_TYPE.gguf" \
        --threads "$THREADS" > "$WORK/export-ckpt.log" 2>&1
    row "ckpt-$CKPT_TYPE" "$WORK/ckpt-$CKPT_TYPE.gguf" "$WORK/ckpt" >> "$TABLE"
    tail -1 "$TABLE"
fi

echo
cat "$WORK/tokens-check.txt"
echo "llama-perplexity: $LLAMA_PPL; quantbench-cli: $QB; ctx $CTX, $THREADS threads; work dir $WORK"
cat "$TABLE"
exit "$TOKENS_FAILED"
