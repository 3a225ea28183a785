#pragma once
// AWQ — Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and
// Acceleration" (MLSys 2024), following llm-awq's auto_scale / auto_clip.
//
// A group of linears shares one input X [n, in] (q/k/v after input_layernorm, gate/up after
// post_attention_layernorm, ...). AWQ protects the salient input channels by scaling:
//   Y = X Wᵀ = (X diag(s)⁻¹) (W diag(s))ᵀ,   Ŵ_s = Q(W diag(s)) diag(s)⁻¹      (paper eq. 4–5)
// and searches s = s_X^α with s_X = mean_t |X_tj| (paper eq. 5), α ∈ {0, 1/grid, …},
// normalised as llm-awq: s ← s / sqrt(max(s)·min(s)). The objective is the error of the
// group's linear outputs Σ_linears ‖X Wᵀ − X Ŵ_sᵀ‖² — our documented choice; llm-awq
// measures the whole block's output. Then auto_clip: per output row and group, the
// symmetric clip ±max_val = ±org_max·(1 − i/20), i = 0..9, that minimises that group's
// output error on ≤ 512 strided tokens of the scaled input.
//
// Quantization uses QuantGrid (the GPTQ-reference grid with F16 scales) so AWQ results
// export to the GPTQ checkpoint layout; llm-awq's own pseudo-quantizer differs only in not
// forcing 0 into the min-max range. Folding 1/s into the preceding RMSNorm or linear is the
// pipeline's job; the helpers below do the arithmetic.

#include <string>
#include <vector>

#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/matrix.h"

namespace qb::core {

/// Result of the scale search for one group of linears.
struct AwqScaleSearch {
    double alpha = 0.0;          ///< the best α
    VectorF scales;              ///< s [in] for the best α (all 1 when α = 0)
    std::vector<double> alphas;  ///< the α tried: k / grid, k = 0..grid−1
    /// Per α: Σ_linears ‖X Wᵀ − X Ŵ_sᵀ‖² / (n · Σ out) — the mean squared output error
    /// (llm-awq's `.pow(2).mean()` over the group's outputs).
    std::vector<double> errors;
    /// Where the search's forms ran: "cpu", a device ("cuda:0"), or "cpu (cuda:0: <why not>)".
    std::string backend = "cpu";
};

/// s_X: mean |X_tj| over the rows of X [n, in] → [in].
[[nodiscard]] VectorF awqActivationScale(const ConstMatrixRef& X);

/// Scale search (llm-awq auto_scale). X: [n, in]; weights: the group's W [out_i, in]
/// (not owned, must outlive the call). grid ≥ 1. The error per α is computed through the
/// Gram matrix XᵀX when in < n (identical value, cheaper). Throws Error on size mismatches.
[[nodiscard]] AwqScaleSearch searchAwqScales(const ConstMatrixRef& X, const std::vector<const MatrixRM*>& weights,
                                             const WeightGridSpec& spec, int grid);

/// Clip search (llm-awq auto_clip) for one weight W [out, in] and its (already scaled)
/// input X [n, in]: returns max_val [out, nGroups] (the unclipped group absmax where no
/// clip helps). Tokens are subsampled with stride max(1, n / nSampleTokens).
[[nodiscard]] MatrixRM searchAwqClip(const ConstMatrixRef& X, const ConstMatrixRef& W, const WeightGridSpec& spec,
                                     int gridClip = 20, double maxShrink = 0.5, Index nSampleTokens = 512);

/// W ← clamp(W, −max_val, +max_val) group by group (llm-awq apply_clip). maxVal: [out, nGroups].
void applyAwqClip(MatrixRM& W, const MatrixRM& maxVal, const WeightGridSpec& spec);

/// W ← W · diag(s): column j of W [out, in] times s[j] (the linear after the scaled input).
void scaleWeightColumns(MatrixRM& W, const VectorF& s);
/// norm ← norm / s: an RMSNorm weight [in] that feeds the scaled linears.
void divideNormWeight(VectorF& norm, const VectorF& s);
/// W ← diag(s)⁻¹ · W, bias ← bias / s: a previous linear [in, k] whose outputs feed the
/// scaled linears (e.g. v_proj before o_proj, up_proj before down_proj).
void divideWeightRows(MatrixRM& W, const VectorF& s, std::optional<VectorF>* bias = nullptr);

/// The whole AWQ step for one group.
struct AwqResult {
    AwqScaleSearch search;
    std::vector<QuantizedWeight> weights;  ///< Q(clip(W_i · diag(s))), one per input weight
    std::vector<MatrixRM> clipMaxVal;      ///< per weight: max_val [out, nGroups], empty when not clipped
};

/// Scale search, then (options.clipSearch and clipMask[i], default all) clip search on the
/// scaled weights with the scaled input X·diag(s)⁻¹, then RTN. The returned weights hold
/// W·diag(s); the caller must fold diag(s)⁻¹ into what produces X (divideNormWeight /
/// divideWeightRows). llm-awq does not clip q_proj/k_proj: pass clipMask accordingly.
[[nodiscard]] AwqResult quantizeAwq(const ConstMatrixRef& X, const std::vector<const MatrixRM*>& weights,
                                    const WeightGridSpec& spec, const AwqOptions& options,
                                    const std::vector<bool>& clipMask = {});

}  // namespace qb::core
