// Scalar reference kernels (portable C++): the definition of what every optimized kernel
// computes. Straightforward loops in the same tile order as the AVX2 kernels; the low-bit
// codes are read with the GPTQ stream formula itself (value k at bits [k·bits, (k+1)·bits)).
#include <algorithm>

#include "core/kernels/kernel_impl.h"
#include "core/util/half.h"

namespace qb::core::kernels {

namespace {

// Code k (0..31) of lane l of a packed block: the GPTQ 32·bits-bit stream of that lane.
inline std::uint32_t streamValue(const std::uint32_t* block, int bits, int k, int lane) {
    const int pos = k * bits;
    const int word = pos / 32;
    const int off = pos % 32;
    std::uint32_t v = block[word * kTileRows + lane] >> off;
    if (off + bits > 32) v |= block[(word + 1) * kTileRows + lane] << (32 - off);
    return v & ((1u << bits) - 1u);
}

void storeTile(const float* acc, float* y, std::int64_t t, std::int64_t rows) {
    const std::int64_t r0 = t * kTileRows;
    const std::int64_t n = std::min<std::int64_t>(kTileRows, rows - r0);
    for (std::int64_t l = 0; l < n; ++l) y[r0 + l] = acc[l];
}

// ---- activation term tables (see packed_layout.h); order = the AVX2 kernels' order ----------
struct TermTables {
    ActivationTerm t2[32], t3[34], t4[32], t8[32];
};

constexpr TermTables makeTables() {
    TermTables T{};
    // 4 bits, word w: v & 0xF<<4j (j < 7): value q·16^j; v >> 28 for j = 7.
    for (int w = 0; w < 4; ++w)
        for (int j = 0; j < 8; ++j) T.t4[8 * w + j] = {std::uint8_t(8 * w + j), std::int8_t(j < 7 ? -4 * j : 0)};
    // 8 bits, word w: v & 0xFF, v & 0xFF00, (v >> 16) & 0xFF, (v >> 16) & 0xFF00.
    for (int w = 0; w < 8; ++w)
        for (int j = 0; j < 4; ++j) T.t8[4 * w + j] = {std::uint8_t(4 * w + j), std::int8_t(-8 * (j % 2))};
    // 2 bits, word w: v & 3<<2j (j < 8) and (v >> 16) & 3<<2(j−8).
    for (int w = 0; w < 2; ++w)
        for (int j = 0; j < 16; ++j) T.t2[16 * w + j] = {std::uint8_t(16 * w + j), std::int8_t(-2 * (j % 8))};
    // 3 bits (AutoGPTQ stream, values 10 and 21 straddle words):
    //   word 0: values 0..9 at bits 3k (v & 7<<3k), then v >> 30 = low 2 bits of value 10;
    //   word 1: v & 1 = bit 2 of value 10, values 11..20 at bits 1+3(k−11), v >> 31 = bit 0 of value 21;
    //   word 2: v & 3 = bits 1..2 of value 21, values 22..30 at bits 2+3(k−22), v >> 29 = value 31.
    int t = 0;
    for (int k = 0; k < 10; ++k) T.t3[t++] = {std::uint8_t(k), std::int8_t(-3 * k)};
    T.t3[t++] = {10, 0};
    T.t3[t++] = {10, 2};
    for (int k = 11; k < 21; ++k) T.t3[t++] = {std::uint8_t(k), std::int8_t(-(1 + 3 * (k - 11)))};
    T.t3[t++] = {21, 0};
    T.t3[t++] = {21, 1};
    for (int k = 22; k < 31; ++k) T.t3[t++] = {std::uint8_t(k), std::int8_t(-(2 + 3 * (k - 22)))};
    T.t3[t++] = {31, 0};
    return T;
}

constexpr TermTables kTables = makeTables();

// 5, 6 and 7 bits: the generic stream order of packed_layout.h.
template <int Bits>
struct GenericTerms {
    ActivationTerm term[termsPerBlock(Bits)];
};

template <int Bits>
constexpr GenericTerms<Bits> makeGenericTerms() {
    constexpr StreamPieces<Bits> P = streamPieces<Bits>();
    GenericTerms<Bits> T{};
    for (int t = 0; t < termsPerBlock(Bits); ++t) T.term[t] = {P.piece[t].input, P.piece[t].exp2};
    return T;
}

constexpr GenericTerms<5> kTerms5 = makeGenericTerms<5>();
constexpr GenericTerms<6> kTerms6 = makeGenericTerms<6>();
constexpr GenericTerms<7> kTerms7 = makeGenericTerms<7>();

}  // namespace

const ActivationTerm* activationTerms(int bits) {
    switch (bits) {
        case 2: return kTables.t2;
        case 3: return kTables.t3;
        case 4: return kTables.t4;
        case 5: return kTerms5.term;
        case 6: return kTerms6.term;
        case 7: return kTerms7.term;
        case 8: return kTables.t8;
        default: return nullptr;
    }
}

// ---- low-bit weights -----------------------------------------------------------------------

void quantGemv_ref(const QuantTiles& W, const float* xp, const float* xsum, float* y, std::int64_t t0, std::int64_t t1) {
    const int bits = W.bits;
    const std::size_t blockWords = std::size_t(bits) * kTileRows;
    for (std::int64_t t = t0; t < t1; ++t) {
        const std::uint32_t* tw = W.words + std::size_t(t) * W.tileWords();
        const TileGroupParams* tp = W.params + t * W.groups;
        float out[kTileRows] = {};
        for (std::int64_t s = 0; s < W.segmentCount; ++s) {
            const QuantSegment& seg = W.segments[s];
            float acc[kTileRows] = {};  // Σ_{i∈g} q_i · x_i per row
            for (std::int64_t b = seg.firstBlock; b < seg.firstBlock + seg.blocks; ++b) {
                const std::uint32_t* block = tw + std::size_t(b) * blockWords;
                for (int k = 0; k < kBlockCols; ++k) {
                    const float x = xp[b * kBlockCols + k];
                    for (int l = 0; l < kTileRows; ++l) acc[l] += float(streamValue(block, bits, k, l)) * x;
                }
            }
            const TileGroupParams& p = tp[seg.group];
            for (int l = 0; l < kTileRows; ++l) out[l] += f16ToFloat(p.scale[l]) * (acc[l] - float(p.zero[l]) * xsum[s]);
        }
        storeTile(out, y, t, W.rows);
    }
}

void quantDequant_ref(const QuantTiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw) {
    const int bits = W.bits;
    const std::size_t blockWords = std::size_t(bits) * kTileRows;
    for (std::int64_t t = t0; t < t1; ++t) {
        const std::uint32_t* tw = W.words + std::size_t(t) * W.tileWords();
        const TileGroupParams* tp = W.params + t * W.groups;
        float* col = wt + (t - t0) * kTileRows;
        for (std::int64_t s = 0; s < W.segmentCount; ++s) {
            const QuantSegment& seg = W.segments[s];
            const TileGroupParams& p = tp[seg.group];
            float scale[kTileRows], zero[kTileRows];
            for (int l = 0; l < kTileRows; ++l) {
                scale[l] = f16ToFloat(p.scale[l]);
                zero[l] = float(p.zero[l]);
            }
            for (std::int64_t b = seg.firstBlock; b < seg.firstBlock + seg.blocks; ++b) {
                const std::uint32_t* block = tw + std::size_t(b) * blockWords;
                for (int k = 0; k < kBlockCols; ++k) {
                    float* dst = col + (b * kBlockCols + k) * ldw;
                    // gridValue(): scale · (q − zero)
                    for (int l = 0; l < kTileRows; ++l) dst[l] = scale[l] * (float(streamValue(block, bits, k, l)) - zero[l]);
                }
            }
        }
    }
}

// ---- float baselines -----------------------------------------------------------------------

void f32Gemv_ref(const F32Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1) {
    for (std::int64_t t = t0; t < t1; ++t) {
        const float* w = W.data + std::size_t(t) * std::size_t(W.cols) * kTileRows;
        float acc[kTileRows] = {};
        for (std::int64_t c = 0; c < W.cols; ++c)
            for (int l = 0; l < kTileRows; ++l) acc[l] += w[c * kTileRows + l] * x[c];
        storeTile(acc, y, t, W.rows);
    }
}

void f16Gemv_ref(const F16Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1) {
    for (std::int64_t t = t0; t < t1; ++t) {
        const std::uint16_t* w = W.data + std::size_t(t) * std::size_t(W.cols) * kTileRows;
        float acc[kTileRows] = {};
        for (std::int64_t c = 0; c < W.cols; ++c)
            for (int l = 0; l < kTileRows; ++l) acc[l] += f16ToFloat(w[c * kTileRows + l]) * x[c];
        storeTile(acc, y, t, W.rows);
    }
}

void f16Dequant_ref(const F16Tiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw) {
    for (std::int64_t t = t0; t < t1; ++t) {
        const std::uint16_t* w = W.data + std::size_t(t) * std::size_t(W.cols) * kTileRows;
        float* col = wt + (t - t0) * kTileRows;
        for (std::int64_t c = 0; c < W.cols; ++c)
            for (int l = 0; l < kTileRows; ++l) col[c * ldw + l] = f16ToFloat(w[c * kTileRows + l]);
    }
}

// ---- int8 ----------------------------------------------------------------------------------

void int8Gemm_ref(const Int8Rows& W, const std::int8_t* X, std::int64_t n, std::int64_t ldx, std::int32_t* C,
                  std::int64_t ldc, std::int64_t r0, std::int64_t r1) {
    for (std::int64_t m = 0; m < n; ++m) {
        const std::int8_t* x = X + m * ldx;
        for (std::int64_t r = r0; r < r1; ++r) {
            const std::int8_t* w = W.data + r * W.stride;
            std::int32_t acc = 0;
            for (std::int64_t c = 0; c < W.cols; ++c) acc += std::int32_t(w[c]) * std::int32_t(x[c]);
            C[m * ldc + r] = acc;
        }
    }
}

}  // namespace qb::core::kernels
