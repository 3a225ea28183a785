#pragma once
// PackedQuantWeight — low-bit weights (int2..int8, per-group F16 scales and zero points,
// act-order g_idx) in the kernel layout of packed_layout.h, and the products that read them
// directly, dequantizing on the fly:
//
//   quantMatmul(W, X, Y):  Y[n, out] = X[n, in] · Ŵᵀ,   Ŵ[o, i] = s[g, o] · (q[o, i] − z[g, o]), g = g_idx[i]
//
// n == 1 (decode) runs the matrix–vector kernel over tiles of 8 rows (threads split the
// tiles; KernelPath::Vnni runs int2 and int4..int8 with integer dot products, packed_layout.h); n ≥ 2 (prefill) dequantizes a slab of a few tiles at a time into a per-thread
// buffer of ~256 KB — exactly the values of QuantizedWeight::dequantize() — and multiplies
// it with Eigen's GEMM; threads split (row block, slab) tasks. No float copy of the whole
// weight is ever made.
//
// Thread-safety: a PackedQuantWeight is immutable after pack(); products may run
// concurrently from several threads (each call uses threadCount() OpenMP threads).

#include <cstdint>
#include <optional>
#include <vector>

#include "core/kernels/cpu_features.h"
#include "core/kernels/packed_layout.h"
#include "core/util/matrix.h"

namespace qb::core::kernels {

/// The unpacked form a quantizer produces (not owned; shapes as in QuantizedWeight).
struct QuantSource {
    int bits = 4;                         ///< 2..8
    Index rows = 0;                       ///< out_features
    Index cols = 0;                       ///< in_features
    Index groups = 0;                     ///< number of groups along in_features
    const std::uint8_t* codes = nullptr;  ///< [rows, cols] row-major, 0..2^bits − 1
    const float* scales = nullptr;        ///< [rows, groups] row-major, F16-exact values
    const std::int32_t* zeros = nullptr;  ///< [rows, groups] row-major, 0..2^bits − 1
    const std::int32_t* gIdx = nullptr;   ///< [cols], group of each input column
};

class PackedQuantWeight {
public:
    PackedQuantWeight() = default;
    /// Repacks src (see packed_layout.h). Throws Error if bits is not in 2..8, a code,
    /// zero point or g_idx value is out of range, or a scale is not F16-exact.
    static PackedQuantWeight pack(const QuantSource& src);

    [[nodiscard]] int bits() const { return m_bits; }
    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] Index groups() const { return m_groups; }
    /// The packed input order: sourceColumn()[p] is the input column of packed position p,
    /// or −1 for padding. [tiles' packedCols]
    [[nodiscard]] const std::vector<std::int32_t>& sourceColumn() const { return m_source; }
    /// The same map in the byte order of the VNNI kernel (vnniValue() inside each block);
    /// empty for 3 bits.
    [[nodiscard]] const std::vector<std::int32_t>& sourceColumnVnni() const { return m_sourceVnni; }
    /// True when packed position p is column p for every column (no act-order, no padding
    /// inside the row): the activation is used without a gather.
    [[nodiscard]] bool identityOrder() const { return m_identity; }
    [[nodiscard]] const std::vector<std::int32_t>& gIdx() const { return m_gIdx; }
    [[nodiscard]] QuantTiles view() const;
    /// Bytes held in memory: words, group parameters, segments, gather map and g_idx.
    [[nodiscard]] std::size_t bytes() const;
    /// Bytes a matrix–vector product streams from memory: words + group parameters.
    [[nodiscard]] std::size_t streamedBytes() const;

    /// The unpacked form back: codes [rows, cols], scales and zeros [rows, groups] (row-major).
    void unpack(std::uint8_t* codes, float* scales, std::int32_t* zeros) const;
    /// Ŵ [rows, cols] in float, bit for bit QuantizedWeight::dequantize().
    [[nodiscard]] MatrixRM dequantize() const;
    /// Rows [r0, r1) of Ŵ, the same values, into out [r1 − r0, cols] (row stride ld ≥ cols).
    void dequantizeRows(Index r0, Index r1, float* out, Index ld) const;

private:
    int m_bits = 4;
    Index m_rows = 0, m_cols = 0, m_groups = 0, m_tiles = 0, m_blocks = 0;
    bool m_identity = true;
    std::vector<std::uint32_t> m_words;        // [tiles][blocks][bits][8]
    std::vector<TileGroupParams> m_params;     // [tiles][groups]
    std::vector<QuantSegment> m_segments;      // one per non-empty group, ascending group
    std::vector<std::int32_t> m_source;        // [blocks·32] input column or −1
    std::vector<std::int32_t> m_sourceVnni;    // [blocks·32] the same, VNNI byte order
    std::vector<std::int32_t> m_gIdx;          // [cols]
};

/// Y[n, rows] = X[n, cols] · Ŵᵀ (Y is resized). Throws Error if X has the wrong width.
void quantMatmul(const PackedQuantWeight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path = activeKernelPath());

/// y[rows] = Ŵ · x[cols] (one matrix–vector product; the decode step).
void quantGemv(const PackedQuantWeight& W, const float* x, float* y, KernelPath path = activeKernelPath());

/// The kernel quantGemv(W, x, y, path) runs: path itself, except that Vnni runs the Avx2 kernel
/// for 3 bits, for 5–7 bits on a CPU without AVX-512 VBMI and for a group run longer than
/// 65,535 inputs (and, per call, for an activation that is not finite).
[[nodiscard]] KernelPath quantGemvKernel(const PackedQuantWeight& W, KernelPath path);

}  // namespace qb::core::kernels
