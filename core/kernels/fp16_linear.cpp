#include "core/kernels/fp16_linear.h"

#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

Fp16Linear::Fp16Linear(const ConstMatrixRef& W, std::optional<VectorF> bias) : m_W(W) { setBias(std::move(bias)); }

Fp16Linear::Fp16Linear(const std::uint16_t* W, Index out, Index in, std::optional<VectorF> bias) : m_W(W, out, in) {
    setBias(std::move(bias));
}

void Fp16Linear::setBias(std::optional<VectorF> bias) {
    if (bias && bias->size() != m_W.rows())
        throw Error("f16 linear: bias has " + std::to_string(bias->size()) + " entries for " + std::to_string(m_W.rows()) +
                    " output features");
    if (bias) m_bias = VectorF(bias->unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); }));
}

LinearPtr Fp16Linear::fromLinear(const Linear& linear) {
    return std::make_shared<Fp16Linear>(linear.denseWeight(), linear.bias());
}

void Fp16Linear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    kernels::f16Matmul(m_W, X, Y);
    addBias(m_bias, Y);
}

std::size_t Fp16Linear::storageBytes() const {
    return std::size_t(m_W.rows() * m_W.cols()) * 2 + (m_bias ? std::size_t(m_bias->size()) * 2 : 0);
}

}  // namespace qb::core
