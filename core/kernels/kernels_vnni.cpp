// VNNI kernels (KernelPath::Vnni): the int2/int4/int8 matrix–vector product with integer
// dot products (int5/6/7: kernels_vnni_stream.cpp). Compiled with -mavx2 -mfma -mf16c
// -mavx512f -mavx512vl -mavx512vnni and only called after a run-time CPU check; 256-bit
// vectors throughout (vpdpbusd ymm). Intrinsics and plain structs only, as kernels_avx2.cpp.
//
// Per tile of 8 rows and per segment (the loop in vnni_tiles.h): the stream words are split
// into bytes of codes with one and (+ one shift), and vpdpbusd multiplies them with the
// broadcast 4 activation bytes of each of the three int8 parts (packed_layout.h).
// Per 64 weights of int4: 3 unpack + 6 vpdpbusd ops instead of 24 (and, cvt, fma) — the
// float kernel is compute-bound at ~10 weights/cycle, this one is memory-bound.
#include <immintrin.h>

#include "core/kernels/kernel_impl.h"
#include "core/kernels/vnni_tiles.h"

namespace qb::core::kernels {

namespace {

using I64 = std::int64_t;

#define QB_DOT(acc, codes, xp) acc = _mm256_dpbusd_epi32(acc, codes, bcast4(xp))

// One block (32 values) of a tile. x0/x1/x2: the block's 32 bytes of each part.
inline void block4(const std::uint32_t* bw, const std::int8_t* x0, const std::int8_t* x1, const std::int8_t* x2, Acc& a) {
    const __m256i m = _mm256_set1_epi32(0x0F0F0F0F);
#pragma GCC unroll 4
    for (int w = 0; w < 4; ++w) {
        const __m256i v = load8(bw + w * kTileRows);
        const __m256i lo = _mm256_and_si256(v, m);                         // values 8w + {0, 2, 4, 6}
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), m);   // values 8w + {1, 3, 5, 7}
        const int k = 2 * (w % 2);
        QB_DOT(a[0][k], lo, x0 + 8 * w);
        QB_DOT(a[1][k], lo, x1 + 8 * w);
        QB_DOT(a[2][k], lo, x2 + 8 * w);
        QB_DOT(a[0][k + 1], hi, x0 + 8 * w + 4);
        QB_DOT(a[1][k + 1], hi, x1 + 8 * w + 4);
        QB_DOT(a[2][k + 1], hi, x2 + 8 * w + 4);
    }
}

inline void block8(const std::uint32_t* bw, const std::int8_t* x0, const std::int8_t* x1, const std::int8_t* x2, Acc& a) {
#pragma GCC unroll 8
    for (int w = 0; w < 8; ++w) {
        const __m256i v = load8(bw + w * kTileRows);  // bytes = values 4w..4w+3
        QB_DOT(a[0][w % 4], v, x0 + 4 * w);
        QB_DOT(a[1][w % 4], v, x1 + 4 * w);
        QB_DOT(a[2][w % 4], v, x2 + 4 * w);
    }
}

inline void block2(const std::uint32_t* bw, const std::int8_t* x0, const std::int8_t* x1, const std::int8_t* x2, Acc& a) {
    const __m256i m = _mm256_set1_epi32(0x03030303);
#pragma GCC unroll 2
    for (int w = 0; w < 2; ++w) {
        const __m256i v = load8(bw + w * kTileRows);
        const __m256i u[4] = {_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi32(v, 2), m),
                              _mm256_and_si256(_mm256_srli_epi32(v, 4), m), _mm256_and_si256(_mm256_srli_epi32(v, 6), m)};
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {  // values 16w + 4·byte + j
            QB_DOT(a[0][j], u[j], x0 + 16 * w + 4 * j);
            QB_DOT(a[1][j], u[j], x1 + 16 * w + 4 * j);
            QB_DOT(a[2][j], u[j], x2 + 16 * w + 4 * j);
        }
    }
}

#undef QB_DOT

}  // namespace

void quantGemv_vnni(const QuantTiles& W, const std::int8_t* xq, const float* segScale, const float* xsum, float* y, I64 t0, I64 t1) {
    switch (W.bits) {
        case 2: gemvTiles<2, block2>(W, xq, segScale, xsum, y, t0, t1); break;
        case 4: gemvTiles<4, block4>(W, xq, segScale, xsum, y, t0, t1); break;
        case 8: gemvTiles<8, block8>(W, xq, segScale, xsum, y, t0, t1); break;
        case 5:
        case 6:
        case 7: quantGemvStream_vnni(W, xq, segScale, xsum, y, t0, t1); break;  // needs AVX-512 VBMI
        default: break;  // the dispatcher sends 3 bits to the AVX2 kernel
    }
}

void vnniQuantize(const float* x, I64 n, float inv, std::int8_t* q0, std::int8_t* q1, std::int8_t* q2) {
    constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m256 vinv = _mm256_set1_ps(inv), base = _mm256_set1_ps(kVnniBase);
    I64 i = 0;
    auto parts = [&](__m256 t, __m256i& a, __m256i& b, __m256i& c) {
        const __m256 r1 = _mm256_round_ps(t, kRound);
        const __m256 t2 = _mm256_mul_ps(_mm256_sub_ps(t, r1), base);  // |t − r1| ≤ 1/2: |t2| ≤ 127
        const __m256 r2 = _mm256_round_ps(t2, kRound);
        const __m256 r3 = _mm256_round_ps(_mm256_mul_ps(_mm256_sub_ps(t2, r2), base), kRound);
        a = _mm256_cvtps_epi32(r1);
        b = _mm256_cvtps_epi32(r2);
        c = _mm256_cvtps_epi32(r3);
    };
    for (; i + 8 <= n; i += 8) {
        __m256i a, b, c;
        parts(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), a, b, c);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(q0 + i), _mm256_cvtepi32_epi8(a));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(q1 + i), _mm256_cvtepi32_epi8(b));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(q2 + i), _mm256_cvtepi32_epi8(c));
    }
    if (i < n) {
        alignas(32) float tail[8] = {};
        alignas(32) std::int32_t ta[8], tb[8], tc[8];
        for (I64 k = i; k < n; ++k) tail[k - i] = x[k];
        __m256i a, b, c;
        parts(_mm256_mul_ps(_mm256_load_ps(tail), vinv), a, b, c);
        _mm256_store_si256(reinterpret_cast<__m256i*>(ta), a);
        _mm256_store_si256(reinterpret_cast<__m256i*>(tb), b);
        _mm256_store_si256(reinterpret_cast<__m256i*>(tc), c);
        for (I64 k = i; k < n; ++k) {
            q0[k] = std::int8_t(ta[k - i]);
            q1[k] = std::int8_t(tb[k - i]);
            q2[k] = std::int8_t(tc[k - i]);
        }
    }
}

}  // namespace qb::core::kernels
