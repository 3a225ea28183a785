#include "core/kernels/quant_matmul.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/kernels/kernel_impl.h"
#include "core/kernels/tile_driver.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core::kernels {

namespace {

constexpr Index kGemvMaxRows = 1;  // n ≤ this: matrix–vector kernel per row, else slab GEMM


// Writes code v as value k of the 32·bits-bit stream spread over words[w·8] (w = 0..bits−1).
void putStreamValue(std::uint32_t* words, int bits, int k, std::uint32_t v) {
    const int pos = k * bits, word = pos / 32, off = pos % 32;
    words[word * kTileRows] |= v << off;
    if (off + bits > 32) words[(word + 1) * kTileRows] |= v >> (32 - off);
}

std::uint32_t getStreamValue(const std::uint32_t* words, int bits, int k) {
    const int pos = k * bits, word = pos / 32, off = pos % 32;
    std::uint32_t v = words[word * kTileRows] >> off;
    if (off + bits > 32) v |= words[(word + 1) * kTileRows] << (32 - off);
    return v & ((1u << bits) - 1u);
}

void validate(const QuantSource& s) {
    if (s.bits < 2 || s.bits > 8) throw Error("packed weight: bits must be in 2..8, got " + std::to_string(s.bits));
    if (s.rows < 0 || s.cols < 0 || s.groups < 1) throw Error("packed weight: bad shape");
    const std::uint32_t maxq = (1u << s.bits) - 1u;
    for (Index c = 0; c < s.cols; ++c)
        if (s.gIdx[c] < 0 || s.gIdx[c] >= s.groups)
            throw Error("packed weight: g_idx[" + std::to_string(c) + "] = " + std::to_string(s.gIdx[c]) + " is not a group");
    for (Index i = 0; i < s.rows * s.cols; ++i)
        if (s.codes[i] > maxq) throw Error("packed weight: a code exceeds " + std::to_string(maxq));
    for (Index i = 0; i < s.rows * s.groups; ++i) {
        if (s.zeros[i] < 0 || std::uint32_t(s.zeros[i]) > maxq) throw Error("packed weight: a zero point is out of range");
        if (f16ToFloat(floatToF16(s.scales[i])) != s.scales[i] && !std::isnan(s.scales[i]))
            throw Error("packed weight: scale " + std::to_string(s.scales[i]) + " is not an F16 value");
    }
}

// Per-thread scratch of the matrix–vector product (no allocation per call once warm).
struct GemvScratch {
    std::vector<float> xp, xs, xsum, segScale;
    std::vector<std::int8_t> xq;  // VNNI: [kVnniParts][packedCols]
    bool finite = true;           // VNNI: every activation finite (else the float kernel runs)
};

constexpr Index kVnniMaxSegment = 65535;  // int32 sums: 65535 · 255 · 127 < 2^31

bool vnniApplies(const QuantTiles& v) {
    if (!vnniSupportsBits(v.bits)) return false;
    if (vnniNeedsVbmi(v.bits) && !cpuFeatures().avx512vbmi) return false;
    for (Index i = 0; i < v.segmentCount; ++i)
        if (Index(v.segments[i].blocks) * kBlockCols > kVnniMaxSegment) return false;
    return true;
}

// VNNI: x gathered in the kernel's byte order, its segment sums, and per segment the scale
// and the three int8 parts (packed_layout.h).
const GemvScratch& prepareVnni(const PackedQuantWeight& W, const QuantTiles& v, const float* x) {
    thread_local GemvScratch s;
    const Index P = v.packedCols();
    s.xp.resize(std::size_t(P));
    s.xq.resize(std::size_t(kVnniParts * P));
    s.xsum.resize(std::size_t(v.segmentCount));
    s.segScale.resize(std::size_t(v.segmentCount));
    s.finite = true;
    const std::int32_t* src = W.sourceColumnVnni().data();
    for (Index p = 0; p < P; ++p) s.xp[p] = src[p] < 0 ? 0.0f : x[src[p]];
    for (Index i = 0; i < v.segmentCount; ++i) {
        const Index p0 = Index(v.segments[i].firstBlock) * kBlockCols, n = Index(v.segments[i].blocks) * kBlockCols;
        float sum = 0.0f, absmax = 0.0f;
        for (Index p = p0; p < p0 + n; ++p) {
            sum += s.xp[p];
            absmax = std::max(absmax, std::abs(s.xp[p]));
        }
        s.xsum[i] = sum;
        if (!std::isfinite(absmax) || !std::isfinite(sum)) {  // NaN/Inf have no fixed-point form: let the float kernel propagate them
            s.finite = false;
            return s;
        }
        s.segScale[i] = absmax > 0.0f ? absmax / 127.0f : 1.0f;
        vnniQuantize(s.xp.data() + p0, n, absmax > 0.0f ? 127.0f / absmax : 0.0f, s.xq.data() + p0, s.xq.data() + P + p0,
                     s.xq.data() + 2 * P + p0);
    }
    return s;
}

// x → packed order (xp), segment sums (xsum) and, for AVX2, the term coefficients (xs).
const GemvScratch& prepareActivation(const PackedQuantWeight& W, const QuantTiles& v, const float* x, KernelPath path) {
    thread_local GemvScratch s;
    const Index P = v.packedCols();
    s.xp.resize(std::size_t(P));
    const std::int32_t* src = W.sourceColumn().data();
    for (Index p = 0; p < P; ++p) s.xp[p] = src[p] < 0 ? 0.0f : x[src[p]];
    s.xsum.resize(std::size_t(v.segmentCount));
    for (Index i = 0; i < v.segmentCount; ++i) {
        const QuantSegment& seg = v.segments[i];
        float sum = 0.0f;
        for (Index p = Index(seg.firstBlock) * kBlockCols; p < Index(seg.firstBlock + seg.blocks) * kBlockCols; ++p) sum += s.xp[p];
        s.xsum[i] = sum;
    }
    if (usesAvx2(path)) {
        const int T = termsPerBlock(v.bits);
        const ActivationTerm* terms = activationTerms(v.bits);
        float factor[kMaxTermsPerBlock];
        for (int t = 0; t < T; ++t) factor[t] = std::ldexp(1.0f, terms[t].exp2);
        s.xs.resize(std::size_t(v.blocks * T));
        for (Index b = 0; b < v.blocks; ++b) {
            const float* xb = s.xp.data() + b * kBlockCols;
            float* out = s.xs.data() + b * T;
            for (int t = 0; t < T; ++t) out[t] = xb[terms[t].input] * factor[t];
        }
    }
    return s;
}

}  // namespace

