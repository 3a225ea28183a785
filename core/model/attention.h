#pragma once
// Causal grouped-query attention over windows, optionally with a sliding window (Mistral), and
// the per-head RMSNorm of q and k (Qwen3). RoPE lives in core/model/rope.h.

#include "core/io/model_config.h"
#include "core/model/rope.h"
#include "core/util/matrix.h"

namespace qb::core {

/// Causal softmax attention inside each window of T rows.
/// q: [n, H·d], k, v: [n, Hkv·d] (query head h reads kv head h / (H/Hkv)); returns [n, H·d].
/// slidingWindow W > 0: position i attends to j when i − W < j ≤ i; 0 = every j ≤ i.
[[nodiscard]] MatrixRM causalAttention(const MatrixRM& q, const MatrixRM& k, const MatrixRM& v, int heads, int kvHeads,
                                       int headDim, Index T, int slidingWindow = 0);

/// RMSNorm over each head's d values, in place on x [n, heads·d]: the Qwen3 q_norm / k_norm,
/// x_h ← x_h / sqrt(mean(x_h²) + eps) ⊙ weight [d].
void headRmsNorm(MatrixRM& x, int heads, int headDim, const VectorF& weight, double eps);
void headRmsNormRow(float* x, int heads, int headDim, const VectorF& weight, double eps);

}  // namespace qb::core
