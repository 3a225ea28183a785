#!/usr/bin/env bash
# Builds the fuzz configuration (build-fuzz/: Debian's clang, QB_FUZZ=ON — qbcore and the
# libFuzzer targets of tests/fuzz only, with ASan + UBSan) and runs every target for SECONDS
# (default 60) from its committed seeds (tests/fuzz/corpus/<target>) plus what earlier runs
# found (build-fuzz/corpus/<target>). Prints per target: execs, exec/s, new corpus units and
# the crashes, leaks, timeouts and out-of-memory inputs found (kept in
# build-fuzz/findings/<target>/). Exits non-zero on any finding.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# A finding is fixed in core and its input committed under tests/fuzz/regressions/<target>/,
# where the regular build's test_fuzz_replay runs it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
build="$here/build-fuzz"
jobs="${QB_FUZZ_JOBS:-$(nproc)}"
all=(safetensors model_config checkpoint_index hf_tokenizer plan session_store quantized_checkpoint gguf_reader exported_folder)
targets=("${@:-${all[@]}}")

# Debian's clang-14 (scripts/setup.sh installs it); plain clang/clang++ when that is all there is.
cc="$(command -v clang-14 || command -v clang || true)" cxx="$(command -v clang++-14 || command -v clang++ || true)"
[ -n "$cc" ] && [ -n "$cxx" ] || { echo "fuzz: clang missing (scripts/setup.sh installs clang-14 and libclang-rt-14-dev)"; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
  CC="$cc" CXX="$cxx" cmake -S "$here" -B "$build" -G Ninja -DQB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" >/dev/null
fi
start=$(date +%s)
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}"
echo "fuzz: build $(( $(date +%s) - start )) s"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/qb-fuzz.XXXXXX")"
[ -d /dev/shm ] && { rmdir "$scratch"; scratch="$(mktemp -d /dev/shm/qb-fuzz.XXXXXX)"; }
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:${ASAN_OPTIONS:-}"
# libhdf5 loses memory in its own error paths (tests/fuzz/known/README.md): suppressed by library.
export LSAN_OPTIONS="suppressions=$here/tests/fuzz/known/lsan_libhdf5.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

printf '%-22s %12s %9s %7s %8s %6s %9s %5s\n' target execs exec/s corpus crashes leaks timeouts ooms
failed=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t" findings="$build/findings/$t" log="$build/logs/$t.log"
  rm -rf "$findings.prev" && { [ ! -d "$findings" ] || mv "$findings" "$findings.prev"; }  # count this run's only
  mkdir -p "$work" "$findings" "$(dirname "$log")"
  rm -rf "${scratch:?}/$t" && mkdir -p "$scratch/$t"
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: a small file must not cost GBs.
  QB_FUZZ_SCRATCH="$scratch/$t" "$build/tests/fuzz/fuzz_$t" "$work" "$here/tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
    -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$work" -type f | wc -l)
  crashes=$(find "$findings" -name 'crash-*' -o -name 'deadly-*' | wc -l)
  leaks=$(find "$findings" -name 'leak-*' | wc -l)
  timeouts=$(find "$findings" -name 'timeout-*' | wc -l)
  ooms=$(find "$findings" -name 'oom-*' | wc -l)
  printf '%-22s %12s %9s %7s %8s %6s %9s %5s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$crashes" "$leaks" "$timeouts" "$ooms"
  if [ -z "$execs" ] || ((crashes + leaks + timeouts + ooms)); then
    failed=1
    echo "  -> $log"; grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | sed 's/^/     /' || true
  fi
done
exit "$failed"
