#pragma once
// The decoder block's backward pass, by hand (no autodiff): from ∂L/∂y to the gradients of the
// seven weights Ŵ and, when asked, of the input x. Reverses block_forward.h step by step:
//
//   y = h + m·Ŵ_downᵀ        ∂Ŵ_down = ∂yᵀ·m,   ∂m = ∂y·Ŵ_down,   ∂h = ∂y
//   m = silu(g) ⊙ u          ∂u = ∂m ⊙ silu(g),  ∂g = ∂m ⊙ u ⊙ σ(g)(1 + g(1 − σ(g)))
//   g, u = xn₂·Ŵᵀ            ∂Ŵ = ∂gᵀ·xn₂ (∂uᵀ·xn₂),  ∂xn₂ = ∂g·Ŵ_gate + ∂u·Ŵ_up
//   xn₂ = RMSNorm₂(h)        ∂h += RMSNorm backward (rms_norm_grad.h)
//   h = x + a·Ŵ_oᵀ           ∂Ŵ_o = ∂hᵀ·a,   ∂a = ∂h·Ŵ_o,   ∂x = ∂h
//   a = Attention(q, k, v)   ∂q, ∂k, ∂v (attention_grad.h), then RoPE and the per-head norms backward
//   q, k, v = xn₁·Ŵᵀ         ∂Ŵ = ∂qᵀ·xn₁ …,  ∂xn₁ = ∂q·Ŵ_q + ∂k·Ŵ_k + ∂v·Ŵ_v
//   xn₁ = RMSNorm₁(x)        ∂x += RMSNorm backward
// The norm weights and biases get no gradient: LWC learns only the clipping of the weights.

#include <array>

#include "core/quant/omniquant/block_forward.h"

namespace qb::core::omniquant {

template <class S>
struct BlockGradients {
    std::array<MatrixS<S>, 7> dW;  ///< ∂L/∂Ŵ [out, in] by ModuleKind; empty where not asked
    MatrixS<S> dx;                 ///< ∂L/∂x [n, D]; empty unless asked
};

/// Gradients for ∂L/∂y = dy [n, D] at the forward that filled cache. wantWeight[k]: compute
/// ∂L/∂Ŵ_k; wantInput: compute ∂L/∂x (three more GEMMs).
template <class S>
[[nodiscard]] BlockGradients<S> blockBackward(const BlockShape<S>& shape, const BlockWeights<S>& weights,
                                              const BlockCache<S>& cache, const MatrixS<S>& dy,
                                              const std::array<bool, 7>& wantWeight, bool wantInput);

}  // namespace qb::core::omniquant
