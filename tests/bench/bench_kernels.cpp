// Matrix–vector micro-benchmarks of the packed kernels: 4096×4096, 11008×4096 and 4096×11008
// for FP32, FP16, int8, int7..int3 g128, int2 g64 and W8A8, on every kernel path the CPU has,
// small batches (n = 4, 16) of the 11008×4096 shape, and the STREAM-like read benchmark they
// are compared with. Counters:
//   GB/s        weight bytes read per second (10^9)
//   bw_share    GB/s divided by the read bandwidth measured by BM_ReadBandwidth at start-up
// Before every timed product 64 MiB are read (paused timer), so weights come from memory.
//   build/tests/bench/qb_bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "core/backend/backend.h"
#include "core/kernels/kernel_bench.h"
#include "core/kernels/read_bandwidth.h"

using namespace qb::core;
using namespace qb::core::kernels;

namespace {

constexpr std::size_t kReadBytes = std::size_t(256) << 20;
constexpr std::size_t kFlushBytes = std::size_t(64) << 20;

unsigned char* readBuffer() {
    static unsigned char* buf = [] {
        auto* p = static_cast<unsigned char*>(std::aligned_alloc(64, kReadBytes));
        std::memset(p, 1, kReadBytes);
        return p;
    }();
    return buf;
}

// Median read bandwidth (bytes/s) measured once, before the kernels run.
double readBytesPerSecond() {
    static const double bps = measureReadBandwidth(kReadBytes, 9).medianGbps * 1e9;
    return bps;
}

// One weight matrix per (format, shape), built on first use and kept.
const BenchMatvec& matrix(BenchFormat f, Index rows, Index cols) {
    static std::map<std::string, std::unique_ptr<BenchMatvec>> cache;
    const std::string key = benchFormatName(f) + std::to_string(rows) + "x" + std::to_string(cols);
    auto& m = cache[key];
    if (!m) m = std::make_unique<BenchMatvec>(f, rows, cols, 1);
    return *m;
}

// Plain (not rate) counters from our own clock: GB/s and the share of the read bandwidth.
void setCounters(benchmark::State& state, double bytes, double seconds) {
    state.counters["GB/s"] = bytes / seconds / 1e9;
    state.counters["bw_share"] = bytes / seconds / readBytesPerSecond();
}

void BM_ReadBandwidth(benchmark::State& state) {
    double seconds = 0.0;
    for (auto _ : state) seconds += timedRead(readBuffer(), kReadBytes, threadCount());
    setCounters(state, double(kReadBytes) * double(state.iterations()), seconds);
}

void BM_Matvec(benchmark::State& state, BenchFormat f, Index rows, Index cols, KernelPath path) {
    const BenchMatvec& W = matrix(f, rows, cols);
    std::vector<float> x(static_cast<std::size_t>(cols), 0.25f), y(static_cast<std::size_t>(rows));
    readBytesPerSecond();
    double seconds = 0.0;
    for (auto _ : state) {
        state.PauseTiming();
        timedRead(readBuffer(), kFlushBytes, threadCount());  // evict the weights from the caches
        state.ResumeTiming();
        const auto t0 = std::chrono::steady_clock::now();
        W.run(x.data(), y.data(), path);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        benchmark::ClobberMemory();
    }
    setCounters(state, double(W.weightBytes()) * double(state.iterations()), seconds);
}

// Y[n, rows] = X[n, cols] · Wᵀ for a small batch (the prefill products): weights from memory
// as above; GB/s counts the weight bytes once per product.
void BM_Matmul(benchmark::State& state, BenchFormat f, Index rows, Index cols, Index n, KernelPath path) {
    const BenchMatvec& W = matrix(f, rows, cols);
    const MatrixRM X = MatrixRM::Constant(n, cols, 0.25f);
    MatrixRM Y;
    readBytesPerSecond();
    double seconds = 0.0;
    for (auto _ : state) {
        state.PauseTiming();
        timedRead(readBuffer(), kFlushBytes, threadCount());
        state.ResumeTiming();
        const auto t0 = std::chrono::steady_clock::now();
        W.runBatch(X, Y, path);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        benchmark::ClobberMemory();
    }
    setCounters(state, double(W.weightBytes()) * double(state.iterations()), seconds);
}

void registerAll() {
    benchmark::RegisterBenchmark("BM_ReadBandwidth", BM_ReadBandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);
    const std::pair<Index, Index> shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
    for (KernelPath path : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Vnni}) {
        if (!kernelPathAvailable(path)) continue;
        for (const auto& [rows, cols] : shapes)
            for (BenchFormat f : allBenchFormats()) {
                if (path == KernelPath::Scalar && rows * cols > 4096 * 4096) continue;  // the reference is slow
                const std::string name = "BM_Matvec/" + benchFormatName(f) + "/" + std::to_string(rows) + "x" + std::to_string(cols) +
                                         "/" + kernelPathName(path);
                benchmark::RegisterBenchmark(name.c_str(), BM_Matvec, f, rows, cols, path)->UseRealTime()->Unit(benchmark::kMicrosecond);
            }
        // small batches of 4 and 16 rows on the 11008×4096 shape (named …/n4/<path>, so that a
        // filter on "11008x4096/<path>" selects the matrix–vector products alone)
        if (path == KernelPath::Scalar) continue;
        for (Index n : {4, 16})
            for (BenchFormat f : allBenchFormats()) {
                if (f == BenchFormat::W8A8) continue;
                const std::string name = "BM_Matmul/" + benchFormatName(f) + "/11008x4096/n" + std::to_string(n) + "/" + kernelPathName(path);
                benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, f, Index(11008), Index(4096), n, path)
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond);
            }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* t = std::getenv("QB_THREADS")) setThreadCount(std::atoi(t));
    registerAll();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
