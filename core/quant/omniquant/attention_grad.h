#pragma once
// Causal grouped-query softmax attention, forward (keeping the probabilities) and backward,
// for OmniQuant's block training. The forward is core/model/attention.h's causalAttention.
//
// Per window and query head h (reading kv head g = h / (H/Hkv)), with Q, K, V: [T, d]:
//   S = Q·Kᵀ/√d with S_ij = −∞ for j > i (and j ≤ i − W under a sliding window W)
//   P = softmax(S) row-wise,   O = P·V                               (Vaswani et al. 2017, eq. 1)
// Backward, from ∂O:
//   ∂P = ∂O·Vᵀ,   ∂V += Pᵀ·∂O,   ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)),
//   ∂Q = ∂S·K/√d, ∂K += ∂Sᵀ·Q/√d                                    (the kv heads sum over their query heads)

#include <vector>

#include "core/quant/omniquant/train_math.h"

namespace qb::core::omniquant {

struct AttentionShape {
    int heads = 1;          ///< H
    int kvHeads = 1;        ///< Hkv, divides H
    int headDim = 1;        ///< d
    Index T = 1;            ///< window length: rows of one window are contiguous
    int slidingWindow = 0;  ///< W > 0: key j is visible from i when i − W < j ≤ i; 0 = all j ≤ i
};

/// q: [n, H·d], k, v: [n, Hkv·d] (after RoPE); returns O [n, H·d]. P receives the softmax
/// probabilities, one [T, T] matrix per (window, head), index window·H + head (masked entries 0).
template <class S>
[[nodiscard]] MatrixS<S> attentionForward(const AttentionShape& shape, const MatrixS<S>& q, const MatrixS<S>& k,
                                          const MatrixS<S>& v, std::vector<MatrixS<S>>& P);

/// From ∂L/∂O [n, H·d] and the forward's q, k, v, P: ∂L/∂q [n, H·d], ∂L/∂k, ∂L/∂v [n, Hkv·d]
/// (resized and overwritten).
template <class S>
void attentionBackward(const AttentionShape& shape, const MatrixS<S>& q, const MatrixS<S>& k, const MatrixS<S>& v,
                       const std::vector<MatrixS<S>>& P, const MatrixS<S>& dO, MatrixS<S>& dq, MatrixS<S>& dk, MatrixS<S>& dv);

}  // namespace qb::core::omniquant
