#include "core/quant/llm_int8.h"

#include <cstdio>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

namespace {
constexpr int kBits = 8;
constexpr int kQmax = 127;
}  // namespace

std::vector<int> llmInt8OutlierColumns(const ConstMatrixRef& X, double threshold) {
    std::vector<int> cols;
    if (X.rows() == 0) return cols;
    const Eigen::RowVectorXf colMax = X.cwiseAbs().colwise().maxCoeff();
    for (Index j = 0; j < X.cols(); ++j)
        if (double(colMax[j]) >= threshold) cols.push_back(int(j));
    return cols;
}

LlmInt8Linear::LlmInt8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, double threshold)
    : m_weight(quantizeRowsAbsmax(W, kBits)), m_bias(std::move(bias)), m_threshold(threshold) {
    // Deployed LLM.int8() (bitsandbytes load_in_8bit) keeps only the int8 weight and recovers
    // the outlier columns' weights by dequantizing it; we do the same, so the in-memory module
    // equals the one reloaded from its checkpoint and storageBytes() is honest.
    m_W = m_weight.scales.asDiagonal() * m_weight.codes;
    if (!(threshold > 0.0)) throw Error("LLM.int8(): the outlier threshold must be positive");
    if (m_bias && m_bias->size() != W.rows())
        throw Error("LLM.int8(): bias has " + std::to_string(m_bias->size()) + " entries for " + std::to_string(W.rows()) +
                    " output features");
}

LlmInt8Linear::LlmInt8Linear(RowQuantized weight, std::optional<VectorF> bias, double threshold)
    : m_weight(std::move(weight)), m_bias(std::move(bias)), m_threshold(threshold) {
    if (!(threshold > 0.0)) throw Error("LLM.int8(): the outlier threshold must be positive");
    if (m_weight.scales.size() != m_weight.codes.rows()) throw Error("LLM.int8(): weight_scale has the wrong size");
    if (m_weight.codes.size() && m_weight.codes.cwiseAbs().maxCoeff() > 127.0f) throw Error("LLM.int8(): weight codes outside −127..127");
    if (!m_weight.scales.allFinite()) throw Error("LLM.int8(): weight_scale holds NaN or Inf");
    if (m_bias && m_bias->size() != m_weight.codes.rows()) throw Error("LLM.int8(): bias has the wrong size");
    m_W = m_weight.scales.asDiagonal() * m_weight.codes;  // outlier columns use the dequantized int8 weight
}

void LlmInt8Linear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    if (X.cols() != inFeatures())
        throw Error("LLM.int8(): input has " + std::to_string(X.cols()) + " features, weight expects " +
                    std::to_string(inFeatures()));
    const std::vector<int> O = llmInt8OutlierColumns(X, m_threshold);
    // int8 part (eq. 3, second term): X with the outlier columns removed, vector-wise quantized.
    MatrixRM Xr = X;
    for (int j : O) Xr.col(j).setZero();
    const RowQuantized Xq = quantizeRowsAbsmax(Xr, kBits);
    dequantizedProduct(Xq, m_weight, kQmax, kQmax, Y);
    // FP part (eq. 3, first term): X[:, O] · W[:, O]ᵀ.
    if (!O.empty()) {
        MatrixRM XO(X.rows(), Index(O.size())), WO(m_W.rows(), Index(O.size()));
        for (std::size_t k = 0; k < O.size(); ++k) {
            XO.col(Index(k)) = X.col(O[k]);
            WO.col(Index(k)) = m_W.col(O[k]);
        }
        MatrixRM YO;
        backendFor(BackendOp::Linear, XO.rows(), XO.cols(), WO.rows()).linear(XO, WO, YO);
        Y += YO;
    }
    addBias(m_bias, Y);
    m_forwards.fetch_add(1, std::memory_order_relaxed);
    m_columnsSeen.fetch_add(std::uint64_t(X.cols()), std::memory_order_relaxed);
    m_outlierColumns.fetch_add(std::uint64_t(O.size()), std::memory_order_relaxed);
}

MatrixRM LlmInt8Linear::denseWeight() const { return m_weight.codes.array().colwise() * m_weight.scales.array(); }

std::size_t LlmInt8Linear::storageBytes() const {
    const std::size_t out = std::size_t(outFeatures());
    return out * std::size_t(inFeatures()) + out * 4 + (m_bias ? out * 4 : 0);
}

std::string LlmInt8Linear::format() const {
    char buf[48];
    std::snprintf(buf, sizeof buf, "llm_int8 t%g", m_threshold);
    return buf;
}

LlmInt8Stats LlmInt8Linear::stats() const {
    LlmInt8Stats s;
    s.forwards = m_forwards.load(std::memory_order_relaxed);
    s.columnsSeen = m_columnsSeen.load(std::memory_order_relaxed);
    s.outlierColumns = m_outlierColumns.load(std::memory_order_relaxed);
    return s;
}

void LlmInt8Linear::resetStats() const {
    m_forwards = 0;
    m_columnsSeen = 0;
    m_outlierColumns = 0;
}

}  // namespace qb::core
