#pragma once
// The per-path kernels behind the dispatchers of quant_matmul.h, float_matmul.h and
// int8_gemm.h: *_ref in kernels_ref.cpp (portable scalar C++, the reference every optimized
// kernel is tested against) and *_avx2 in kernels_avx2.cpp (AVX2 + FMA + F16C; call only
// when kernelPathAvailable(KernelPath::Avx2)). Plain pointers and the views of
// packed_layout.h only. Each kernel handles a range of tiles (or rows) so that the caller
// can split the work between threads; none allocates.
//
// Shapes: "tile t" covers output rows [8t, 8t+8) ∩ [0, rows); y has `rows` entries.
// wt (dequantized slab): [packedCols][ldw] floats, tile t at columns (t − tileBegin)·8.

#include <cstdint>

#include "core/kernels/packed_layout.h"

namespace qb::core::kernels {

// ---- low-bit weights -----------------------------------------------------------------------
/// y = Ŵ·x for tiles [t0, t1). xp: the activation gathered into packed order [packedCols];
/// xsum: Σ xp over each segment [segmentCount].
void quantGemv_ref(const QuantTiles& W, const float* xp, const float* xsum, float* y, std::int64_t t0, std::int64_t t1);
/// Same, from the term coefficients xs [blocks · termsPerBlock(bits)] (see packed_layout.h).
void quantGemv_avx2(const QuantTiles& W, const float* xs, const float* xsum, float* y, std::int64_t t0, std::int64_t t1);
/// Same with the three int8 parts of the activation (packed_layout.h, VNNI section): xq
/// [kVnniParts][packedCols] in the order of vnniValue(), segScale [segmentCount] the s of
/// each segment. Bits 2 and 4..8 (vnniSupportsBits); 5, 6 and 7 only when
/// cpuFeatures().avx512vbmi; every segment at most 65,535 inputs (int32 sums).
void quantGemv_vnni(const QuantTiles& W, const std::int8_t* xq, const float* segScale, const float* xsum, float* y,
                    std::int64_t t0, std::int64_t t1);
/// The 5/6/7-bit part of quantGemv_vnni (kernels_vnni_stream.cpp, compiled with AVX-512 VBMI).
void quantGemvStream_vnni(const QuantTiles& W, const std::int8_t* xq, const float* segScale, const float* xsum, float* y,
                          std::int64_t t0, std::int64_t t1);
/// q_k[i] for the three parts of x[i] · inv (|x · inv| ≤ 127), i < n.
void vnniQuantize(const float* x, std::int64_t n, float inv, std::int8_t* q0, std::int8_t* q1, std::int8_t* q2);
/// wt = Ŵᵀ for tiles [t0, t1), in packed input order: scale · (code − zero), bit for bit the
/// value QuantizedWeight::dequantize() computes.
void quantDequant_ref(const QuantTiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw);
void quantDequant_avx2(const QuantTiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw);

// ---- float baselines (same tile loop) -----------------------------------------------------
void f32Gemv_ref(const F32Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1);
void f32Gemv_avx2(const F32Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1);
void f16Gemv_ref(const F16Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1);
void f16Gemv_avx2(const F16Tiles& W, const float* x, float* y, std::int64_t t0, std::int64_t t1);
void f16Dequant_ref(const F16Tiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw);
void f16Dequant_avx2(const F16Tiles& W, std::int64_t t0, std::int64_t t1, float* wt, std::int64_t ldw);

// ---- int8 × int8 → int32, exact ------------------------------------------------------------
/// C[m][r] = Σ_c X[m][c] · W[r][c] for tokens m < n and rows [r0, r1). X: [n][ldx] int8, zero-
/// padded to W.stride; codes in −127..127 (−128 is not allowed: the AVX2 sign trick needs |x| ≤ 127).
void int8Gemm_ref(const Int8Rows& W, const std::int8_t* X, std::int64_t n, std::int64_t ldx, std::int32_t* C,
                  std::int64_t ldc, std::int64_t r0, std::int64_t r1);
void int8Gemm_avx2(const Int8Rows& W, const std::int8_t* X, std::int64_t n, std::int64_t ldx, std::int32_t* C,
                   std::int64_t ldc, std::int64_t r0, std::int64_t r1);

}  // namespace qb::core::kernels
