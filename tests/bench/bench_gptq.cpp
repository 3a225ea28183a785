// GPTQ on one 4096×4096 linear (the shape of a 7B model's attention projections): synthetic
// weights N(0, 0.02²), 16,384 calibration tokens of correlated synthetic activations, 4-bit
// groups of 128, the reference's defaults (damp 0.01, blocks of 128, no act-order).
// The two phases are timed separately, as the reference's own timing does:
//   BM_GptqHessian  H = (2/N) Σ x xᵀ over the 16,384 tokens (accumulateHessian, in batches
//                   of 2,048 tokens as a calibration loop feeds it)
//                   GFLOP/s counts the dense product, 2·N·in² flops (the symmetric half is
//                   what runs: the figure is what a plain XᵀX would need to reach)
//   BM_GptqQuantize quantizeGptq on the prepared H: damping, Cholesky factor of H⁻¹, the
//                   blocked column sweep and the objective; counters give each phase in
//                   seconds and the sweep's GFLOP/s (lazy updates: out·in² flops)
//   BM_GptqQuantizeDoubleFactor  the same with the factorisation in double (the default,
//                   GptqFactorMode::Auto, factors this layer in float)
//   BM_ReferenceHessian, BM_ReferenceQuantize  the same problem
//                   through the reference's own operations, one OpenBLAS call per PyTorch
//                   call (gptq_reference_blas.h): the reference's time on this machine, less
//                   its Python overhead, measured in the same run
//   BM_PeakSgemm, BM_PeakDgemm  one threaded 4096³ OpenBLAS GEMM: the machine's measured
//                   float and double peak, the roofline each stage is compared with
//   build/tests/bench/qb_bench_gptq --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   scripts/bench_gptq_vs_reference.sh [THREADS] prints the stage-by-stage table with ratios.
// QB_THREADS=N sets the thread count (default: all cores). The context printed first names
// the CPU, its ISA flags, the kernel path, OpenBLAS's core and the threads.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <utility>

#include "core/backend/backend.h"
#include "core/quant/gptq.h"

#include <cblas.h>

#include "bench_context.h"
#include "gptq_reference_blas.h"

using namespace qb::core;

