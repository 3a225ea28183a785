#pragma once
// RMSNorm forward (saving what its backward needs) and backward, for OmniQuant's block training.
//
//   forward   y = x · r ⊙ g,   r = (mean(x²) + ε)^(−1/2)            (Zhang & Sennrich 2019, eq. 4)
//   backward  u = ∂L/∂y ⊙ g,   ∂L/∂x = r·u − (r³/D)·(u·x)·x          (D = the normalised width)
//
// The same code serves the decoder's two RMSNorms ([n, hidden] rows) and Qwen3's per-head q/k
// norms: a row-major [n, H·d] matrix is [n·H, d] rows of one head each.

#include "core/quant/omniquant/train_math.h"

namespace qb::core::omniquant {

/// y = RMSNorm(x; g) over rows of width g.size(); x, y: [n, k·D] (k rows of D per matrix row).
/// rstd: r of every D-wide row, [n·k]. The arithmetic is the model's rmsNorm() (core/model).
template <class S>
void rmsNormForward(const MatrixS<S>& x, const VectorS<S>& g, double eps, MatrixS<S>& y, VectorS<S>& rstd);

/// ∂L/∂x for y = RMSNorm(x; g) from ∂L/∂y; adds into dx when accumulate, else overwrites it.
/// x, dy, dx: [n, k·D]; rstd from rmsNormForward.
template <class S>
void rmsNormBackward(const MatrixS<S>& x, const VectorS<S>& g, const VectorS<S>& rstd, const MatrixS<S>& dy, MatrixS<S>& dx,
                     bool accumulate);

}  // namespace qb::core::omniquant
