// inspect's sensitivity forms (issue 18) on the module shapes of one Llama 3.2 1B layer, with
// 8,192 calibration tokens (16 windows × 512): the form as it was and as it is, in one run.
//   BM_FormGemm      tr(D G Dᵀ) as one GEMM D·G per row block (gramQuadraticFormFloatRef):
//                    the form of the modules whose inputs were folded into G, 2·out·in² flops
//   BM_FormSymmetric ⟨G, DᵀD⟩ over the lower triangle's tiles (gramQuadraticFormFloat): what
//                    every form runs now, out·in² flops
//   BM_FormDirect    ‖D Xᵀ‖² on the kept X (directQuadraticForm): down_proj's form before (its
//                    8,192 tokens did not exceed its 8,192 inputs, so X was kept), 2·out·in·T
//   BM_FloatGram     G = XᵀX in float from the kept X (floatGramMatrix): what down_proj now
//                    pays once, T·in² flops, before its forms run on G
// Arguments: in, out. A module's table is 13 forms (the reference and 12 grid points); the RTN
// quantizations that make the 12 ΔW are the same either way and are not timed here.
//   build/tests/bench/qb_bench_sensitivity --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// QB_THREADS=N sets the thread count (default: all cores).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "bench_context.h"
#include "core/backend/backend.h"
#include "core/stats/sensitivity.h"

using namespace qb::core;

namespace {

constexpr Index kTokens = 8192;

MatrixRM randomMatrix(Index rows, Index cols, unsigned seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n01(0.0f, scale);
    MatrixRM M(rows, cols);
    for (Index i = 0; i < M.size(); ++i) M.data()[i] = n01(rng);
    return M;
}

/// X [tokens, in] per input width, made once.
const MatrixRM& inputs(Index in) {
    static std::map<Index, MatrixRM> cache;
    auto it = cache.find(in);
    if (it == cache.end()) it = cache.emplace(in, randomMatrix(kTokens, in, unsigned(in), 1.0f)).first;
    return it->second;
}

/// G = XᵀX in float per input width, made once.
const MatrixRM& gram(Index in) {
    static std::map<Index, MatrixRM> cache;
    auto it = cache.find(in);
    if (it == cache.end()) it = cache.emplace(in, floatGramMatrix(inputs(in))).first;
    return it->second;
}

void setFlops(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FormGemm(benchmark::State& state) {
    const Index in = state.range(0), out = state.range(1);
    const MatrixRM D = randomMatrix(out, in, 11, 0.01f);
    const MatrixRM& G = gram(in);
    for (auto _ : state) benchmark::DoNotOptimize(gramQuadraticFormFloatRef(D, G));
    setFlops(state, 2.0 * double(out) * double(in) * double(in));
}

void BM_FormSymmetric(benchmark::State& state) {
    const Index in = state.range(0), out = state.range(1);
    const MatrixRM D = randomMatrix(out, in, 11, 0.01f);
    const MatrixRM& G = gram(in);
    for (auto _ : state) benchmark::DoNotOptimize(gramQuadraticFormFloat(D, G));
    setFlops(state, double(out) * double(in) * double(in));
}

void BM_FormDirect(benchmark::State& state) {
    const Index in = state.range(0), out = state.range(1);
    const MatrixRM D = randomMatrix(out, in, 11, 0.01f);
    const MatrixRM& X = inputs(in);
    for (auto _ : state) benchmark::DoNotOptimize(directQuadraticForm(D, X));
    setFlops(state, 2.0 * double(out) * double(in) * double(kTokens));
}

void BM_FloatGram(benchmark::State& state) {
    const Index in = state.range(0);
    const MatrixRM& X = inputs(in);
    for (auto _ : state) benchmark::DoNotOptimize(floatGramMatrix(X).data());
    setFlops(state, double(kTokens) * double(in) * double(in));
}

// Llama 3.2 1B: q/o 2048→2048, k/v 2048→512, gate/up 2048→8192, down 8192→2048.
void moduleShapes(benchmark::internal::Benchmark* b) {
    b->Args({2048, 2048})->Args({2048, 512})->Args({2048, 8192})->Args({8192, 2048});
}

}  // namespace

BENCHMARK(BM_FormGemm)->Apply(moduleShapes)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_FormSymmetric)->Apply(moduleShapes)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_FormDirect)->Args({8192, 2048})->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_FloatGram)->Arg(8192)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);

int main(int argc, char** argv) {
    if (const char* t = std::getenv("QB_THREADS")) setThreadCount(std::atoi(t));
    benchmark::Initialize(&argc, argv);
    qb::bench::addMachineContext();
    benchmark::AddCustomContext("qb_tokens", std::to_string(kTokens));
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