namespace {

constexpr Index kIn = 4096;
constexpr Index kOut = 4096;
constexpr Index kTokens = 16384;
constexpr Index kBatch = 2048;

// X: [tokens, in], rows x = A·z with a fixed random mixing (so H is a full, well-conditioned
// but not diagonal matrix) plus a few large channels, as calibration activations have.
const MatrixRM& inputs() {
    static const MatrixRM X = [] {
        std::mt19937 rng(7);
        std::normal_distribution<float> n01(0.0f, 1.0f);
        constexpr Index kLatent = 512;
        MatrixRM Z(kTokens, kLatent), A(kLatent, kIn);
        for (Index i = 0; i < Z.size(); ++i) Z.data()[i] = n01(rng);
        for (Index i = 0; i < A.size(); ++i) A.data()[i] = n01(rng) / 16.0f;
        MatrixRM M = Z * A;
        for (Index i = 0; i < M.size(); ++i) M.data()[i] += 0.1f * n01(rng);
        for (Index c = 0; c < kIn; c += 512) M.col(c) *= 20.0f;  // 8 outlier channels
        return M;
    }();
    return X;
}

const MatrixRM& weights() {
    static const MatrixRM W = [] {
        std::mt19937 rng(11);
        std::normal_distribution<float> n(0.0f, 0.02f);
        MatrixRM M(kOut, kIn);
        for (Index i = 0; i < M.size(); ++i) M.data()[i] = n(rng);
        return M;
    }();
    return W;
}

MatrixRMd hessian() {
    MatrixRMd H;
    long nsamples = 0;
    const MatrixRM& X = inputs();
    for (Index b = 0; b < kTokens; b += kBatch) accumulateHessian(X.middleRows(b, kBatch), H, nsamples);
    return H;
}

void BM_GptqHessian(benchmark::State& state) {
    inputs();
    for (auto _ : state) {
        MatrixRMd H = hessian();
        benchmark::DoNotOptimize(H.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(kTokens) * double(kIn) * double(kIn) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void gptqQuantize(benchmark::State& state, GptqFactorMode mode) {
    const MatrixRMd H = hessian();
    const MatrixRM& W = weights();
    const WeightGridSpec spec{4, 128, false};
    const GptqOptions options;
    GptqReport last;
    for (auto _ : state) {
        GptqResult r = quantizeGptq(W, H, spec, options, RunContext(), mode);
        benchmark::DoNotOptimize(r.weight.codes.data());
        last = r.report;
    }
    // The stages of the comparison table: factorization = preparation (finite check, dead
    // inputs, diagonal) + damping + inverse factor, as the reference's cholesky_s includes
    // its dead-input scan and damping.
    state.counters["factor_s"] = last.secondsPrepare + last.secondsCholesky;
    state.counters["prepare_s"] = last.secondsPrepare;
    state.counters["cholesky_s"] = last.secondsCholesky;
    state.counters["sweep_s"] = last.secondsSweep;
    state.counters["objective_s"] = last.secondsObjective;
    state.counters["sweep_GFLOP/s"] = double(kOut) * double(kIn) * double(kIn) * 1e-9 / last.secondsSweep;
    state.counters["rel_objective"] = last.objectiveRelative;
}
void BM_GptqQuantize(benchmark::State& state) { gptqQuantize(state, GptqFactorMode::Auto); }
// The double factorisation (GptqFactorMode::Double), for its time and objective.
void BM_GptqQuantizeDoubleFactor(benchmark::State& state) { gptqQuantize(state, GptqFactorMode::Double); }

void BM_ReferenceHessian(benchmark::State& state) {
    const MatrixRM& X = inputs();
    for (auto _ : state) {
        MatrixRM H;
        long nsamples = 0;
        for (Index b = 0; b < kTokens; b += kBatch) qb::bench::referenceAddBatch(X.middleRows(b, kBatch), H, nsamples);
        benchmark::DoNotOptimize(H.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(kTokens) * double(kIn) * double(kIn) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ReferenceQuantize(benchmark::State& state) {
    const MatrixRM H = hessian().cast<float>();
    qb::bench::ReferenceTimes last;
    for (auto _ : state) last = qb::bench::referenceFasterQuant(weights(), H, 4, 128);
    state.counters["cholesky_s"] = last.cholesky;
    state.counters["sweep_s"] = last.sweep;
}

// One threaded n³ GEMM through OpenBLAS (the calls run outside any parallel region, on
// threadCount() OpenMP threads): what this machine's BLAS reaches, for the roofline.
template <class T>
void peakGemm(benchmark::State& state) {
    constexpr int n = 4096;
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
    const M A = M::Random(n, n), B = M::Random(n, n);
    M C(n, n);
    for (auto _ : state) {
        if constexpr (std::is_same_v<T, float>)
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C.data(), n);
        else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A.data(), n, B.data(), n, 0.0, C.data(), n);
        benchmark::DoNotOptimize(C.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(n) * double(n) * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
void BM_PeakSgemm(benchmark::State& state) { peakGemm<float>(state); }
void BM_PeakDgemm(benchmark::State& state) { peakGemm<double>(state); }

}  // namespace

BENCHMARK(BM_GptqHessian)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_GptqQuantize)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_GptqQuantizeDoubleFactor)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);

BENCHMARK(BM_ReferenceHessian)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_ReferenceQuantize)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);

BENCHMARK(BM_PeakSgemm)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_PeakDgemm)->UseRealTime()->Unit(benchmark::kSecond)->Iterations(1);

int main(int argc, char** argv) {
    if (const char* t = std::getenv("QB_THREADS")) setThreadCount(std::atoi(t));
    openblas_set_num_threads(threadCount());  // the reference's torch.matmul and LAPACK calls use every thread
    benchmark::Initialize(&argc, argv);
    qb::bench::addMachineContext();
    benchmark::AddCustomContext("qb_openblas", std::string(openblas_get_corename()) + " (" + openblas_get_config() + ")");
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
