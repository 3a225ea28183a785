#include "core/quant/smoothquant.h"

#include <algorithm>
#include <cmath>

#include "core/quant/scheme_size.h"
#include "core/util/error.h"

namespace qb::core {

namespace {
constexpr float kSmoothMinScale = 1e-5f;  // reference: .clamp(min=1e-5) on weight maxima and on s
constexpr int kWeightBits = 8;
}  // namespace

VectorF activationAbsMax(const ConstMatrixRef& X) {
    if (X.rows() == 0) return VectorF::Zero(X.cols());
    return X.cwiseAbs().colwise().maxCoeff().transpose();
}

void accumulateActivationAbsMax(const ConstMatrixRef& X, VectorF& runningMax) {
    const VectorF m = activationAbsMax(X);
    if (runningMax.size() == 0) {
        runningMax = m;
        return;
    }
    if (runningMax.size() != m.size())
        throw Error("SmoothQuant: activation maxima have " + std::to_string(runningMax.size()) + " channels, the inputs " +
                    std::to_string(m.size()));
    runningMax = runningMax.cwiseMax(m);
}

VectorF smoothQuantScales(const VectorF& actAbsMax, const std::vector<const MatrixRM*>& weights, double alpha) {
    if (weights.empty()) throw Error("SmoothQuant: the group has no weights");
    if (!(alpha >= 0.0 && alpha <= 1.0)) throw Error("SmoothQuant: alpha must lie in [0, 1]");
    const Index in = actAbsMax.size();
    VectorF wMax = VectorF::Zero(in);  // max_j |W_j| over all rows of all linears
    for (const MatrixRM* W : weights) {
        if (!W || W->cols() != in)
            throw Error("SmoothQuant: a weight has " + std::to_string(W ? W->cols() : 0) + " input features, the activations " +
                        std::to_string(in));
        wMax = wMax.cwiseMax(W->cwiseAbs().colwise().maxCoeff().transpose());
    }
    VectorF s(in);
    for (Index j = 0; j < in; ++j) {
        // eq. 4: s_j = max|X_j|^α / max|W_j|^(1−α)
        const double num = std::pow(double(actAbsMax[j]), alpha);
        const double den = std::pow(double(std::max(wMax[j], kSmoothMinScale)), 1.0 - alpha);
        s[j] = std::max(float(num / den), kSmoothMinScale);
    }
    return s;
}

W8A8Linear::W8A8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, int actBits, std::string method)
    : m_weight(quantizeRowsAbsmaxInt8(W, kWeightBits)), m_bias(std::move(bias)), m_actBits(actBits), m_method(std::move(method)) {
    if (actBits < 2 || actBits > 8) throw Error("W8A8: activation bits must be in 2..8, got " + std::to_string(actBits));
    if (m_bias && m_bias->size() != W.rows())
        throw Error("W8A8: bias has " + std::to_string(m_bias->size()) + " entries for " + std::to_string(W.rows()) +
                    " output features");
}

W8A8Linear::W8A8Linear(Int8RowQuantized weight, std::optional<VectorF> bias, int actBits, std::string method)
    : m_weight(std::move(weight)), m_bias(std::move(bias)), m_actBits(actBits), m_method(std::move(method)) {
    if (actBits < 2 || actBits > 8) throw Error("W8A8: activation bits must be in 2..8, got " + std::to_string(actBits));
    checkInt8Rows(m_weight, "W8A8");
    if (m_bias && m_bias->size() != m_weight.rows) throw Error("W8A8: bias has the wrong size");
}

void W8A8Linear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    if (X.cols() != inFeatures())
        throw Error("W8A8: input has " + std::to_string(X.cols()) + " features, weight expects " + std::to_string(inFeatures()));
    // Per-token dynamic activation quantization straight to int8, then
    // Y = (X_q W_qᵀ) ⊙ (s_x s_wᵀ) + bias with the exact int8 × int8 → int32 kernels.
    // Below 8 bits (simulated) the codes are those of a per-token symmetric quantize–dequantize
    // at actBits (s_x = absmax / (2^(actBits−1) − 1)); they still run on the int8 kernels, so the
    // product equals fake quantization up to float rounding, and nothing is smaller or faster.
    const Int8RowQuantized Xq = quantizeRowsAbsmaxInt8(X, m_actBits);
    dequantizedProduct(Xq, m_weight, Y);
    addBias(m_bias, Y);
}

MatrixRM W8A8Linear::denseWeight() const { return m_weight.dequantized(); }

std::size_t W8A8Linear::storageBytes() const {
    QuantScheme scheme;
    scheme.method = QuantMethod::W8A8;
    return std::size_t(schemeBytes(scheme, outFeatures(), inFeatures(), {bool(m_bias), 0}));
}

std::string W8A8Linear::format() const {
    const std::string wa = weightActivationLabel(8, m_actBits);  // "w8a6 (simulated)" below 8 bits
    return m_method.empty() || m_method == "w8a8" ? wa : m_method + " " + wa;  // not "w8a8 w8a8"
}

}  // namespace qb::core
