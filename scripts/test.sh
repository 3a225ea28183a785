#!/usr/bin/env bash
# README command (2): set up, build, and run the whole test suite through ctest — once in
# Release (every test, GUI included) and once with core and the CLI built under
# AddressSanitizer + UBSan (CMakeLists.txt: qb_sanitize), run by their tests; the GUI's tests
# and the suites labelled slow run in Release only (the sanitizer build does not compile them).
# Each phase prints its wall time, so a slow CI run shows where the time went.
# Fuzzing (scripts/fuzz.sh) is not run here: its clang build of core with libFuzzer + ASan +
# UBSan took 800 s on this project's 2 shared cores (plus 64 s for the 8 targets), a third
# compile of core on top of a run that already takes 24-40 minutes, for 10 s per target. CI
# keeps the findings instead: test_fuzz_replay runs every committed corpus and regression
# input through the fuzz targets' own parse functions, in both builds below.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc)"
# ctest runs $jobs tests at once and each uses every core through OpenMP (and OpenBLAS's OpenMP
# threads): with libgomp's default spin-waiting, a waiting thread burns the core the other test
# needs. Passive waiting measured on the 2-core Zen 1: test_autoplan beside test_pipeline 88.7 s
# -> 23.5 s (13.7 s alone), test_pipeline's W8A8 case 125.2 s -> 72.0 s (64.0 s alone); alone
# each is within 9 % of spinning. Only the test runs get it, not the product.
export OMP_WAIT_POLICY=PASSIVE

phase_start=$SECONDS
phase_done() { echo "== $1: $((SECONDS - phase_start)) s"; phase_start=$SECONDS; }

"$here/scripts/setup.sh" "$here/build"
phase_done "setup and build (Release)"
echo "== ctest (Release)"
ctest --test-dir "$here/build" --output-on-failure -j"$jobs" --timeout 900
phase_done "ctest (Release)"

if [ "${QB_SKIP_SANITIZERS:-0}" != "1" ]; then
  # -g1 (functions and line tables, no variables) is all a sanitizer report needs, and compiles in
  # about two thirds of -g's time: an ASan build's objects are mostly debug information.
  "$here/scripts/setup.sh" "$here/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DQB_SANITIZE=ON -DQB_WITH_CUDA=OFF -DQB_BUILD_BENCHMARKS=OFF -DQB_BUILD_GUI=OFF -DQB_BUILD_SLOW_TESTS=OFF
  phase_done "build (sanitizers)"
  echo "== ctest (AddressSanitizer + UndefinedBehaviorSanitizer)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$here/build-asan" --output-on-failure -j"$jobs" --timeout 1800 -LE 'slow|backend'
  phase_done "ctest (sanitizers)"
fi
