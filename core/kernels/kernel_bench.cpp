#include "core/kernels/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "core/backend/backend.h"
#include "core/kernels/read_bandwidth.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core::kernels {

namespace {

// xorshift64*: fast, deterministic random bits for large synthetic weights.
struct Rng {
    std::uint64_t s;
    explicit Rng(unsigned seed) : s(0x9E3779B97F4A7C15ull ^ (std::uint64_t(seed) * 0x2545F4914F6CDD1Dull + 1)) {}
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f; }  // [-1, 1)
};

MatrixRM randomFloats(Index rows, Index cols, unsigned seed) {
    MatrixRM W(rows, cols);
    Rng r(seed);
    for (Index i = 0; i < W.size(); ++i) W.data()[i] = 0.02f * r.uniform();
    return W;
}

PackedQuantWeight randomQuant(int bits, std::optional<int> groupSize, Index rows, Index cols, unsigned seed) {
    const Index groups = groupSize ? (cols + *groupSize - 1) / *groupSize : 1;
    std::vector<std::uint8_t> codes(std::size_t(rows * cols));
    std::vector<float> scales(std::size_t(rows * groups));
    std::vector<std::int32_t> zeros(static_cast<std::size_t>(rows * groups)), gIdx(static_cast<std::size_t>(cols));
    Rng r(seed);
    const std::uint32_t maxq = (1u << bits) - 1u;
    for (auto& q : codes) q = std::uint8_t(r.next() >> 32 & maxq);
    for (auto& s : scales) s = f16ToFloat(floatToF16(0.002f * (1.5f + r.uniform())));
    for (auto& z : zeros) z = std::int32_t((maxq + 1) / 2);
    for (Index c = 0; c < cols; ++c) gIdx[std::size_t(c)] = std::int32_t(groupSize ? c / *groupSize : 0);
    QuantSource src{bits, rows, cols, groups, codes.data(), scales.data(), zeros.data(), gIdx.data()};
    return PackedQuantWeight::pack(src);
}

