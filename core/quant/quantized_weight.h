#pragma once
// QuantizedWeight — the integer codes and group parameters of a grid-quantized weight
// (RTN, GPTQ, AWQ), in the unpacked form the algorithms produce; QuantizedLinear — the
// Linear module that holds one.
//
// Dequantization (GPTQ reference, quant.py):  Ŵ[r, c] = scales[r, g] · (codes[r, c] − zeros[r, g]),
// with g = gIdx[c]. Groups run along in_features: normally gIdx[c] = c / groupSize; with
// GPTQ act-order the groups are formed in the permuted column order, so gIdx is a
// "permutation of groups" (every group still holds groupSize columns, except a trailing one).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernels/quant_matmul.h"
#include "core/model/linear.h"
#include "core/quant/quant_grid.h"
#include "core/quant/quant_scheme.h"
#include "core/util/matrix.h"

namespace qb::core {

using CodeMatrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ZeroMatrix = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Number of groups along in_features: ceil(in / groupSize) (a trailing partial group is
/// allowed, e.g. in = 172, g = 32 → 6), or 1 when groupSize is empty (one group per row).
[[nodiscard]] Index groupCount(Index inFeatures, const std::optional<int>& groupSize);
/// The columns of one group: groupSize, or inFeatures when groupSize is empty.
[[nodiscard]] Index groupWidth(Index inFeatures, const std::optional<int>& groupSize);
/// gIdx[c] = c / groupSize (0 for all when groupSize is empty).
[[nodiscard]] std::vector<std::int32_t> sequentialGroupIndex(Index inFeatures, const std::optional<int>& groupSize);

struct QuantizedWeight {
    int bits = 4;
    std::optional<int> groupSize;  ///< columns per group along in_features; empty = whole row
    bool sym = false;
    Index rows = 0;  ///< out_features
    Index cols = 0;  ///< in_features
    CodeMatrix codes;                ///< [out, in], values in [0, 2^bits − 1]
    MatrixRM scales;                 ///< [out, nGroups], every value F16-exact
    ZeroMatrix zeros;                ///< [out, nGroups], values in [0, 2^bits − 1]
    std::vector<std::int32_t> gIdx;  ///< [in], group of each input column

    /// An empty weight of the given shape with sequential gIdx (codes, scales, zeros zeroed).
    static QuantizedWeight allocate(Index rows, Index cols, const WeightGridSpec& spec);

    [[nodiscard]] Index groups() const { return scales.cols(); }
    [[nodiscard]] WeightGridSpec spec() const { return {bits, groupSize, sym}; }
    /// Ŵ [out, in], row-major.
    [[nodiscard]] MatrixRM dequantize() const;
    /// Row r of dequantize() into out[cols], the same values without the whole matrix.
    void dequantizeRow(Index r, float* out) const;
    /// Bytes of the GPTQ checkpoint tensors: qweight + qzeros (int32, packed) + F16 scales + g_idx.
    [[nodiscard]] std::size_t packedBytes() const;
    /// True when gIdx is c / groupSize for every column (no act-order permutation).
    [[nodiscard]] bool hasSequentialGroups() const;
    /// Checks every size and range; throws Error naming the first inconsistency.
    void validate() const;
};

/// weight in the packed kernel layout (kernels::PackedQuantWeight::pack of its codes, scales,
/// zeros and group index): what QuantizedLinear holds. Throws Error as pack() does.
[[nodiscard]] kernels::PackedQuantWeight packQuantizedWeight(const QuantizedWeight& weight);

/// A Linear whose weight is a QuantizedWeight, held only in the packed kernel layout of
/// core/kernels (GPTQ stream words in tiles of 8 rows, F16 scales, uint8 zero points; about
/// bits/8 bytes per weight — see core/kernels/packed_layout.h). forward() runs the packed
/// low-bit kernels, dequantizing on the fly; no float copy of the weight is kept.
/// denseWeight() and weight() rebuild the float / unpacked forms on demand. Immutable and
/// thread-safe once built.
class QuantizedLinear final : public Linear {
public:
    /// method is a short label for format(), e.g. "rtn", "gptq", "awq" (may be empty).
    /// actBits: OmniQuant's weight-activation schemes quantize each input row per token
    /// (token_quant.h, simulated: x̂ is float) before the product; empty for weight-only.
    /// Throws Error if weight is inconsistent (or a scale is not F16-exact), bias has the
    /// wrong size or actBits is outside kMinActBits..kMaxActBits.
    QuantizedLinear(const QuantizedWeight& weight, std::optional<VectorF> bias, std::string method = {},
                    std::optional<int> actBits = std::nullopt);

    [[nodiscard]] Index outFeatures() const override { return m_packed.rows(); }
    [[nodiscard]] Index inFeatures() const override { return m_packed.cols(); }
    /// Y = X · Ŵᵀ + bias: through kernels::quantMatmul (matrix–vector kernel for one row,
    /// slab-dequantized GEMM for more) below kBackendGemmRows rows; from there Ŵ is
    /// dequantized kBackendGemmBlockRows output rows at a time and multiplied on the backend.
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    static constexpr Index kBackendGemmRows = 1024;
    static constexpr Index kBackendGemmBlockRows = 1024;
    /// Ŵ [out, in], dequantized on demand (bit for bit QuantizedWeight::dequantize()).
    [[nodiscard]] MatrixRM denseWeight() const override { return m_packed.dequantize(); }
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    /// packedBytes() of the weight plus the bias stored as F16 (the GPTQ checkpoint layout).
    [[nodiscard]] std::size_t storageBytes() const override;
    /// e.g. "gptq int4 g128", "rtn int3 row sym", "omniquant int4 row a8 (simulated)".
    [[nodiscard]] std::string format() const override;
    /// The per-token activation bits, or empty for a weight-only module.
    [[nodiscard]] const std::optional<int>& actBits() const { return m_actBits; }

    /// The unpacked weight, rebuilt from the packed form (codes, scales, zeros, g_idx).
    [[nodiscard]] QuantizedWeight weight() const;
    /// The packed weight the kernels read.
    [[nodiscard]] const kernels::PackedQuantWeight& packed() const { return m_packed; }
    /// The grid (bits, group size, symmetry), without rebuilding the codes as weight() does.
    [[nodiscard]] WeightGridSpec spec() const { return {m_packed.bits(), m_groupSize, m_sym}; }
    /// True when every column's group is c / groupSize (no act-order permutation).
    [[nodiscard]] bool sequentialGroups() const;

private:
    void forwardWeightOnly(const ConstMatrixRef& X, MatrixRM& Y) const;

    kernels::PackedQuantWeight m_packed;  // Ŵ: [out, in] in the kernel layout
    std::optional<int> m_groupSize;
    bool m_sym = false;
    std::size_t m_weightBytes = 0;  // packedBytes() of the weight
    std::optional<VectorF> m_bias;
    std::string m_method;
    std::optional<int> m_actBits;
};

}  // namespace qb::core