PackedQuantWeight PackedQuantWeight::pack(const QuantSource& src) {
    validate(src);
    PackedQuantWeight W;
    W.m_bits = src.bits;
    W.m_rows = src.rows;
    W.m_cols = src.cols;
    W.m_groups = src.groups;
    W.m_gIdx.assign(src.gIdx, src.gIdx + src.cols);

    // Segments: the columns of each group, ascending, padded to whole blocks.
    std::vector<std::vector<std::int32_t>> members(std::size_t(src.groups));
    for (Index c = 0; c < src.cols; ++c) members[std::size_t(src.gIdx[c])].push_back(std::int32_t(c));
    for (Index g = 0; g < src.groups; ++g) {
        const auto& m = members[std::size_t(g)];
        if (m.empty()) continue;
        const Index blocks = ceilDiv(Index(m.size()), kBlockCols);
        W.m_segments.push_back({std::int32_t(g), std::int32_t(W.m_blocks), std::int32_t(blocks)});
        W.m_source.insert(W.m_source.end(), m.begin(), m.end());
        W.m_source.resize(std::size_t((W.m_blocks + blocks) * kBlockCols), -1);
        W.m_blocks += blocks;
    }
    for (Index p = 0; p < src.cols && W.m_identity; ++p) W.m_identity = W.m_source[std::size_t(p)] == p;
    if (vnniSupportsBits(src.bits)) {
        W.m_sourceVnni.resize(W.m_source.size());
        for (Index b = 0; b < W.m_blocks; ++b)
            for (int p = 0; p < kBlockCols; ++p)
                W.m_sourceVnni[std::size_t(b * kBlockCols + p)] = W.m_source[std::size_t(b * kBlockCols + vnniValue(src.bits, p))];
    }

    // Words: lane l of tile t is row 8t + l; block b holds packed positions [32b, 32b + 32).
    W.m_tiles = ceilDiv(src.rows, kTileRows);
    const Index blockWords = Index(src.bits) * kTileRows;
    W.m_words.assign(std::size_t(W.m_tiles * W.m_blocks * blockWords), 0u);
    W.m_params.assign(std::size_t(W.m_tiles * src.groups), TileGroupParams{});
    const std::int32_t* source = W.m_source.data();
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (src.rows * src.cols > (1 << 20))
    for (Index o = 0; o < src.rows; ++o) {
        const Index t = o / kTileRows, l = o % kTileRows;
        const std::uint8_t* q = src.codes + o * src.cols;
        std::uint32_t* tw = W.m_words.data() + t * W.m_blocks * blockWords + l;
        for (Index b = 0; b < W.m_blocks; ++b)
            for (int k = 0; k < kBlockCols; ++k) {
                const std::int32_t c = source[b * kBlockCols + k];
                if (c >= 0 && q[c]) putStreamValue(tw + b * blockWords, src.bits, k, q[c]);
            }
        for (Index g = 0; g < src.groups; ++g) {
            TileGroupParams& p = W.m_params[std::size_t(t * src.groups + g)];
            p.scale[l] = floatToF16(src.scales[o * src.groups + g]);
            p.zero[l] = std::uint8_t(src.zeros[o * src.groups + g]);
        }
    }
    return W;
}

