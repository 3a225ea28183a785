#include "core/model/linear.h"

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

DenseLinear::DenseLinear(MatrixRM W, std::optional<VectorF> bias) : m_W(std::move(W)), m_bias(std::move(bias)) {
    if (m_bias && m_bias->size() != m_W.rows())
        throw Error("linear: bias has " + std::to_string(m_bias->size()) + " entries for " + std::to_string(m_W.rows()) +
                    " output features");
}

void DenseLinear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    if (X.cols() != m_W.cols())
        throw Error("linear: input has " + std::to_string(X.cols()) + " features, weight expects " + std::to_string(m_W.cols()));
    backendFor(BackendOp::Linear, X.rows(), m_W.cols(), m_W.rows()).linear(X, m_W, Y);
    addBias(m_bias, Y);
}

std::size_t DenseLinear::storageBytes() const {
    return std::size_t(m_W.size()) * sizeof(float) + (m_bias ? std::size_t(m_bias->size()) * sizeof(float) : 0);
}

void addBias(const std::optional<VectorF>& bias, MatrixRM& Y) {
    if (bias) Y.rowwise() += bias->transpose();
}

}  // namespace qb::core
