#pragma once
// Matrix–vector benchmarks of the packed kernels (quantbench-cli bench --kernels and the
// Google Benchmark binary in tests/bench): y = W·x for random weights of each format, timed
// with repetitions (formats interleaved so that they share the machine's load), reported as
// the median time, the weight bytes streamed per second, the ratio to FP16, and the share of
// the read bandwidth measured in the same loop by a STREAM-like read (read_bandwidth.h).
// Before every timed product 64 MiB are read (untimed), so each product streams its weights
// from memory as a decode step of a model larger than the caches does.

#include <string>
#include <utility>
#include <vector>

#include "core/kernels/cpu_features.h"
#include "core/kernels/float_matmul.h"
#include "core/kernels/int8_gemm.h"
#include "core/kernels/quant_matmul.h"
#include "core/util/matrix.h"
#include "core/util/run_context.h"

namespace qb::core::kernels {

enum class BenchFormat { Fp32, Fp16, Int8, Int7G128, Int6G128, Int5G128, Int4G128, Int3G128, Int2G64, W8A8 };

/// "fp32", "fp16", "int8" (8-bit weight-only, one group per row), "int7_g128" … "int3_g128",
/// "int2_g64", "w8a8" (int8 weights per row, the activation quantized per call, int8 × int8).
[[nodiscard]] std::string benchFormatName(BenchFormat f);
[[nodiscard]] const std::vector<BenchFormat>& allBenchFormats();

/// Random weights of one format and shape [rows, cols], ready for repeated products.
class BenchMatvec {
public:
    BenchMatvec(BenchFormat format, Index rows, Index cols, unsigned seed = 1);
    /// y[rows] = W · x[cols] on the given path (threadCount() threads).
    void run(const float* x, float* y, KernelPath path) const;
    /// Y[n, rows] = X[n, cols] · Wᵀ on the given path: a small batch (prefill) product, n ≥ 2 of
    /// which dequantize slabs for a GEMM (quant_matmul.h). Throws Error for W8A8.
    void runBatch(const ConstMatrixRef& X, MatrixRM& Y, KernelPath path) const;
    /// Weight bytes one product reads (codes, scales, zero points).
    [[nodiscard]] std::size_t weightBytes() const;
    [[nodiscard]] BenchFormat format() const { return m_format; }

private:
    BenchFormat m_format;
    Index m_rows, m_cols;
    PackedF32Weight m_f32;
    PackedF16Weight m_f16;
    PackedQuantWeight m_quant;
    PackedInt8Weight m_int8;
    std::vector<float> m_rowScales;  // w8a8
};

struct KernelBenchOptions {
    std::vector<std::pair<Index, Index>> shapes{{4096, 4096}, {11008, 4096}, {4096, 11008}};  ///< (rows, cols)
    std::vector<BenchFormat> formats = allBenchFormats();
    int repeats = 25;
    KernelPath path = activeKernelPath();
};

struct KernelBenchEntry {
    std::string format;
    Index rows = 0, cols = 0;
    double seconds = 0.0;         ///< median of the repeats
    double gbps = 0.0;            ///< weight bytes / seconds / 10^9
    double speedupVsFp16 = 0.0;   ///< FP16 seconds / seconds (0 when FP16 was not run)
    double bandwidthShare = 0.0;  ///< gbps / the read bandwidth measured for this shape
    std::size_t weightBytes = 0;
};

struct KernelBenchResult {
    std::vector<KernelBenchEntry> entries;
    double readGbps = 0.0;  ///< median STREAM-like read bandwidth over all shapes' repeats
    int threads = 1;
    int repeats = 0;
    std::string path;
};

/// Runs every format on every shape. ctx: progress per shape, cancel between repeats.
[[nodiscard]] KernelBenchResult runKernelBenchmark(const KernelBenchOptions& options, const RunContext& ctx = {});

}  // namespace qb::core::kernels
