// VNNI kernels for 5, 6 and 7 bits (KernelPath::Vnni on a CPU with AVX-512 VBMI): the
// matrix–vector product over the GPTQ bit streams with integer dot products. Compiled with the
// flags of kernels_vnni.cpp plus -mavx512vbmi, and only called after the run-time check of
// CpuFeatures::avx512vbmi (quant_matmul.cpp); 256-bit vectors; intrinsics and plain structs only.
//
// A block holds, per row (int32 lane), the 32·B-bit stream of 32 codes in B words. Group g
// (values 4g..4g+3) is the 4B-bit field at bit p = 4g·B, i.e. at bit s = p mod 32 of word
// w = p / 32 — reaching into word w + 1 when s + 4B > 32. One vpmultishiftqb spreads the field
// over the lane's 4 bytes (byte i takes the 8 stream bits from bit s + iB on; B ≤ 7, so the
// next value's low bits land above the code and one and clears them), and vpdpbusd multiplies
// them with activation bytes 4g..4g+3 of each part — the stream order, vnniValue(B, p) = p:
//
//   lane of one row, B = 5:  word 0 |v6 lo|v5 |v4 |v3 |v2 |v1 |v0 |  word 1 |...|v7|v6 hi|
//   group 1 = v4..v7 = bits 20..39: (word0 >> 20) | (word1 << 12), then bytes = fields at 0, 5, 10, 15
//
// Per 32 values × 8 rows: B loads, 8 (multishift, and), a shift/shift/or for each group that
// straddles two words (4 of 8 for B = 5 and 6, 6 for B = 7), and 24 vpdpbusd — against 36–38
// (shift, and, cvt, fma) of the AVX2 float kernel.
#include <immintrin.h>

#include "core/kernels/kernel_impl.h"
#include "core/kernels/vnni_tiles.h"

namespace qb::core::kernels {

namespace {

// vpmultishiftqb control of one 64-bit lane pair (two rows): byte i of the low row takes the
// bits from off + iB on, byte i of the high row the same 32 bits higher.
constexpr long long multishiftControl(int off, int bits) {
    unsigned long long c = 0;
    for (int i = 0; i < 4; ++i) {
        c |= static_cast<unsigned long long>(off + i * bits) << (8 * i);
        c |= static_cast<unsigned long long>(32 + off + i * bits) << (8 * (i + 4));
    }
    return static_cast<long long>(c);
}

// The codes of group G (values 4G..4G+3) of a block, one per byte, lane = row.
template <int Bits, int G>
__attribute__((always_inline)) inline __m256i groupCodes(const __m256i (&v)[Bits]) {
    constexpr int p = 4 * G * Bits, w = p / 32, s = p % 32;
    constexpr bool inOneWord = s + 4 * Bits <= 32;
    static_assert(inOneWord || w + 1 < Bits, "a group that straddles two words ends inside the block's stream");
    const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << Bits) - 1));
    if constexpr (inOneWord) {
        // Read straight from bit s of word w: a byte that runs past bit 31 picks up the other
        // row's bits (or wraps) above the code, where the mask clears them.
        return _mm256_and_si256(_mm256_multishift_epi64_epi8(_mm256_set1_epi64x(multishiftControl(s, Bits)), v[w]), mask);
    } else {
        const __m256i field = _mm256_or_si256(_mm256_srli_epi32(v[w], s), _mm256_slli_epi32(v[w + 1], 32 - s));
        return _mm256_and_si256(_mm256_multishift_epi64_epi8(_mm256_set1_epi64x(multishiftControl(0, Bits)), field), mask);
    }
}

// acc[part][G % 4] += codes of group G · activation bytes 4G..4G+3 of the part; G = 0..7.
template <int Bits, int G = 0>
__attribute__((always_inline)) inline void streamGroups(const __m256i (&v)[Bits], const std::int8_t* x0, const std::int8_t* x1,
                                                        const std::int8_t* x2, Acc& a) {
    if constexpr (G < kBlockCols / 4) {
        const __m256i q = groupCodes<Bits, G>(v);
        a[0][G % 4] = _mm256_dpbusd_epi32(a[0][G % 4], q, bcast4(x0 + 4 * G));
        a[1][G % 4] = _mm256_dpbusd_epi32(a[1][G % 4], q, bcast4(x1 + 4 * G));
        a[2][G % 4] = _mm256_dpbusd_epi32(a[2][G % 4], q, bcast4(x2 + 4 * G));
        streamGroups<Bits, G + 1>(v, x0, x1, x2, a);
    }
}

template <int Bits>
inline void blockStream(const std::uint32_t* bw, const std::int8_t* x0, const std::int8_t* x1, const std::int8_t* x2, Acc& a) {
    static_assert(Bits >= 5 && Bits <= 7, "4 codes of 8 bits would need 32 + 7 bits of a lane");
    __m256i v[Bits];
#pragma GCC unroll 7
    for (int w = 0; w < Bits; ++w) v[w] = load8(bw + w * kTileRows);
    streamGroups<Bits>(v, x0, x1, x2, a);
}

}  // namespace

void quantGemvStream_vnni(const QuantTiles& W, const std::int8_t* xq, const float* segScale, const float* xsum, float* y,
                          std::int64_t t0, std::int64_t t1) {
    switch (W.bits) {
        case 5: gemvTiles<5, blockStream<5>>(W, xq, segScale, xsum, y, t0, t1); break;
        case 6: gemvTiles<6, blockStream<6>>(W, xq, segScale, xsum, y, t0, t1); break;
        case 7: gemvTiles<7, blockStream<7>>(W, xq, segScale, xsum, y, t0, t1); break;
        default: break;  // quantGemv_vnni sends only these widths here
    }
}

}  // namespace qb::core::kernels
