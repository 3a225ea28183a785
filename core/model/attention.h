#pragma once
// Rotary position embedding and causal grouped-query attention over windows.

#include "core/io/model_config.h"
#include "core/util/matrix.h"

namespace qb::core {

/// Rotate-half RoPE (the Hugging Face Llama layout) applied in place to x [n, heads·headDim];
/// row r sits at position r % T. θ_i = ropeTheta^(−2i/headDim).
void applyRope(MatrixRM& x, int heads, int headDim, Index T, double ropeTheta);

/// Causal softmax attention inside each window of T rows.
/// q: [n, H·d], k, v: [n, Hkv·d] (query head h reads kv head h / (H/Hkv)); returns [n, H·d].
[[nodiscard]] MatrixRM causalAttention(const MatrixRM& q, const MatrixRM& k, const MatrixRM& v, int heads, int kvHeads,
                                       int headDim, Index T);

}  // namespace qb::core
