#!/usr/bin/env bash
# README command (1): set up, build Release, and run the main job on the bundled model.
# With a display, it then opens the workbench on the bundled model.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build"
"$here/scripts/setup.sh" "$build"
cli="$build/app/cli/quantbench-cli"
model="$here/resources/models/stories260K"
text="$here/resources/data/tinystories"
out="${QB_DEMO_OUT:-$build/demo}"
mkdir -p "$out"

echo "== quantbench-cli info"
"$cli" info --model "$model"
echo
echo "== quantbench-cli eval (FP32 baseline, context 512)"
"$cli" eval --model "$model" --text "$text/eval.txt" --ctx 512
if "$cli" quantize --help >/dev/null 2>&1; then
  echo
  echo "== quantbench-cli quantize (GPTQ W4 g32, calibration 128 x 512)"
  printf '{"default": {"method": "gptq", "bits": 4, "group_size": 32}}\n' > "$out/plan-gptq-w4g32.json"
  rm -rf "$out/stories260K-gptq-w4g32"
  "$cli" quantize --model "$model" --plan "$out/plan-gptq-w4g32.json" --calib "$text/calib.txt" \
    --out "$out/stories260K-gptq-w4g32"
  echo
  echo "== quantbench-cli eval (the quantized checkpoint)"
  "$cli" eval --model "$out/stories260K-gptq-w4g32" --text "$text/eval.txt" --ctx 512
fi
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/app/gui/quantbench" ]; then
  echo
  echo "== opening the workbench on the bundled model"
  exec "$build/app/gui/quantbench" "$model"
fi