QuantTiles PackedQuantWeight::view() const {
    QuantTiles v;
    v.bits = m_bits;
    v.rows = m_rows;
    v.tiles = m_tiles;
    v.blocks = m_blocks;
    v.groups = m_groups;
    v.segmentCount = Index(m_segments.size());
    v.words = m_words.data();
    v.params = m_params.data();
    v.segments = m_segments.data();
    return v;
}

std::size_t PackedQuantWeight::bytes() const {
    return m_words.size() * 4 + m_params.size() * sizeof(TileGroupParams) + m_segments.size() * sizeof(QuantSegment) +
           (m_source.size() + m_sourceVnni.size() + m_gIdx.size()) * 4;
}

std::size_t PackedQuantWeight::streamedBytes() const { return m_words.size() * 4 + m_params.size() * sizeof(TileGroupParams); }

void PackedQuantWeight::unpack(std::uint8_t* codes, float* scales, std::int32_t* zeros) const {
    const Index blockWords = Index(m_bits) * kTileRows;
    for (Index o = 0; o < m_rows; ++o) {
        const Index t = o / kTileRows, l = o % kTileRows;
        const std::uint32_t* tw = m_words.data() + t * m_blocks * blockWords + l;
        for (Index b = 0; b < m_blocks; ++b)
            for (int k = 0; k < kBlockCols; ++k)
                if (const std::int32_t c = m_source[std::size_t(b * kBlockCols + k)]; c >= 0)
                    codes[o * m_cols + c] = std::uint8_t(getStreamValue(tw + b * blockWords, m_bits, k));
        for (Index g = 0; g < m_groups; ++g) {
            const TileGroupParams& p = m_params[std::size_t(t * m_groups + g)];
            scales[o * m_groups + g] = f16ToFloat(p.scale[l]);
            zeros[o * m_groups + g] = p.zero[l];
        }
    }
}

MatrixRM PackedQuantWeight::dequantize() const {
    MatrixRM Wd(m_rows, m_cols);
    dequantizeRows(0, m_rows, Wd.data(), m_cols);
    return Wd;
}

