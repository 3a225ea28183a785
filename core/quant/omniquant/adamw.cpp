#include "core/quant/omniquant/adamw.h"

#include <cmath>

#include "core/util/error.h"

namespace qb::core::omniquant {

AdamW::AdamW(Index rows, Index cols, AdamWOptions options)
    : m_options(options), m_m(MatrixS<float>::Zero(rows, cols)), m_v(MatrixS<float>::Zero(rows, cols)) {}

void AdamW::step(MatrixS<float>& theta, const MatrixS<float>& g) {
    if (theta.rows() != m_m.rows() || theta.cols() != m_m.cols() || g.rows() != m_m.rows() || g.cols() != m_m.cols())
        throw Error("AdamW: parameter or gradient shape differs from the optimizer state");
    ++m_t;
    const auto& o = m_options;
    const float lr = float(o.lr), b1 = float(o.beta1), b2 = float(o.beta2);
    if (o.weightDecay != 0.0) theta *= 1.0f - lr * float(o.weightDecay);  // θ ← θ(1 − lr·λ)
    m_m = b1 * m_m + (1.0f - b1) * g;                                     // m ← β₁m + (1 − β₁)g
    m_v = b2 * m_v + (1.0f - b2) * g.cwiseProduct(g);                     // v ← β₂v + (1 − β₂)g²
    const float c1 = 1.0f - float(std::pow(o.beta1, m_t));                // bias corrections
    const float c2 = 1.0f - float(std::pow(o.beta2, m_t));
    theta.array() -= lr * (m_m.array() / c1) / ((m_v.array() / c2).sqrt() + float(o.eps));
}

}  // namespace qb::core::omniquant
