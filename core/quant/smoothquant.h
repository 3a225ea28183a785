#pragma once
// SmoothQuant — Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training Quantization
// for Large Language Models" (ICML 2023), and the W8A8 linear it produces.
//
// Migration (paper eq. 4): for input channel j shared by a group of linears,
//   s_j = max|X_j|^α / max|W_j|^(1−α),     Y = (X diag(s)⁻¹) · (W diag(s))ᵀ
// with max|W_j| taken over the rows of every linear in the group. As the reference
// (smooth_ln_fcs) the weight maxima and s are clamped to ≥ 1e-5. The pipeline divides the
// preceding RMSNorm weight by s and multiplies the weights' columns by s
// (divideNormWeight / scaleWeightColumns in awq.h), then builds W8A8Linear modules.
//
// W8A8 (paper §3 "per-channel weights, per-token dynamic activations"): weights int8,
// symmetric per output channel (scale = absmax/127); activations quantized per token inside
// forward() (symmetric, actBits); Y = (X_q · W_qᵀ) ⊙ (s_x s_wᵀ) + bias with the integer
// product exact (int32 semantics, see int8_matmul.h).

#include <optional>
#include <string>
#include <vector>

#include "core/model/linear.h"
#include "core/quant/int8_matmul.h"
#include "core/util/matrix.h"

namespace qb::core {

/// max_t |X_tj| per input channel of X [n, in] → [in].
[[nodiscard]] VectorF activationAbsMax(const ConstMatrixRef& X);
/// runningMax ← max(runningMax, activationAbsMax(X)); an empty runningMax is initialised.
/// Throws Error when sizes differ.
void accumulateActivationAbsMax(const ConstMatrixRef& X, VectorF& runningMax);

/// s [in] of eq. 4 for the linears sharing the input (weights not owned). alpha in [0, 1].
/// Throws Error on size mismatches or an empty group.
[[nodiscard]] VectorF smoothQuantScales(const VectorF& actAbsMax, const std::vector<const MatrixRM*>& weights, double alpha);

/// Per-channel int8 weights with per-token dynamic activation quantization. Holds the int8
/// codes and F32 per-row scales only (no float copy of the weight). Immutable; thread-safe.
class W8A8Linear final : public Linear {
public:
    /// W: [out, in] (already smoothed if SmoothQuant); actBits in 2..8. method labels
    /// format(), e.g. "smoothquant". Throws Error on a bias of the wrong size or bad actBits.
    W8A8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, int actBits = 8, std::string method = {});
    /// From stored int8 codes [out, in] (−127..127) and per-row scales [out] — what a
    /// quantized checkpoint holds (see int8RowsFromCodes()). Throws Error on inconsistent
    /// sizes or codes.
    W8A8Linear(Int8RowQuantized weight, std::optional<VectorF> bias, int actBits, std::string method);

    [[nodiscard]] Index outFeatures() const override { return m_weight.rows; }
    [[nodiscard]] Index inFeatures() const override { return m_weight.cols; }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    /// codes · scale per row: the int8 weight in float (a new matrix).
    [[nodiscard]] MatrixRM denseWeight() const override;
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    /// int8 weights + F32 per-channel scales + F32 bias, as stored (rows unpadded).
    [[nodiscard]] std::size_t storageBytes() const override;
    /// "w8a8", "smoothquant w8a8", "w8a6 (simulated)" …
    [[nodiscard]] std::string format() const override;

    /// The int8 weight: codes [out][stride] and per-output-channel scales [out].
    [[nodiscard]] const Int8RowQuantized& quantizedWeight() const { return m_weight; }
    [[nodiscard]] int actBits() const { return m_actBits; }

private:
    Int8RowQuantized m_weight;  // codes: [out][stride] in −127..127, scales: [out]
    std::optional<VectorF> m_bias;
    int m_actBits;
    std::string m_method;
};

}  // namespace qb::core
