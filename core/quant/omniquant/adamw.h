#pragma once
// AdamW (Loshchilov & Hutter, ICLR 2019, Alg. 2), the optimizer of OmniQuant's training, with
// torch.optim.AdamW's defaults (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) and its order of operations:
//   θ ← θ − lr·λ·θ                                  (decoupled weight decay; OmniQuant uses λ = 0)
//   m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
//   θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

#include "core/quant/omniquant/train_math.h"

namespace qb::core::omniquant {

struct AdamWOptions {
    double lr = 5e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weightDecay = 0.0;
};

/// The optimizer state of one parameter matrix. Not thread-safe; one per parameter.
class AdamW {
public:
    AdamW(Index rows, Index cols, AdamWOptions options);
    /// One step on theta [rows, cols] with gradient g of the same shape.
    void step(MatrixS<float>& theta, const MatrixS<float>& g);
    [[nodiscard]] int steps() const { return m_t; }

private:
    AdamWOptions m_options;
    MatrixS<float> m_m, m_v;  // first and second moments
    int m_t = 0;
};

}  // namespace qb::core::omniquant
