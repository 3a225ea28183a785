#!/usr/bin/env bash
# The device check of issue 19, as one prepared script for a machine with an NVIDIA GPU:
#   1. the machine (GPU, driver, CPU);
#   2. quantbench-cli selftest (every CUDA op against the CPU, timed; the bundled model
#      GPTQ W4 g32 on both);
#   3. compute-sanitizer's memcheck over selftest --quick;
#   4. optionally (QB_DEVICE_1B=1), when the self-test passed, a TinyLlama-1.1B-shaped synthetic checkpoint quantized
#      GPTQ W4 g128 on 16 x 512 calibration tokens with --device cuda:0, timed end to end.
# Usage: scripts/gpu_device_check.sh CLI [OUT_DIR]
#   CLI      a quantbench-cli built with the CUDA backend (-DQB_MARCH=x86-64-v3 when it was
#            built on another machine; its non-system libraries may sit in $QB_DEVICE_LIBS)
#   OUT_DIR  where selftest.txt / selftest.json / quantize-1b.txt go (default: .)
# Run from the repository root (the self-test reads resources/).
set -uo pipefail
cli="$1"
out="${2:-.}"
mkdir -p "$out"

# CUDA libraries: the runtime's own, wherever the machine keeps cuBLAS and cuSOLVER.
libs="${QB_DEVICE_LIBS:-}"
for name in libcublas.so.13 libcusolver.so.12 libcudart.so.13; do
  dir=$(find /usr/local/cuda*/ /usr/lib /opt -name "$name" -printf '%h\n' 2>/dev/null | head -1)
  [[ -n "$dir" ]] && libs="$libs:$dir"
done
export LD_LIBRARY_PATH="${libs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

{
  echo "== machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  ldd "$cli" | grep -E "not found|cublas|cusolver|cudart" || true
} 2>&1 | tee "$out/machine.txt"

echo "== selftest"
timeout 300 "$cli" selftest 2>&1 | tee "$out/selftest.txt"
selftest=${PIPESTATUS[0]}
echo "selftest exit $selftest"

# Memory errors in the kernels (out-of-bounds, misaligned): the quick set under memcheck.
if command -v compute-sanitizer > /dev/null || [[ -x /usr/local/cuda/bin/compute-sanitizer ]]; then
  echo "== compute-sanitizer memcheck, selftest --quick"
  san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  timeout 150 "$san" --tool memcheck --print-limit 20 "$cli" selftest --quick > "$out/memcheck.txt" 2>&1
  echo "memcheck exit $?"
  grep -E "ERROR SUMMARY|Invalid|PASS in|FAIL in" "$out/memcheck.txt" | head -20
fi

# The scale run only after a passing self-test: a failing one leaves the device time for a rerun.
if [[ "${QB_DEVICE_1B:-0}" == 1 && $selftest == 0 ]]; then
  echo "== 1.1B-shaped GPTQ W4 g128 on the GPU"
  synth=/tmp/qb-synth-1b
  t0=$(date +%s.%N)
  python3 scripts/make_synthetic_checkpoint.py "$synth" > /dev/null
  echo "synthetic checkpoint written in $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s"
  printf '{"default": {"method": "gptq", "bits": 4, "group_size": 128}}\n' > /tmp/plan-w4g128.json
  t0=$(date +%s.%N)
  timeout "${QB_DEVICE_1B_TIMEOUT:-240}" "$cli" quantize --model "$synth" --plan /tmp/plan-w4g128.json \
      --calib resources/data/tinystories/calib.txt --calib-windows 16 --calib-ctx 512 --out /tmp/qb-synth-1b-q \
      --device cuda:0 --quiet 2>&1 | tail -8 | tee "$out/quantize-1b.txt"
  echo "quantize exit ${PIPESTATUS[0]}, wall $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s" | tee -a "$out/quantize-1b.txt"
fi
