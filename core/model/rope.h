#pragma once
// Rotary position embedding (RoPE) frequencies and their scaling variants, from the equations
// of Hugging Face transformers' modeling_rope_utils:
//   default   θ_i = base^(−2i/d), i = 0 … d/2−1
//   linear    θ_i / factor
//   dynamic   base' = base · (factor·L/L₀ − (factor − 1))^(d/(d−2)) when L > L₀ (L = sequence length,
//             L₀ = max_position_embeddings); else unchanged
//   yarn      θ_i = θ_i/factor · (1 − e_i) + θ_i · e_i, e_i = 1 − ramp(i; low, high) with
//             the correction range from β_fast/β_slow rotations over L₀ = original context;
//             cos and sin scaled by the attention factor (0.1·ln factor + 1 unless given)
//   llama3    wavelengths λ_i = 2π/θ_i: λ > L₀/low → θ/factor; λ < L₀/high → θ; between,
//             (1 − s)·θ/factor + s·θ with s = (L₀/λ − low)/(high − low)
// Rotation (rotate-half layout): for pair (a, b) = (x_i, x_{i+d/2}) at position p,
//   a' = m·(a·cos pθ_i − b·sin pθ_i),  b' = m·(b·cos pθ_i + a·sin pθ_i),  m = attention factor.

#include <vector>

#include "core/io/model_config.h"
#include "core/util/matrix.h"

namespace qb::core {

struct RopeFrequencies {
    std::vector<double> invFreq;   ///< θ_i, i = 0 … headDim/2 − 1
    double attentionScaling = 1.0; ///< m: multiplies cos and sin (yarn)
};

/// Plain RoPE with base theta.
[[nodiscard]] RopeFrequencies plainRopeFrequencies(int headDim, double theta);
/// The model's RoPE for a forward over sequences of seqLen positions (only "dynamic" reads it).
[[nodiscard]] RopeFrequencies ropeFrequencies(const ModelConfig& config, Index seqLen);

/// Applies RoPE in place to x [n, heads·headDim]; row r sits at position r % T.
void applyRope(MatrixRM& x, int heads, int headDim, Index T, const RopeFrequencies& rope);
/// Plain RoPE (θ_i = ropeTheta^(−2i/headDim)).
void applyRope(MatrixRM& x, int heads, int headDim, Index T, double ropeTheta);
/// RoPE of one row x [heads·headDim] at `position` (the values applyRope uses for that position).
void applyRopeAt(float* x, int heads, int headDim, Index position, const RopeFrequencies& rope);

}  // namespace qb::core
