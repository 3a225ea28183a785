// AVX2 + FMA + F16C kernels. This file is compiled with -mavx2 -mfma -mf16c whatever
// QB_MARCH is, and only called after a run-time CPU check (cpu_features.h), so it includes
// nothing but intrinsics and plain structs: no inline template code (Eigen, <algorithm>)
// that the linker could share with the portable translation units.
//
// Low-bit matrix–vector product, per tile of 8 output rows (one 256-bit register of stream
// words, one lane per row): a field (v >> pre) & mask is converted to float as it lies
// (q·2^k, exact) and multiplied with the prepared coefficient x·2^−k — and, cvt, fma per 8
// weights. Eight accumulators (term index mod 8) hide the FMA latency; at the end of a group
// the zero point is applied once: y += s · (Σ q·x − z · Σ x).
#include <immintrin.h>

#include "core/kernels/kernel_impl.h"

namespace qb::core::kernels {

namespace {

using I64 = std::int64_t;

// Software prefetch distance of the weight streams. The hardware prefetcher alone leaves the
// low-bit kernels (which spend many cycles per byte) short of data; 2 KB ahead, every line,
// measured best on a 2-core Zen 4 VM of an earlier session (1 KB: −10 %, none: −25 % for int4).
constexpr int kPrefetchBytes = 2048;

inline void prefetchLines(const void* p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes + line, _MM_HINT_T0);
}

inline __m256i load8(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i mask(unsigned m) { return _mm256_set1_epi32(int(m)); }

// acc += float(field) · broadcast(*c)
#define QB_TERM(acc, field, c) acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(field), _mm256_broadcast_ss(c), acc)

// One 32-input block of a tile; xs: its term coefficients (packed_layout.h, same order).
inline void block4(const std::uint32_t* bw, const float* xs, __m256 (&a)[8]) {
    // nibble j of a word: v & 0xF<<4j converts exactly to q·16^j; the top nibble (bit 31 is
    // the sign of the int32 conversion) is shifted down instead.
#pragma GCC unroll 4
    for (int w = 0; w < 4; ++w) {
        const __m256i v = load8(bw + w * kTileRows);
        const float* c = xs + 8 * w;
        QB_TERM(a[0], _mm256_and_si256(v, mask(0xFu)), c + 0);
        QB_TERM(a[1], _mm256_and_si256(v, mask(0xF0u)), c + 1);
        QB_TERM(a[2], _mm256_and_si256(v, mask(0xF00u)), c + 2);
        QB_TERM(a[3], _mm256_and_si256(v, mask(0xF000u)), c + 3);
        QB_TERM(a[4], _mm256_and_si256(v, mask(0xF0000u)), c + 4);
        QB_TERM(a[5], _mm256_and_si256(v, mask(0xF00000u)), c + 5);
        QB_TERM(a[6], _mm256_and_si256(v, mask(0xF000000u)), c + 6);
        QB_TERM(a[7], _mm256_srli_epi32(v, 28), c + 7);
    }
}

inline void block8(const std::uint32_t* bw, const float* xs, __m256 (&a)[8]) {
    const __m256i lo = mask(0xFFu), hi = mask(0xFF00u);
#pragma GCC unroll 4
    for (int w = 0; w < 8; w += 2) {
        const __m256i v0 = load8(bw + w * kTileRows), v1 = load8(bw + (w + 1) * kTileRows);
        const __m256i h0 = _mm256_srli_epi32(v0, 16), h1 = _mm256_srli_epi32(v1, 16);
        const float* c = xs + 4 * w;
        QB_TERM(a[0], _mm256_and_si256(v0, lo), c + 0);
        QB_TERM(a[1], _mm256_and_si256(v0, hi), c + 1);
        QB_TERM(a[2], _mm256_and_si256(h0, lo), c + 2);
        QB_TERM(a[3], _mm256_and_si256(h0, hi), c + 3);
        QB_TERM(a[4], _mm256_and_si256(v1, lo), c + 4);
        QB_TERM(a[5], _mm256_and_si256(v1, hi), c + 5);
        QB_TERM(a[6], _mm256_and_si256(h1, lo), c + 6);
        QB_TERM(a[7], _mm256_and_si256(h1, hi), c + 7);
    }
}

inline void block2(const std::uint32_t* bw, const float* xs, __m256 (&a)[8]) {
#pragma GCC unroll 2
    for (int w = 0; w < 2; ++w) {
        const __m256i v = load8(bw + w * kTileRows);
        const __m256i vh = _mm256_srli_epi32(v, 16);
        const float* c = xs + 16 * w;
        QB_TERM(a[0], _mm256_and_si256(v, mask(0x3u)), c + 0);
        QB_TERM(a[1], _mm256_and_si256(v, mask(0xCu)), c + 1);
        QB_TERM(a[2], _mm256_and_si256(v, mask(0x30u)), c + 2);
        QB_TERM(a[3], _mm256_and_si256(v, mask(0xC0u)), c + 3);
        QB_TERM(a[4], _mm256_and_si256(v, mask(0x300u)), c + 4);
        QB_TERM(a[5], _mm256_and_si256(v, mask(0xC00u)), c + 5);
        QB_TERM(a[6], _mm256_and_si256(v, mask(0x3000u)), c + 6);
        QB_TERM(a[7], _mm256_and_si256(v, mask(0xC000u)), c + 7);
        QB_TERM(a[0], _mm256_and_si256(vh, mask(0x3u)), c + 8);
        QB_TERM(a[1], _mm256_and_si256(vh, mask(0xCu)), c + 9);
        QB_TERM(a[2], _mm256_and_si256(vh, mask(0x30u)), c + 10);
        QB_TERM(a[3], _mm256_and_si256(vh, mask(0xC0u)), c + 11);
        QB_TERM(a[4], _mm256_and_si256(vh, mask(0x300u)), c + 12);
        QB_TERM(a[5], _mm256_and_si256(vh, mask(0xC00u)), c + 13);
        QB_TERM(a[6], _mm256_and_si256(vh, mask(0x3000u)), c + 14);
        QB_TERM(a[7], _mm256_and_si256(vh, mask(0xC000u)), c + 15);
    }
}

// 3 bits: 34 terms (kTerms3 in kernels_ref.cpp), accumulator = term index mod 8.
inline void block3(const std::uint32_t* bw, const float* c, __m256 (&a)[8]) {
    const __m256i v0 = load8(bw), v1 = load8(bw + kTileRows), v2 = load8(bw + 2 * kTileRows);
    // word 0: values 0..9, then the low 2 bits of value 10
    QB_TERM(a[0], _mm256_and_si256(v0, mask(7u << 0)), c + 0);
    QB_TERM(a[1], _mm256_and_si256(v0, mask(7u << 3)), c + 1);
    QB_TERM(a[2], _mm256_and_si256(v0, mask(7u << 6)), c + 2);
    QB_TERM(a[3], _mm256_and_si256(v0, mask(7u << 9)), c + 3);
    QB_TERM(a[4], _mm256_and_si256(v0, mask(7u << 12)), c + 4);
    QB_TERM(a[5], _mm256_and_si256(v0, mask(7u << 15)), c + 5);
    QB_TERM(a[6], _mm256_and_si256(v0, mask(7u << 18)), c + 6);
    QB_TERM(a[7], _mm256_and_si256(v0, mask(7u << 21)), c + 7);
    QB_TERM(a[0], _mm256_and_si256(v0, mask(7u << 24)), c + 8);
    QB_TERM(a[1], _mm256_and_si256(v0, mask(7u << 27)), c + 9);
    QB_TERM(a[2], _mm256_srli_epi32(v0, 30), c + 10);
    // word 1: bit 2 of value 10, values 11..20, bit 0 of value 21
    QB_TERM(a[3], _mm256_and_si256(v1, mask(1u)), c + 11);
    QB_TERM(a[4], _mm256_and_si256(v1, mask(7u << 1)), c + 12);
    QB_TERM(a[5], _mm256_and_si256(v1, mask(7u << 4)), c + 13);
    QB_TERM(a[6], _mm256_and_si256(v1, mask(7u << 7)), c + 14);
    QB_TERM(a[7], _mm256_and_si256(v1, mask(7u << 10)), c + 15);
    QB_TERM(a[0], _mm256_and_si256(v1, mask(7u << 13)), c + 16);
    QB_TERM(a[1], _mm256_and_si256(v1, mask(7u << 16)), c + 17);
    QB_TERM(a[2], _mm256_and_si256(v1, mask(7u << 19)), c + 18);
    QB_TERM(a[3], _mm256_and_si256(v1, mask(7u << 22)), c + 19);
    QB_TERM(a[4], _mm256_and_si256(v1, mask(7u << 25)), c + 20);
    QB_TERM(a[5], _mm256_and_si256(v1, mask(7u << 28)), c + 21);
    QB_TERM(a[6], _mm256_srli_epi32(v1, 31), c + 22);
    // word 2: bits 1..2 of value 21, values 22..30, value 31
    QB_TERM(a[7], _mm256_and_si256(v2, mask(3u)), c + 23);
    QB_TERM(a[0], _mm256_and_si256(v2, mask(7u << 2)), c + 24);
    QB_TERM(a[1], _mm256_and_si256(v2, mask(7u << 5)), c + 25);
    QB_TERM(a[2], _mm256_and_si256(v2, mask(7u << 8)), c + 26);
    QB_TERM(a[3], _mm256_and_si256(v2, mask(7u << 11)), c + 27);
    QB_TERM(a[4], _mm256_and_si256(v2, mask(7u << 14)), c + 28);
    QB_TERM(a[5], _mm256_and_si256(v2, mask(7u << 17)), c + 29);
    QB_TERM(a[6], _mm256_and_si256(v2, mask(7u << 20)), c + 30);
    QB_TERM(a[7], _mm256_and_si256(v2, mask(7u << 23)), c + 31);
    QB_TERM(a[0], _mm256_and_si256(v2, mask(7u << 26)), c + 32);
    QB_TERM(a[1], _mm256_srli_epi32(v2, 29), c + 33);
}

// 5, 6 and 7 bits: the generic piece order of packed_layout.h (streamPieces), expanded at
// compile time (one template instance per piece, so every shift, mask and accumulator is a
// constant): each piece is extracted as a small integer, (v >> off) & (2^width − 1), then cvt
// and fma with x·2^lowBit. The masks depend on the width only (a handful per block, kept in
// registers); masking in place as the 4-bit block does would need up to 38 distinct masks,
// which GCC rebuilt in the loop one by one (movabs, vmovq, vpbroadcastq per piece).
template <int Bits, int T = 0>
__attribute__((always_inline)) inline void streamTerms(const std::uint32_t* bw, const float* c, __m256 (&a)[8]) {
    if constexpr (T < termsPerBlock(Bits)) {
        constexpr StreamPiece p = streamPieces<Bits>().piece[T];
        const __m256i v = load8(bw + p.word * kTileRows);
        if constexpr (p.shifted)
            QB_TERM(a[T % 8], _mm256_srli_epi32(v, p.off), c + T);
        else if constexpr (p.off == 0)
            QB_TERM(a[T % 8], _mm256_and_si256(v, mask((1u << p.width) - 1u)), c + T);
        else
            QB_TERM(a[T % 8], _mm256_and_si256(_mm256_srli_epi32(v, p.off), mask((1u << p.width) - 1u)), c + T);
        streamTerms<Bits, T + 1>(bw, c, a);
    }
}

template <int Bits>
inline void blockStream(const std::uint32_t* bw, const float* c, __m256 (&a)[8]) {
    streamTerms<Bits>(bw, c, a);
}

#undef QB_TERM

inline void storeTile(__m256 v, float* y, I64 t, I64 rows) {
    const I64 r0 = t * kTileRows;
    if (r0 + kTileRows <= rows) {
        _mm256_storeu_ps(y + r0, v);
        return;
    }
    alignas(32) float tmp[kTileRows];
    _mm256_store_ps(tmp, v);
    for (I64 l = 0; r0 + l < rows; ++l) y[r0 + l] = tmp[l];
}

inline __m256 sum8(const __m256 (&a)[8]) {
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])),
                         _mm256_add_ps(_mm256_add_ps(a[4], a[5]), _mm256_add_ps(a[6], a[7])));
}

