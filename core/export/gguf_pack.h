#pragma once
// GGUF tensor packing, writer side: float rows → the bytes of a GGUF tensor type.
//
// Block layouts follow ggml-common.h (each a plain struct with a static_assert on its size in
// gguf_pack.cpp); the legacy formats quantize as ggml-quants.c's quantize_row_*_ref do
// (round to nearest with the block's absmax or min/max scale):
//   Q8_0  32 values: d = absmax/127, q = round(x/d) ∈ [-127,127]               34 bytes
//   Q4_0  32 values: d = m/-8 (m the value of largest |x|), q = min(15, ⌊x/d + 8.5⌋), x ≈ d(q−8)  18 bytes
//   Q4_1  32 values: d = (max−min)/15, m = min, q = ⌊(x−m)/d + 0.5⌋, x ≈ dq + m     20 bytes
//   Q5_0  32 values: d = m/-16, q = min(31, ⌊x/d + 16.5⌋), x ≈ d(q−16); bit 4 in qh  22 bytes
//   Q5_1  32 values: d = (max−min)/31, m = min, x ≈ dq + m; bit 4 in qh               24 bytes
//   Q4_K 256 values: 8 sub-blocks of 32 with 6-bit scale and min, x ≈ d·sc·q − dmin·mn  144 bytes
//   Q6_K 256 values: 16 sub-blocks of 16 with int8 scales, x ≈ d·sc·(q−32)             210 bytes
// d, m, dmin are stored as F16. The K formats use a plain absmax / min-max choice of the
// sub-block scales followed by round-to-nearest (not ggml's iterative scale search), so their
// bytes are valid K blocks but may differ from llama-quantize's.
// Thread-safety: pure functions.

#include <cstddef>
#include <cstdint>

#include "core/export/gguf_types.h"

namespace qb::core {

/// Values per block: 1 for F32/F16/BF16, 32 for Q4_0..Q8_0, 256 for Q4_K/Q6_K.
[[nodiscard]] int ggufPackBlockSize(GgmlType type);
/// Bytes per block.
[[nodiscard]] std::size_t ggufPackBlockBytes(GgmlType type);
/// Bytes of a row of n values; n must be a multiple of ggufPackBlockSize(type).
[[nodiscard]] std::size_t ggufPackedRowBytes(GgmlType type, std::int64_t n);
/// Packs x[0, n) into out[0, ggufPackedRowBytes(type, n)). n must be a multiple of the block size
/// (throws Error otherwise). Values must be finite.
void ggufPackRow(GgmlType type, const float* x, std::int64_t n, std::uint8_t* out);

/// Whether groups of 32 on a grid of `bits` (symmetric: zero point 2^(bits−1)) lie on type's
/// block grid, so the codes can be placed without a second rounding:
///   Q8_0 / Q5_0 / Q4_0  symmetric, bits ≤ 8 / 5 / 4: q = code − zero (+ 16 / + 8), d = scale (exact)
///   Q5_1 / Q4_1         any grid, bits ≤ 5 / 4:      q = code, d = scale, m = F16(−scale·zero)
/// (m is the one value rounded: |Δx| ≤ |scale·zero|·2⁻¹¹). Other types (F16, K formats) never.
[[nodiscard]] bool ggufHoldsGrid(GgmlType type, int bits, bool sym);
/// Packs one row of grid codes into out[0, ggufPackedRowBytes(type, n)) as ggufHoldsGrid
/// describes. codes: [n] in [0, 2^bits); scales, zeros: one per block of 32 ([n/32]); scales
/// must be F16-exact. Throws Error when type cannot hold the codes or n is not a multiple of 32.
void ggufPackCodesRow(GgmlType type, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros, std::int64_t n,
                      std::uint8_t* out);

}  // namespace qb::core
