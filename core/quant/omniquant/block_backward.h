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
// With actBits the weight gradients read the quantized inputs (∂Ŵ = ∂outᵀ·Q_a(in)) and each
// input gradient passes the token quantizer's straight-through backward (token_quant.h).
// LET (let.h) also asks for the RMSNorm gains' gradients, ∂g = Σ_rows ∂xn ⊙ x·r, and the
// biases', ∂b = Σ_rows ∂out.

#include <array>

#include "core/quant/omniquant/block_forward.h"

namespace qb::core::omniquant {

template <class S>
struct BlockGradients {
    std::array<MatrixS<S>, 7> dW;    ///< ∂L/∂Ŵ [out, in] by ModuleKind; empty where not asked
    std::array<VectorS<S>, 7> dBias; ///< ∂L/∂b [out] for the asked modules that have a bias
    MatrixS<S> dx;                   ///< ∂L/∂x [n, D]; empty unless asked
    VectorS<S> dInputNorm, dPostAttentionNorm;  ///< ∂L/∂g₁, ∂L/∂g₂ [D]; empty unless asked
};

/// What blockBackward computes.
struct BlockGradientRequest {
    std::array<bool, 7> weight{};  ///< ∂L/∂Ŵ_k (and ∂L/∂b_k where module k has a bias)
    bool input = false;            ///< ∂L/∂x (three more GEMMs)
    bool norms = false;            ///< ∂L/∂g₁, ∂L/∂g₂ (the same three GEMMs, without ∂x)
};

/// Gradients for ∂L/∂y = dy [n, D] at the forward that filled cache.
template <class S>
[[nodiscard]] BlockGradients<S> blockBackward(const BlockShape<S>& shape, const BlockWeights<S>& weights,
                                              const BlockCache<S>& cache, const MatrixS<S>& dy, const BlockGradientRequest& want);

/// The same with wantWeight[k]: ∂L/∂Ŵ_k, wantInput: ∂L/∂x.
template <class S>
[[nodiscard]] BlockGradients<S> blockBackward(const BlockShape<S>& shape, const BlockWeights<S>& weights,
                                              const BlockCache<S>& cache, const MatrixS<S>& dy,
                                              const std::array<bool, 7>& wantWeight, bool wantInput) {
    return blockBackward(shape, weights, cache, dy, BlockGradientRequest{wantWeight, wantInput, false});
}

}  // namespace qb::core::omniquant