template <int Bits, void (*Block)(const std::uint32_t*, const float*, __m256 (&)[8])>
void quantGemvTiles(const QuantTiles& W, const float* xs, const float* xsum, float* y, I64 t0, I64 t1) {
    constexpr int kTerms = termsPerBlock(Bits);
    constexpr int kBlockWords = Bits * kTileRows;
    for (I64 t = t0; t < t1; ++t) {
        const std::uint32_t* tw = W.words + std::size_t(t) * W.tileWords();
        const TileGroupParams* tp = W.params + t * W.groups;
        __m256 total = _mm256_setzero_ps();
        for (I64 s = 0; s < W.segmentCount; ++s) {
            const QuantSegment seg = W.segments[s];
            __m256 a[8];
            for (auto& v : a) v = _mm256_setzero_ps();
            const std::uint32_t* bw = tw + std::size_t(seg.firstBlock) * kBlockWords;
            const float* c = xs + std::size_t(seg.firstBlock) * kTerms;
            for (int b = 0; b < seg.blocks; ++b, bw += kBlockWords, c += kTerms) {
                prefetchLines(bw, kBlockWords * 4);
                Block(bw, c, a);
            }
            // y += s · (Σ q·x − z · Σ x)
            const TileGroupParams& p = tp[seg.group];
            const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scale)));
            const __m256 zero = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p.zero))));
            total = _mm256_fmadd_ps(scale, _mm256_fnmadd_ps(zero, _mm256_set1_ps(xsum[s]), sum8(a)), total);
        }
        storeTile(total, y, t, W.rows);
    }
}

}  // namespace

