#pragma once
// LLM.int8() — Dettmers, Lewis, Belkada, Zettlemoyer, "LLM.int8(): 8-bit Matrix
// Multiplication for Transformers at Scale" (NeurIPS 2022).
//
// Vector-wise int8 quantization (eq. 1–2): per-token (row) absmax scales for X and
// per-output-channel absmax scales for W. Mixed-precision decomposition (eq. 3): the input
// columns O = { j : ∃t |X_tj| ≥ threshold } of the current X are multiplied in floating point,
//   Y = X[:, O] · W[:, O]ᵀ  +  s_x s_wᵀ ⊙ (X_q[:, ∉O] · W_q[:, ∉O]ᵀ)  + bias,
// where X_q is quantized with the outlier columns removed (zeroed), so they do not inflate
// the row scales. The FP product uses FP16 weight columns for the outlier features found in
// calibration (stored beside the int8 weight: outliers are systematic, paper §3.2, so the
// stored set covers what appears at run time) and the dequantized int8 column for any other
// column that crosses the threshold at run time. The module holds the int8 codes, F32 row
// scales and the FP16 columns only (no float copy of the weight); storageBytes() counts them.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model/linear.h"
#include "core/quant/int8_matmul.h"
#include "core/util/matrix.h"

namespace qb::core {

/// The input columns j of X [n, in] with any |X_tj| ≥ threshold, ascending.
[[nodiscard]] std::vector<int> llmInt8OutlierColumns(const ConstMatrixRef& X, double threshold);

/// What forward() has seen since construction or the last resetStats().
struct LlmInt8Stats {
    std::uint64_t forwards = 0;        ///< forward() calls
    std::uint64_t columnsSeen = 0;     ///< Σ in_features over calls
    std::uint64_t outlierColumns = 0;  ///< Σ |O| over calls
    /// outlierColumns / columnsSeen (0 before the first call).
    [[nodiscard]] double outlierFraction() const { return columnsSeen ? double(outlierColumns) / double(columnsSeen) : 0.0; }
};

/// Immutable apart from its statistics, which are atomic counters: forward() may run on
/// several threads at once.
class LlmInt8Linear final : public Linear {
public:
    /// W: [out, in]; threshold > 0. Throws Error on a bias of the wrong size.
    /// fpColumns: input columns whose weights are kept in FP16 and always multiplied in
    /// floating point — the systematic outlier features seen in calibration (paper §3.2:
    /// outliers sit in a few feature dimensions). They are left out of the int8 row scales.
    LlmInt8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, double threshold = 6.0,
                  std::vector<int> fpColumns = {});
    /// From stored int8 codes [out, in] with per-row scales [out] (a quantized checkpoint, see
    /// int8RowsFromCodes()), the FP columns and their weights fpWeightF16 [out, k] row-major
    /// IEEE binary16 bits (k = fpColumns.size(); the checkpoint's fp_weight). Throws Error on
    /// inconsistent sizes or codes.
    LlmInt8Linear(Int8RowQuantized weight, std::optional<VectorF> bias, double threshold, std::vector<int> fpColumns = {},
                  std::vector<std::uint16_t> fpWeightF16 = {});
    LlmInt8Linear(const LlmInt8Linear&) = delete;
    LlmInt8Linear& operator=(const LlmInt8Linear&) = delete;

    [[nodiscard]] Index outFeatures() const override { return m_weight.rows; }
    [[nodiscard]] Index inFeatures() const override { return m_weight.cols; }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    /// The weight in float (a new matrix): the FP16 columns where stored, the dequantized
    /// int8 weight elsewhere.
    [[nodiscard]] MatrixRM denseWeight() const override;
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    /// int8 weights (rows unpadded) + F32 per-channel scales + F16 columns with their int32
    /// indices + F32 bias.
    [[nodiscard]] std::size_t storageBytes() const override;
    /// "llm_int8 t6"
    [[nodiscard]] std::string format() const override;

    [[nodiscard]] double threshold() const { return m_threshold; }
    /// The int8 weight: codes [out][stride] and per-output-channel scales [out].
    [[nodiscard]] const Int8RowQuantized& quantizedWeight() const { return m_weight; }
    /// Input columns stored in FP16, ascending.
    [[nodiscard]] const std::vector<int>& fpColumns() const { return m_fpColumns; }
    /// Their weights [out, k] row-major, binary16 bits.
    [[nodiscard]] const std::vector<std::uint16_t>& fpWeightF16() const { return m_fpWeight; }
    /// Their weights [out, k] in float (a new matrix).
    [[nodiscard]] MatrixRM fpWeight() const;
    [[nodiscard]] LlmInt8Stats stats() const;
    void resetStats() const;

private:
    Int8RowQuantized m_weight;            // per-output-channel int8 codes [out][stride] and scales [out]
    std::vector<int> m_fpColumns;         // ascending; their int8 codes are 0
    std::vector<std::uint16_t> m_fpWeight;  // [out, fpColumns.size()] row-major, binary16
    std::optional<VectorF> m_bias;
    double m_threshold;
    mutable std::atomic<std::uint64_t> m_forwards{0};
    mutable std::atomic<std::uint64_t> m_columnsSeen{0};
    mutable std::atomic<std::uint64_t> m_outlierColumns{0};
};

}  // namespace qb::core
