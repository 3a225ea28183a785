#pragma once
// Learnable weight clipping (LWC), OmniQuant (Shao et al., ICLR 2024), §3.2, eq. (2):
//
//   Ŵ = h·(clamp(⌊W/h⌉ + z, 0, 2^N − 1) − z),   h = (γ·max(W) − β·min(W)) / (2^N − 1),
//   z = −⌊β·min(W)/h⌉,   γ = σ(a), β = σ(b)
//
// per output row and input group (a, b: [out, groups], initialised to 4 as the official code
// does: σ(4) ≈ 0.982). ⌊·⌉ is rounded with a straight-through estimator (∂⌊t⌉/∂t = 1); z is
// rounded and gets no gradient (the official code's round_zero_point). So Ŵ depends on (a, b)
// only through the step h:
//   ∂Ŵ/∂h = ⌊t⌉ − t   inside the grid (t = W/h),   q − z   where clamped to q ∈ {0, 2^N − 1}.
//
// The grid is this project's (quant_grid.h), so that the learned weight is the same
// QuantizedWeight RTN/GPTQ/AWQ produce: the clipped range [β·min, γ·max] is widened to hold 0,
// h is rounded to F16 (the rounding is passed straight through), z ∈ [0, 2^N − 1]; symmetric
// grids use h = 2·max(|β·min|, γ·max)/(2^N − 1). The official code keeps a range without 0
// (z may leave the grid) and a float32 h; with groups of LLM weights, whose range holds 0,
// the two agree up to the F16 rounding of h.

#include <cstdint>

#include "core/quant/omniquant/train_math.h"
#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"

namespace qb::core::omniquant {

/// The official code's initial a and b.
inline constexpr double kLwcInit = 4.0;
/// a = b at which σ is 1 in float and double (no clipping, ∂h/∂a = 0): the quantizer is plain
/// min–max RTN, what the official code's weight quantizer is without --lwc.
inline constexpr double kLwcOff = 100.0;

/// a and b of one linear: γ = σ(a) clips the maximum, β = σ(b) the minimum, [out, groups].
template <class S>
struct LwcParams {
    MatrixS<S> a, b;
};

/// a = b = init for a weight [out, in] on spec's groups.
template <class S>
[[nodiscard]] LwcParams<S> initialLwcParams(Index out, Index in, const WeightGridSpec& spec, double init = kLwcInit);

/// A weight W [out, in] to be clipped, with the extremes of each group, [out, groups].
template <class S>
struct LwcWeight {
    MatrixS<S> W;
    MatrixS<S> groupMin, groupMax;
    WeightGridSpec spec;
};

template <class S>
[[nodiscard]] LwcWeight<S> lwcWeightOf(MatrixS<S> W, const WeightGridSpec& spec);

/// Where a code fell: inside the grid, or clamped to 0 or 2^N − 1.
enum class LwcClamp : std::uint8_t { Inside, Low, High };

/// What one fake quantization decided: the rounding (frozen by the gradient check, whose
/// surrogate is then smooth in a, b) and the derivatives its backward reads.
template <class S>
struct LwcRounding {
    MatrixS<S> roundOffset;  ///< δ = ⌊t⌉ − t per weight [out, in]; also ∂Ŵ/∂h inside the grid
    Eigen::Matrix<LwcClamp, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> clamp;  ///< [out, in]
    MatrixS<S> zero;         ///< z per group [out, groups]
    MatrixS<S> stepOffset;   ///< F16(h) − h per group [out, groups]
    MatrixS<S> dhda, dhdb;   ///< ∂h/∂a, ∂h/∂b per group [out, groups]
    MatrixS<S> dhdMax, dhdMin;  ///< ∂h/∂max(W), ∂h/∂min(W) per group [out, groups] (LET moves W)
};

/// Ŵ [out, in] for the current (a, b). rounding receives the decisions; with frozen = true it
/// supplies them instead (δ, clamps, z and the F16 offset of an earlier call, so that
/// Ŵ = h·(t + δ) inside the grid — the straight-through surrogate the gradient check differentiates).
template <class S>
[[nodiscard]] MatrixS<S> lwcFakeQuantize(const LwcWeight<S>& weight, const LwcParams<S>& params, LwcRounding<S>& rounding,
                                         bool frozen = false);

/// ∂L/∂a, ∂L/∂b [out, groups] from ∂L/∂Ŵ [out, in] (straight-through, z without gradient):
/// ∂L/∂h = Σ_group ∂L/∂Ŵ · ∂Ŵ/∂h, then ∂L/∂a = ∂L/∂h · ∂h/∂a (the same for b).
template <class S>
void lwcBackward(const LwcWeight<S>& weight, const LwcRounding<S>& rounding, const MatrixS<S>& dWhat, MatrixS<S>& da,
                 MatrixS<S>& db);

/// ∂L/∂W [out, in] from ∂L/∂Ŵ, for a W that is itself trained (LET scales it, let.h):
/// straight through inside the grid (Ŵ = W + h·δ), 0 where clamped, and ∂L/∂h routed to each
/// group's maximum and minimum through h (as torch's amax/amin, to the first of ties).
template <class S>
[[nodiscard]] MatrixS<S> lwcWeightBackward(const LwcWeight<S>& weight, const LwcRounding<S>& rounding, const MatrixS<S>& dWhat);

/// Folds the learned clipping into W and quantizes it: the QuantizedWeight whose dequantize()
/// is lwcFakeQuantize()'s Ŵ bit for bit. With a = b → ∞ (γ = β = 1) this is quantizeRtn().
[[nodiscard]] QuantizedWeight lwcQuantize(const LwcWeight<float>& weight, const LwcParams<float>& params);

}  // namespace qb::core::omniquant