void quantGemv_avx2(const QuantTiles& W, const float* xs, const float* xsum, float* y, I64 t0, I64 t1) {
    switch (W.bits) {
        case 2: quantGemvTiles<2, block2>(W, xs, xsum, y, t0, t1); break;
        case 3: quantGemvTiles<3, block3>(W, xs, xsum, y, t0, t1); break;
        case 4: quantGemvTiles<4, block4>(W, xs, xsum, y, t0, t1); break;
        case 5: quantGemvTiles<5, blockStream<5>>(W, xs, xsum, y, t0, t1); break;
        case 6: quantGemvTiles<6, blockStream<6>>(W, xs, xsum, y, t0, t1); break;
        case 7: quantGemvTiles<7, blockStream<7>>(W, xs, xsum, y, t0, t1); break;
        case 8: quantGemvTiles<8, block8>(W, xs, xsum, y, t0, t1); break;
        default: break;  // rejected when the weight was packed
    }
}

void quantDequant_avx2(const QuantTiles& W, I64 t0, I64 t1, float* wt, I64 ldw) {
    const int bits = W.bits;
    const std::size_t blockWords = std::size_t(bits) * kTileRows;
    const __m256i valueMask = _mm256_set1_epi32(int((1u << bits) - 1u));
    for (I64 t = t0; t < t1; ++t) {
        const std::uint32_t* tw = W.words + std::size_t(t) * W.tileWords();
        const TileGroupParams* tp = W.params + t * W.groups;
        float* col = wt + (t - t0) * kTileRows;
        for (I64 s = 0; s < W.segmentCount; ++s) {
            const QuantSegment seg = W.segments[s];
            const TileGroupParams& p = tp[seg.group];
            const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scale)));
            const __m256 zero = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p.zero))));
            for (I64 b = seg.firstBlock; b < seg.firstBlock + seg.blocks; ++b) {
                const std::uint32_t* bw = tw + std::size_t(b) * blockWords;
                for (int k = 0; k < kBlockCols; ++k) {
                    // value k of the stream: bits [k·bits, (k+1)·bits), possibly across two words
                    const int pos = k * bits, word = pos / 32, off = pos % 32;
                    __m256i v = _mm256_srl_epi32(load8(bw + word * kTileRows), _mm_cvtsi32_si128(off));
                    if (off + bits > 32)
                        v = _mm256_or_si256(v, _mm256_sll_epi32(load8(bw + (word + 1) * kTileRows), _mm_cvtsi32_si128(32 - off)));
                    const __m256 q = _mm256_cvtepi32_ps(_mm256_and_si256(v, valueMask));
                    // gridValue(): scale · (q − zero), the same two roundings as the reference
                    _mm256_storeu_ps(col + (b * kBlockCols + k) * ldw, _mm256_mul_ps(scale, _mm256_sub_ps(q, zero)));
                }
            }
        }
    }
}

