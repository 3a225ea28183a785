#pragma once
// int8 × int8 → int32 products for W8A8 (SmoothQuant) and LLM.int8(): exact integer
// results (no float emulation). Weights: PackedInt8Weight, row-major int8 [rows][stride] with
// each row zero-padded to a multiple of 32 bytes (one AVX2 register). The AVX2 kernel uses
// llama.cpp's sign trick (maddubs(|x|, sign(x)·w), then madd with ones into int32 lanes),
// 4 weight rows × 2 tokens per step; the scalar reference is a plain int32 dot product.
// Codes must lie in −127..127 (−128 would break the sign trick; absmax quantization never
// produces it). Immutable once built; products may run concurrently.

#include <cstdint>
#include <vector>

#include "core/kernels/cpu_features.h"
#include "core/kernels/packed_layout.h"
#include "core/util/matrix.h"

namespace qb::core::kernels {

/// Bytes per padded int8 row of cols values.
[[nodiscard]] inline Index int8Stride(Index cols) { return (cols + 31) / 32 * 32; }

class PackedInt8Weight {
public:
    PackedInt8Weight() = default;
    /// codes: [rows, cols] row-major. Throws Error if a code is −128.
    PackedInt8Weight(const std::int8_t* codes, Index rows, Index cols);
    /// codes: [rows, cols] integer values held in float (RowQuantized::codes). Throws Error
    /// if a value is not an integer in −127..127.
    static PackedInt8Weight fromFloatCodes(const ConstMatrixRef& codes);

    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] Index stride() const { return int8Stride(m_cols); }
    [[nodiscard]] Int8Rows view() const { return {m_rows, m_cols, stride(), m_data.data()}; }
    [[nodiscard]] std::size_t bytes() const { return m_data.size(); }
    [[nodiscard]] const std::int8_t* row(Index r) const { return m_data.data() + r * stride(); }

private:
    Index m_rows = 0, m_cols = 0;
    std::vector<std::int8_t> m_data;  // [rows][stride]
};

/// C[m, r] = Σ_c X[m, c] · W[r, c] exactly, for m < n. X: [n][ldx] int8 codes in −127..127
/// with columns cols..stride−1 zero (ldx ≥ W.stride()); C: [n][ldc] int32.
void int8Matmul(const PackedInt8Weight& W, const std::int8_t* X, Index n, Index ldx, std::int32_t* C, Index ldc,
                KernelPath path = activeKernelPath());
/// The same product over rows held elsewhere in the padded layout (W.stride = int8Stride(W.cols),
/// codes in −127..127, padding zero): what W8A8 and LLM.int8() modules keep as their weight.
void int8Matmul(const Int8Rows& W, const std::int8_t* X, Index n, Index ldx, std::int32_t* C, Index ldc,
                KernelPath path = activeKernelPath());

}  // namespace qb::core::kernels