PackedInt8Weight randomInt8(Index rows, Index cols, unsigned seed) {
    std::vector<std::int8_t> codes(std::size_t(rows * cols));
    Rng r(seed);
    for (auto& q : codes) q = std::int8_t(int(r.next() >> 32 & 0xFF) % 255 - 127);
    return PackedInt8Weight(codes.data(), rows, cols);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

std::string benchFormatName(BenchFormat f) {
    switch (f) {
        case BenchFormat::Fp32: return "fp32";
        case BenchFormat::Fp16: return "fp16";
        case BenchFormat::Int8: return "int8";
        case BenchFormat::Int7G128: return "int7_g128";
        case BenchFormat::Int6G128: return "int6_g128";
        case BenchFormat::Int5G128: return "int5_g128";
        case BenchFormat::Int4G128: return "int4_g128";
        case BenchFormat::Int3G128: return "int3_g128";
        case BenchFormat::Int2G64: return "int2_g64";
        case BenchFormat::W8A8: return "w8a8";
    }
    return "?";
}

const std::vector<BenchFormat>& allBenchFormats() {
    static const std::vector<BenchFormat> all{BenchFormat::Fp32,     BenchFormat::Fp16,    BenchFormat::Int8, BenchFormat::Int7G128, BenchFormat::Int6G128, BenchFormat::Int5G128, BenchFormat::Int4G128,
                                              BenchFormat::Int3G128, BenchFormat::Int2G64, BenchFormat::W8A8};
    return all;
}

BenchMatvec::BenchMatvec(BenchFormat format, Index rows, Index cols, unsigned seed) : m_format(format), m_rows(rows), m_cols(cols) {
    switch (format) {
        case BenchFormat::Fp32: m_f32 = PackedF32Weight(randomFloats(rows, cols, seed)); break;
        case BenchFormat::Fp16: m_f16 = PackedF16Weight(randomFloats(rows, cols, seed)); break;
        case BenchFormat::Int8: m_quant = randomQuant(8, std::nullopt, rows, cols, seed); break;
        case BenchFormat::Int7G128: m_quant = randomQuant(7, 128, rows, cols, seed); break;
        case BenchFormat::Int6G128: m_quant = randomQuant(6, 128, rows, cols, seed); break;
        case BenchFormat::Int5G128: m_quant = randomQuant(5, 128, rows, cols, seed); break;
        case BenchFormat::Int4G128: m_quant = randomQuant(4, 128, rows, cols, seed); break;
        case BenchFormat::Int3G128: m_quant = randomQuant(3, 128, rows, cols, seed); break;
        case BenchFormat::Int2G64: m_quant = randomQuant(2, 64, rows, cols, seed); break;
        case BenchFormat::W8A8:
            m_int8 = randomInt8(rows, cols, seed);
            m_rowScales.assign(std::size_t(rows), 0.01f);
            break;
    }
}

std::size_t BenchMatvec::weightBytes() const {
    switch (m_format) {
        case BenchFormat::Fp32: return m_f32.bytes();
        case BenchFormat::Fp16: return m_f16.bytes();
        case BenchFormat::W8A8: return std::size_t(m_rows * m_cols) + m_rowScales.size() * sizeof(float);
        default: return m_quant.streamedBytes();
    }
}

void BenchMatvec::run(const float* x, float* y, KernelPath path) const {
    switch (m_format) {
        case BenchFormat::Fp32: return f32Gemv(m_f32, x, y, path);
        case BenchFormat::Fp16: return f16Gemv(m_f16, x, y, path);
        case BenchFormat::W8A8: {
            // per-token absmax quantization of x (as W8A8Linear), int8 product, dequantization
            thread_local std::vector<std::int8_t> xq;
            thread_local std::vector<std::int32_t> acc;
            xq.assign(std::size_t(m_int8.stride()), 0);
            acc.resize(std::size_t(m_rows));
            float absmax = 1e-5f;
            for (Index c = 0; c < m_cols; ++c) absmax = std::max(absmax, std::abs(x[c]));
            const float sx = absmax / 127.0f;
            for (Index c = 0; c < m_cols; ++c) xq[std::size_t(c)] = std::int8_t(std::clamp(std::rint(x[c] / sx), -127.0f, 127.0f));
            int8Matmul(m_int8, xq.data(), 1, m_int8.stride(), acc.data(), m_rows, path);
            for (Index r = 0; r < m_rows; ++r) y[r] = (float(acc[std::size_t(r)]) * m_rowScales[std::size_t(r)]) * sx;
            return;
        }
        default: return quantGemv(m_quant, x, y, path);
    }
}

void BenchMatvec::runBatch(const ConstMatrixRef& X, MatrixRM& Y, KernelPath path) const {
    switch (m_format) {
        case BenchFormat::Fp32: return f32Matmul(m_f32, X, Y, path);
        case BenchFormat::Fp16: return f16Matmul(m_f16, X, Y, path);
        case BenchFormat::W8A8: throw Error("bench: no batched product for w8a8");
        default: return quantMatmul(m_quant, X, Y, path);
    }
}

KernelBenchResult runKernelBenchmark(const KernelBenchOptions& options, const RunContext& ctx) {
    using Clock = std::chrono::steady_clock;
    KernelBenchResult result;
    result.threads = threadCount();
    result.repeats = std::max(1, options.repeats);
    result.path = kernelPathName(options.path);
    if (!kernelPathAvailable(options.path)) throw Error("bench: this CPU cannot run the " + result.path + " kernels");

    // STREAM-like read of a 256 MiB buffer, timed inside the same repeat loop as the kernels;
    // its first 64 MiB (twice the last-level cache here) are read, untimed, before every
    // product so that no format runs from cache.
    const std::size_t readBytes = std::size_t(256) << 20;
    constexpr std::size_t kFlushBytes = std::size_t(64) << 20;
    std::unique_ptr<unsigned char, decltype(&std::free)> readBuf(static_cast<unsigned char*>(std::aligned_alloc(64, readBytes)), &std::free);
    if (!readBuf) throw std::bad_alloc();
    std::memset(readBuf.get(), 1, readBytes);
    std::vector<double> readAll;

    for (std::size_t si = 0; si < options.shapes.size(); ++si) {
        const auto [rows, cols] = options.shapes[si];
        ctx.progress(double(si) / double(options.shapes.size()), "kernels " + std::to_string(rows) + "x" + std::to_string(cols));
        std::vector<std::unique_ptr<BenchMatvec>> mats;
        for (BenchFormat f : options.formats) mats.push_back(std::make_unique<BenchMatvec>(f, rows, cols, unsigned(si + 1)));
        const MatrixRM x = randomFloats(1, cols, 99) * 50.0f;
        std::vector<float> y(static_cast<std::size_t>(rows));
        std::vector<std::vector<double>> times(mats.size());
        std::vector<double> readTimes;
        for (auto& m : mats) m->run(x.data(), y.data(), options.path);  // warm-up
        for (int rep = 0; rep < result.repeats; ++rep) {
            ctx.throwIfStopped();
            readTimes.push_back(timedRead(readBuf.get(), readBytes, result.threads));
            for (std::size_t i = 0; i < mats.size(); ++i) {
                timedRead(readBuf.get(), kFlushBytes, result.threads);  // evict the weights from the caches
                const auto t0 = Clock::now();
                mats[i]->run(x.data(), y.data(), options.path);
                times[i].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            }
        }
        const double readGbps = double(readBytes) / median(readTimes) / 1e9;
        for (double t : readTimes) readAll.push_back(double(readBytes) / t / 1e9);
        double fp16Seconds = 0.0;
        for (std::size_t i = 0; i < mats.size(); ++i)
            if (mats[i]->format() == BenchFormat::Fp16) fp16Seconds = median(times[i]);
        for (std::size_t i = 0; i < mats.size(); ++i) {
            KernelBenchEntry e;
            e.format = benchFormatName(mats[i]->format());
            e.rows = rows;
            e.cols = cols;
            e.seconds = median(times[i]);
            e.weightBytes = mats[i]->weightBytes();
            e.gbps = double(e.weightBytes) / e.seconds / 1e9;
            e.speedupVsFp16 = fp16Seconds > 0 ? fp16Seconds / e.seconds : 0.0;
            e.bandwidthShare = e.gbps / readGbps;
            result.entries.push_back(e);
        }
    }
    result.readGbps = median(readAll);
    ctx.progress(1.0, "kernels");
    return result;
}

}  // namespace qb::core::kernels
