#pragma once
// The float baselines of the packed kernels, with the same tile loop as the low-bit ones
// (packed_layout.h): weights in tiles of 8 rows, [tiles][in][8], a matrix–vector kernel that
// broadcasts x_i and accumulates 8 rows at once, and for n ≥ 2 rows the same slab GEMM.
//   PackedF32Weight — FP32 weights (the reference format of benchmarks; 4 bytes/weight)
//   PackedF16Weight — IEEE binary16 weights converted with F16C on the fly (2 bytes/weight)
// Immutable once built; products may run concurrently.

#include <cstdint>
#include <vector>

#include "core/kernels/cpu_features.h"
#include "core/kernels/packed_layout.h"
#include "core/util/matrix.h"

namespace qb::core::kernels {

class PackedF32Weight {
public:
    PackedF32Weight() = default;
    /// W: [rows, cols].
    explicit PackedF32Weight(const ConstMatrixRef& W);

    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] F32Tiles view() const { return {m_rows, m_cols, m_tiles, m_data.data()}; }
    /// Bytes of the weights (what a matrix–vector product streams).
    [[nodiscard]] std::size_t bytes() const { return m_data.size() * sizeof(float); }

private:
    Index m_rows = 0, m_cols = 0, m_tiles = 0;
    std::vector<float> m_data;  // [tiles][cols][8]
};

class PackedF16Weight {
public:
    PackedF16Weight() = default;
    /// W: [rows, cols] in float, rounded to the nearest F16 (ties to even).
    explicit PackedF16Weight(const ConstMatrixRef& W);
    /// W: [rows, cols] row-major IEEE binary16 bits (not owned; copied).
    PackedF16Weight(const std::uint16_t* W, Index rows, Index cols);

    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] F16Tiles view() const { return {m_rows, m_cols, m_tiles, m_data.data()}; }
    [[nodiscard]] std::size_t bytes() const { return m_data.size() * sizeof(std::uint16_t); }
    /// The weights in float [rows, cols].
    [[nodiscard]] MatrixRM toFloat() const;

private:
    template <class Get>
    void fill(Index rows, Index cols, Get&& get);
    Index m_rows = 0, m_cols = 0, m_tiles = 0;
    std::vector<std::uint16_t> m_data;  // [tiles][cols][8]
};

/// Y[n, rows] = X[n, cols] · Wᵀ (Y is resized). Throw Error if X has the wrong width.
void f32Matmul(const PackedF32Weight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path = activeKernelPath());
void f16Matmul(const PackedF16Weight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path = activeKernelPath());
/// y[rows] = W · x[cols].
void f32Gemv(const PackedF32Weight& W, const float* x, float* y, KernelPath path = activeKernelPath());
void f16Gemv(const PackedF16Weight& W, const float* x, float* y, KernelPath path = activeKernelPath());

}  // namespace qb::core::kernels