// ---- float baselines -----------------------------------------------------------------------

void f32Gemv_avx2(const F32Tiles& W, const float* x, float* y, I64 t0, I64 t1) {
    const I64 cols = W.cols, main = cols - cols % 8;
    for (I64 t = t0; t < t1; ++t) {
        const float* w = W.data + std::size_t(t) * std::size_t(cols) * kTileRows;
        __m256 a[8];
        for (auto& v : a) v = _mm256_setzero_ps();
        for (I64 c = 0; c < main; c += 8) {
            prefetchLines(w + c * kTileRows, 8 * kTileRows * 4);
#pragma GCC unroll 8
            for (int k = 0; k < 8; ++k)
                a[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + (c + k) * kTileRows), _mm256_broadcast_ss(x + c + k), a[k]);
        }
        for (I64 c = main; c < cols; ++c)
            a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + c * kTileRows), _mm256_broadcast_ss(x + c), a[0]);
        storeTile(sum8(a), y, t, W.rows);
    }
}

void f16Gemv_avx2(const F16Tiles& W, const float* x, float* y, I64 t0, I64 t1) {
    const I64 cols = W.cols, main = cols - cols % 8;
    auto row = [](const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); };
    for (I64 t = t0; t < t1; ++t) {
        const std::uint16_t* w = W.data + std::size_t(t) * std::size_t(cols) * kTileRows;
        __m256 a[8];
        for (auto& v : a) v = _mm256_setzero_ps();
        for (I64 c = 0; c < main; c += 8) {
            prefetchLines(w + c * kTileRows, 8 * kTileRows * 2);
#pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) a[k] = _mm256_fmadd_ps(row(w + (c + k) * kTileRows), _mm256_broadcast_ss(x + c + k), a[k]);
        }
        for (I64 c = main; c < cols; ++c) a[0] = _mm256_fmadd_ps(row(w + c * kTileRows), _mm256_broadcast_ss(x + c), a[0]);
        storeTile(sum8(a), y, t, W.rows);
    }
}

