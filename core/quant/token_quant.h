#pragma once
// Per-token asymmetric fake quantization of activations — the activation quantizer of
// OmniQuant's weight-activation schemes (W4A4, W6A6, W4A8; Shao et al., ICLR 2024, §4.1:
// "per-token quantization for activations"; the official code's UniformAffineQuantizer with
// dynamic_method "per_token", symmetric False). For each token (row) x of A bits:
//
//   h = clamp((max x − min x) / (2^A − 1), 1e-5, 1e4)       the official scale clamps
//   z = ⌊clamp(−min x / h, −1e4, 1e4)⌉                        the zero point, rounded
//   q = clamp(⌊x / h⌉ + z, 0, 2^A − 1),   x̂ = (q − z)·h
//
// Unlike the weight grids (quant_grid.h) the range need not hold 0, as in the official code.
// Nothing is stored at A bits: x̂ is float, so a figure measured with it is a quality figure
// ("simulated", as W8A8's widths below 8).
//
// Backward (straight-through, as round_ste; z gets no gradient, as round_zero_point):
//   inside the grid  x̂ = x + h·(⌊t⌉ − t)  →  ∂x̂/∂x = 1 and ∂x̂/∂h = ⌊t⌉ − t   (t = x/h)
//   clamped          x̂ = h·(q − z)        →  ∂x̂/∂h = q − z
//   h = (max − min)/(2^A − 1)             →  ∂L/∂max = ∂L/∂h/(2^A − 1) = −∂L/∂min (0 when h was clamped)
// so the row's maximum and minimum also receive ∂L/∂h through the step, as torch's amax/amin.

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "core/util/matrix.h"

namespace qb::core {

/// What one row's fake quantization decided: the frozen straight-through surrogate
/// (frozen = true below) replays it, so that it is smooth in x (the finite-difference checks).
template <class S>
struct TokenRounding {
    using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Matrix roundOffset;                   ///< ⌊t⌉ − t per element [n, k]
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> clamp;  ///< −1 low, 0 inside, 1 high
    Eigen::Matrix<S, Eigen::Dynamic, 1> zero;  ///< z per row [n]
    std::vector<Index> argMin, argMax;    ///< where each row's extremes are (the first of ties)
    std::vector<std::uint8_t> stepClamped;  ///< h was clamped to [1e-5, 1e4]: no gradient through it
    Eigen::Matrix<S, Eigen::Dynamic, 1> step;  ///< h per row, as used [n]
};

/// x̂ [n, k] for X [n, k] at `bits` (2..8). rounding (may be null) receives the decisions; with
/// frozen = true it supplies them instead (argmin/argmax, z, clamps, offsets of an earlier call).
template <class S>
[[nodiscard]] Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantize(
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& X, int bits, TokenRounding<S>* rounding = nullptr,
    bool frozen = false);

/// ∂L/∂X [n, k] from ∂L/∂x̂ [n, k], for the rounding of the forward (header comment).
template <class S>
[[nodiscard]] Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantizeBackward(
    const TokenRounding<S>& rounding, const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& dXhat, int bits);

/// The float forward of QuantizedLinear's activations: each row of X [n, k] replaced by x̂, in
/// place; the same arithmetic as tokenFakeQuantize<float>. Throws Error for bits outside 2..8.
void fakeQuantizeTokensInPlace(MatrixRM& X, int bits);

}  // namespace qb::core
