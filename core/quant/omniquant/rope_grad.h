#pragma once
// RoPE forward and backward for OmniQuant's block training, with the frequencies of
// core/model/rope.h (every rope_scaling kind; this file never branches on the kind).
//
// For the pair (a, b) = (x_i, x_{i+d/2}) at position p, with c = m·cos pθ_i, s = m·sin pθ_i:
//   forward   a' = a·c − b·s,         b' = b·c + a·s            (Su et al. 2021, eq. 34)
//   backward  ∂a = ∂a'·c + ∂b'·s,     ∂b = −∂a'·s + ∂b'·c        (the rotation's transpose)

#include "core/model/rope.h"
#include "core/quant/omniquant/train_math.h"

namespace qb::core::omniquant {

/// cos and sin of every position and frequency, scaled by the attention factor m: [T, d/2].
/// Computed in double and rounded to S, as core/model/rope.cpp does for float.
template <class S>
struct RopeTable {
    MatrixS<S> cos, sin;
};

template <class S>
[[nodiscard]] RopeTable<S> ropeTable(const RopeFrequencies& rope, Index T);

/// In place on x [n, heads·d]; row r is at position r % T.
template <class S>
void ropeForward(MatrixS<S>& x, int heads, int headDim, Index T, const RopeTable<S>& table);
/// In place on dx [n, heads·d]: turns ∂L/∂x' into ∂L/∂x.
template <class S>
void ropeBackward(MatrixS<S>& dx, int heads, int headDim, Index T, const RopeTable<S>& table);

}  // namespace qb::core::omniquant