void f16Dequant_avx2(const F16Tiles& W, I64 t0, I64 t1, float* wt, I64 ldw) {
    for (I64 t = t0; t < t1; ++t) {
        const std::uint16_t* w = W.data + std::size_t(t) * std::size_t(W.cols) * kTileRows;
        float* col = wt + (t - t0) * kTileRows;
        for (I64 c = 0; c < W.cols; ++c)
            _mm256_storeu_ps(col + c * ldw, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c * kTileRows))));
    }
}

// ---- int8 × int8 → int32 -------------------------------------------------------------------
// llama.cpp's sign trick: maddubs multiplies unsigned by signed bytes, so multiply |x| by
// sign(x)·w; |x|, |w| ≤ 127 keep every pair sum ≤ 2·127² = 32258 below the int16 saturation.
// madd with ones widens the pairs to int32: exact.

namespace {

inline __m256i dot32(__m256i ax, __m256i x, __m256i w, __m256i ones) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x)), ones);
}

inline std::int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

inline __m256i loadi8(const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// C[m][r0..r0+R) for tokens m0..m0+M (R ≤ 4, M ≤ 2 at compile time).
template <int R, int M>
void int8Micro(const Int8Rows& W, const std::int8_t* X, I64 ldx, std::int32_t* C, I64 ldc, I64 r0, I64 m0) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[M][R];
    for (int m = 0; m < M; ++m)
        for (int r = 0; r < R; ++r) acc[m][r] = _mm256_setzero_si256();
    const std::int8_t* w[R];
    for (int r = 0; r < R; ++r) w[r] = W.data + (r0 + r) * W.stride;
    for (I64 c = 0; c < W.stride; c += 32) {
        __m256i x[M], ax[M];
        for (int m = 0; m < M; ++m) {
            x[m] = loadi8(X + (m0 + m) * ldx + c);
            ax[m] = _mm256_abs_epi8(x[m]);
        }
        for (int r = 0; r < R; ++r) {
            const __m256i wv = loadi8(w[r] + c);
            for (int m = 0; m < M; ++m) acc[m][r] = _mm256_add_epi32(acc[m][r], dot32(ax[m], x[m], wv, ones));
        }
    }
    for (int m = 0; m < M; ++m)
        for (int r = 0; r < R; ++r) C[(m0 + m) * ldc + r0 + r] = hsum(acc[m][r]);
}

template <int M>
void int8Rows(const Int8Rows& W, const std::int8_t* X, I64 ldx, std::int32_t* C, I64 ldc, I64 r0, I64 r1, I64 m0) {
    I64 r = r0;
    for (; r + 4 <= r1; r += 4) int8Micro<4, M>(W, X, ldx, C, ldc, r, m0);
    for (; r < r1; ++r) int8Micro<1, M>(W, X, ldx, C, ldc, r, m0);
}

}  // namespace

void int8Gemm_avx2(const Int8Rows& W, const std::int8_t* X, I64 n, I64 ldx, std::int32_t* C, I64 ldc, I64 r0, I64 r1) {
    I64 m = 0;
    for (; m + 2 <= n; m += 2) int8Rows<2>(W, X, ldx, C, ldc, r0, r1, m);
    for (; m < n; ++m) int8Rows<1>(W, X, ldx, C, ldc, r0, r1, m);
}

}  // namespace qb::core::kernels
