#!/usr/bin/env bash
# Issue 18: GPTQ on one 4096×4096 linear (16,384 calibration tokens in batches of 2,048, 4-bit
# groups of 128, damp 0.01, blocks of 128 — qb_bench_gptq's defaults), quantbench against the
# replay of the reference's own BLAS/LAPACK calls (tests/bench/gptq_reference_blas.cpp), both
# in one run of build/tests/bench/qb_bench_gptq, stage by stage with ratios (reference ÷ ours,
# > 1 means quantbench is faster), medians of REPS repetitions.
#   scripts/bench_gptq_vs_reference.sh [THREADS=2]
# Environment: QB_BENCH_GPTQ (the binary), REPS (default 3).
# Totals: ours is Hessian + the whole of quantizeGptq (preparation, factor, sweep and the
# report's objective); the reference's is Hessian + factor + sweep (its stage timers only).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="${1:-2}"
bin="${QB_BENCH_GPTQ:-$repo/build/tests/bench/qb_bench_gptq}"
reps="${REPS:-3}"
[[ -x "$bin" ]] || { echo "error: $bin is not built (cmake --build build --target qb_bench_gptq)" >&2; exit 1; }
json="$(mktemp /tmp/qb-bench-gptq.XXXXXX.json)"
trap 'rm -f "$json"' EXIT

echo "load before: $(uptime | sed 's/.*load average: //')"
QB_THREADS="$threads" "$bin" --benchmark_repetitions="$reps" --benchmark_out="$json" --benchmark_out_format=json \
    >/dev/null 2>&1
echo "load after:  $(uptime | sed 's/.*load average: //')"

python3 - "$json" <<'PY'
import json, statistics, sys

d = json.load(open(sys.argv[1]))
ctx = d["context"]
runs = {}
for b in d["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    runs.setdefault(b["run_name"].split("/")[0], []).append(b)

def med(name, key=None):
    rs = runs[name]
    vals = [r["real_time"] if key is None else r[key] for r in rs]  # real_time is in seconds (kSecond)
    return statistics.median(vals)

def medsum(name, keys):
    return statistics.median([sum(r[k] for k in keys) for r in runs[name]])

print(f"CPU:      {ctx.get('qb_cpu_model', '?')}  ({ctx.get('num_cpus', '?')} logical CPUs)")
print(f"ISA:      {ctx.get('qb_isa', '?')}; kernel path {ctx.get('qb_kernel_path', '?')}")
print(f"OpenBLAS: {ctx.get('qb_openblas', '?')}")
print(f"threads:  {ctx.get('qb_threads', '?')};  medians of {len(runs['BM_GptqHessian'])} runs")
print()
ours_h, ref_h = med("BM_GptqHessian"), med("BM_ReferenceHessian")
ours_f, ref_f = med("BM_GptqQuantize", "factor_s"), med("BM_ReferenceQuantize", "cholesky_s")
ours_s, ref_s = med("BM_GptqQuantize", "sweep_s"), med("BM_ReferenceQuantize", "sweep_s")
ours_o = med("BM_GptqQuantize", "objective_s")
ours_t = statistics.median([h["real_time"] + q["real_time"] for h, q in zip(runs["BM_GptqHessian"], runs["BM_GptqQuantize"])])
ref_t = statistics.median([h["real_time"] + q["cholesky_s"] + q["sweep_s"]
                           for h, q in zip(runs["BM_ReferenceHessian"], runs["BM_ReferenceQuantize"])])
rows = [("Hessian (2/N·XᵀX)", ours_h, ref_h), ("factorization (H⁻¹ factor)", ours_f, ref_f),
        ("column sweep", ours_s, ref_s), ("objective (report only)", ours_o, None), ("total", ours_t, ref_t)]
print(f"| {'stage':<28} | {'quantbench':>10} | {'reference replay':>16} | {'ratio':>6} |")
print(f"|{'-'*30}|{'-'*12}|{'-'*18}|{'-'*8}|")
for name, o, r in rows:
    rs = f"{r:14.3f} s" if r is not None else f"{'—':>16}"
    ratio = f"{r / o:5.2f}×" if r is not None and o > 0 else f"{'':>6}"
    print(f"| {name:<28} | {o:8.3f} s | {rs} | {ratio} |")
print()
print(f"factorization in double (GptqFactorMode::Double): {med('BM_GptqQuantizeDoubleFactor', 'factor_s'):.3f} s, "
      f"relative objective {med('BM_GptqQuantizeDoubleFactor', 'rel_objective'):.6e} "
      f"(float, the default here: {med('BM_GptqQuantize', 'rel_objective'):.6e})")
print(f"peak SGEMM {med('BM_PeakSgemm', 'GFLOP/s'):.1f} GFLOP/s, DGEMM {med('BM_PeakDgemm', 'GFLOP/s'):.1f} GFLOP/s "
      f"(4096³, {ctx.get('qb_threads', '?')} threads); Hessian "
      f"{med('BM_GptqHessian', 'GFLOP/s'):.1f} (ours) / {med('BM_ReferenceHessian', 'GFLOP/s'):.1f} (replay) GFLOP/s "
      "dense-equivalent")
PY