void PackedQuantWeight::dequantizeRows(Index r0, Index r1, float* out, Index ld) const {
    if (r0 < 0 || r1 > m_rows || r0 > r1 || ld < m_cols) throw Error("quantized weight: rows or stride out of range");
    const Index blockWords = Index(m_bits) * kTileRows;
#pragma omp parallel for num_threads(threadCount()) schedule(static) if ((r1 - r0) * m_cols > (1 << 20))
    for (Index o = r0; o < r1; ++o) {
        const Index t = o / kTileRows, l = o % kTileRows;
        const std::uint32_t* tw = m_words.data() + t * m_blocks * blockWords + l;
        float* w = out + (o - r0) * ld;
        for (const QuantSegment& seg : m_segments) {
            const TileGroupParams& p = m_params[std::size_t(t * m_groups + seg.group)];
            const float s = f16ToFloat(p.scale[l]), z = float(p.zero[l]);
            for (Index b = seg.firstBlock; b < seg.firstBlock + seg.blocks; ++b)
                for (int k = 0; k < kBlockCols; ++k)
                    if (const std::int32_t c = m_source[std::size_t(b * kBlockCols + k)]; c >= 0)
                        w[c] = s * (float(getStreamValue(tw + b * blockWords, m_bits, k)) - z);  // gridValue()
        }
    }
}

KernelPath quantGemvKernel(const PackedQuantWeight& W, KernelPath path) {
    if (path != KernelPath::Vnni) return path;
    return vnniApplies(W.view()) ? KernelPath::Vnni : KernelPath::Avx2;
}

void quantGemv(const PackedQuantWeight& W, const float* x, float* y, KernelPath path) {
    const QuantTiles v = W.view();
    if (quantGemvKernel(W, path) == KernelPath::Vnni) {
        const GemvScratch& s = prepareVnni(W, v, x);
        if (!s.finite) return quantGemv(W, x, y, KernelPath::Avx2);
        detail::parallelTiles(v.tiles, double(W.streamedBytes()), [&](Index t0, Index t1) {
            quantGemv_vnni(v, s.xq.data(), s.segScale.data(), s.xsum.data(), y, t0, t1);
        });
        return;
    }
    const GemvScratch& s = prepareActivation(W, v, x, path);
    const float* xs = usesAvx2(path) ? s.xs.data() : s.xp.data();
    const float* xsum = s.xsum.data();
    detail::parallelTiles(v.tiles, double(W.streamedBytes()), [&](Index t0, Index t1) {
        if (usesAvx2(path))
            quantGemv_avx2(v, xs, xsum, y, t0, t1);
        else
            quantGemv_ref(v, xs, xsum, y, t0, t1);
    });
}

void quantMatmul(const PackedQuantWeight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path) {
    if (X.cols() != W.cols())
        throw Error("quantized product: input has " + std::to_string(X.cols()) + " features, weight expects " +
                    std::to_string(W.cols()));
    const Index n = X.rows();
    Y.resize(n, W.rows());
    if (n == 0 || W.rows() == 0) return;
    if (n <= kGemvMaxRows) {
        for (Index r = 0; r < n; ++r) quantGemv(W, X.row(r).data(), Y.row(r).data(), path);
        return;
    }
    const QuantTiles v = W.view();
    auto dequant = [&](Index t0, Index t1, float* wt, Index ldw) {
        if (usesAvx2(path))
            quantDequant_avx2(v, t0, t1, wt, ldw);
        else
            quantDequant_ref(v, t0, t1, wt, ldw);
    };
    const Index P = v.packedCols();
    if (W.identityOrder() && P == X.cols()) {
        detail::slabGemm(X, W.rows(), v.tiles, dequant, Y);
        return;
    }
    std::vector<float>& buf = detail::scratch(1);  // X gathered into packed order, zero in padding
    buf.resize(std::size_t(n * P));
    Eigen::Map<MatrixRM> Xp(buf.data(), n, P);
    const std::int32_t* src = W.sourceColumn().data();
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n * P > (1 << 18))
    for (Index r = 0; r < n; ++r) {
        const float* x = X.row(r).data();
        float* xp = Xp.row(r).data();
        for (Index p = 0; p < P; ++p) xp[p] = src[p] < 0 ? 0.0f : x[src[p]];
    }
    detail::slabGemm(Xp, W.rows(), v.tiles, dequant, Y);
}

}  // namespace qb::core::kernels
