#!/usr/bin/env bash
# A portable .deb (and .tar.gz): the product built for a baseline ISA instead of -march=native,
# so it runs on CPUs other than the build machine's. The hot kernels keep their run-time
# dispatch (AVX2/FMA, AVX-512 VNNI: core/kernels/cpu_features); the executables check the CPU
# against the baseline before main and name what is missing (app/common/cpu_baseline.h).
#   scripts/package.sh [MARCH] [BUILD_DIR]     MARCH: x86-64-v3 (default) or x86-64-v2
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
march="${1:-x86-64-v3}"
build="${2:-$here/build-package-$march}"
"$here/scripts/setup.sh" "$build" -DQB_MARCH="$march" -DQB_BUILD_TESTS=OFF -DQB_BUILD_BENCHMARKS=OFF -DQB_WITH_CUDA=OFF
(cd "$build" && cpack -G DEB)
ls -l "$build"/*.deb
