#pragma once
// The tile loop of the VNNI matrix–vector kernels (KernelPath::Vnni), shared by
// kernels_vnni.cpp (2, 4 and 8 bits) and kernels_vnni_stream.cpp (5, 6 and 7 bits, compiled
// with -mavx512vbmi as well). Internal to those two files.
//
// Everything here sits in an anonymous namespace on purpose: each of the two translation
// units compiles its own copy with its own target flags. With external linkage the linker
// could keep the VBMI unit's copy of an inline function for both, and the int2/4/8 kernels
// would then run VBMI instructions on a CPU that has VNNI but no VBMI (Cascade Lake).
//
// Per tile of 8 rows (one int32 lane per row) and per segment: a block function turns each
// stream word into bytes of codes and vpdpbusd multiplies them with the broadcast 4 activation
// bytes of each of the three int8 parts (packed_layout.h), accumulating exactly in int32. At
// the end of the segment:  Σ q·x ≈ s_x · (a₁ + a₂/254 + a₃/254²)  and  y += s · (Σ q·x − z · Σ x).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/packed_layout.h"

namespace qb::core::kernels {

namespace {  // one copy per translation unit (see above)

constexpr int kVnniPrefetchBytes = 2048;  // as kernels_avx2.cpp

inline __m256i load8(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// The 4 activation bytes at p, in every lane.
inline __m256i bcast4(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// acc[part][k]: 4 independent accumulators per part hide the vpdpbusd latency.
using Acc = __m256i[kVnniParts][4];

inline __m256 partSum(const __m256i (&a)[4]) {
    return _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(a[0], a[1]), _mm256_add_epi32(a[2], a[3])));
}

inline void storeTile(__m256 v, float* y, std::int64_t t, std::int64_t rows) {
    const std::int64_t r0 = t * kTileRows;
    if (r0 + kTileRows <= rows) {
        _mm256_storeu_ps(y + r0, v);
        return;
    }
    alignas(32) float tmp[kTileRows];
    _mm256_store_ps(tmp, v);
    for (std::int64_t l = 0; r0 + l < rows; ++l) y[r0 + l] = tmp[l];
}

/// One block (32 values) of a tile: bw its Bits·8 stream words; x0/x1/x2 the block's 32 bytes
/// of each activation part, in vnniValue() order.
using BlockFn = void (*)(const std::uint32_t*, const std::int8_t*, const std::int8_t*, const std::int8_t*, Acc&);

/// y = Ŵ·x for tiles [t0, t1) (the contract of quantGemv_vnni, kernel_impl.h).
template <int Bits, BlockFn Block>
void gemvTiles(const QuantTiles& W, const std::int8_t* xq, const float* segScale, const float* xsum, float* y,
               std::int64_t t0, std::int64_t t1) {
    constexpr int kBlockWords = Bits * kTileRows;
    const std::int64_t P = W.packedCols();
    const std::int8_t* xq0 = xq;
    const std::int8_t* xq1 = xq + P;
    const std::int8_t* xq2 = xq + 2 * P;
    const __m256 base1 = _mm256_set1_ps(1.0f / kVnniBase), base2 = _mm256_set1_ps(1.0f / (kVnniBase * kVnniBase));
    for (std::int64_t t = t0; t < t1; ++t) {
        const std::uint32_t* tw = W.words + std::size_t(t) * W.tileWords();
        const TileGroupParams* tp = W.params + t * W.groups;
        __m256 total = _mm256_setzero_ps();
        for (std::int64_t s = 0; s < W.segmentCount; ++s) {
            const QuantSegment seg = W.segments[s];
            Acc a;
            for (auto& part : a)
                for (auto& v : part) v = _mm256_setzero_si256();
            const std::uint32_t* bw = tw + std::size_t(seg.firstBlock) * kBlockWords;
            std::int64_t off = std::int64_t(seg.firstBlock) * kBlockCols;
            for (int b = 0; b < seg.blocks; ++b, bw += kBlockWords, off += kBlockCols) {
                for (int line = 0; line < kBlockWords * 4; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(bw) + kVnniPrefetchBytes + line, _MM_HINT_T0);
                Block(bw, xq0 + off, xq1 + off, xq2 + off, a);
            }
            // Σ q·x = s_x · (a₁ + a₂/254 + a₃/254²), then y += s · (Σ q·x − z · Σ x)
            const __m256 qx = _mm256_mul_ps(_mm256_set1_ps(segScale[s]),
                                            _mm256_fmadd_ps(partSum(a[2]), base2, _mm256_fmadd_ps(partSum(a[1]), base1, partSum(a[0]))));
            const TileGroupParams& p = tp[seg.group];
            const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scale)));
            const __m256 zero = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p.zero))));
            total = _mm256_fmadd_ps(scale, _mm256_fnmadd_ps(zero, _mm256_set1_ps(xsum[s]), qx), total);
        }
        storeTile(total, y, t, W.rows);
    }
}

}  // namespace

}  // namespace qb::core::kernels
