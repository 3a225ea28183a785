#include "core/quant/llm_int8.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "core/backend/backend.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

namespace {
constexpr int kBits = 8;
}  // namespace

std::vector<int> llmInt8OutlierColumns(const ConstMatrixRef& X, double threshold) {
    std::vector<int> cols;
    if (X.rows() == 0) return cols;
    const Eigen::RowVectorXf colMax = X.cwiseAbs().colwise().maxCoeff();
    for (Index j = 0; j < X.cols(); ++j)
        if (double(colMax[j]) >= threshold) cols.push_back(int(j));
    return cols;
}

namespace {
MatrixRM withoutColumns(const ConstMatrixRef& W, const std::vector<int>& cols) {
    MatrixRM R = W;
    for (int j : cols) R.col(j).setZero();
    return R;
}
MatrixRM f16Columns(const ConstMatrixRef& W, const std::vector<int>& cols) {
    MatrixRM F(W.rows(), Index(cols.size()));
    for (std::size_t k = 0; k < cols.size(); ++k) F.col(Index(k)) = W.col(cols[k]);
    return F.unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); });
}
void checkColumns(const std::vector<int>& cols, Index in) {
    for (std::size_t k = 0; k < cols.size(); ++k)
        if (cols[k] < 0 || cols[k] >= in || (k > 0 && cols[k] <= cols[k - 1]))
            throw Error("LLM.int8(): FP column indices must be ascending and inside the input");
}
}  // namespace

LlmInt8Linear::LlmInt8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, double threshold, std::vector<int> fpColumns)
    : m_weight(quantizeRowsAbsmax(withoutColumns(W, fpColumns), kBits)),
      m_bias(std::move(bias)),
      m_threshold(threshold),
      m_fpColumns(std::move(fpColumns)) {
    if (!(threshold > 0.0)) throw Error("LLM.int8(): the outlier threshold must be positive");
    if (m_bias && m_bias->size() != W.rows())
        throw Error("LLM.int8(): bias has " + std::to_string(m_bias->size()) + " entries for " + std::to_string(W.rows()) +
                    " output features");
    checkColumns(m_fpColumns, W.cols());
    m_fpWeight = f16Columns(W, m_fpColumns);
    // Columns outside the stored set that cross the threshold at run time use the dequantized
    // int8 weight (what a model stored in int8 has, as bitsandbytes' load_in_8bit).
    m_W = m_weight.scales.asDiagonal() * m_weight.codes;
    packInt8(m_weight);
}

LlmInt8Linear::LlmInt8Linear(RowQuantized weight, std::optional<VectorF> bias, double threshold, std::vector<int> fpColumns,
                             MatrixRM fpWeight)
    : m_weight(std::move(weight)),
      m_bias(std::move(bias)),
      m_threshold(threshold),
      m_fpColumns(std::move(fpColumns)),
      m_fpWeight(std::move(fpWeight)) {
    checkColumns(m_fpColumns, m_weight.codes.cols());
    if (m_fpWeight.size() == 0) m_fpWeight.resize(m_weight.codes.rows(), 0);
    if (m_fpWeight.rows() != m_weight.codes.rows() || m_fpWeight.cols() != Index(m_fpColumns.size()))
        throw Error("LLM.int8(): fp_weight has the wrong shape for its fp_columns");
    if (!(threshold > 0.0)) throw Error("LLM.int8(): the outlier threshold must be positive");
    if (m_weight.scales.size() != m_weight.codes.rows()) throw Error("LLM.int8(): weight_scale has the wrong size");
    if (m_weight.codes.size() && m_weight.codes.cwiseAbs().maxCoeff() > 127.0f) throw Error("LLM.int8(): weight codes outside −127..127");
    if (!m_weight.scales.allFinite()) throw Error("LLM.int8(): weight_scale holds NaN or Inf");
    if (m_bias && m_bias->size() != m_weight.codes.rows()) throw Error("LLM.int8(): bias has the wrong size");
    m_W = m_weight.scales.asDiagonal() * m_weight.codes;  // outlier columns use the dequantized int8 weight
    withErrorContext("LLM.int8()", [&] { packInt8(m_weight); });
}

void LlmInt8Linear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    if (X.cols() != inFeatures())
        throw Error("LLM.int8(): input has " + std::to_string(X.cols()) + " features, weight expects " +
                    std::to_string(inFeatures()));
    const std::vector<int> runtime = llmInt8OutlierColumns(X, m_threshold);
    // O = run-time outliers ∪ stored FP columns (the stored ones have int8 codes 0 and must
    // always take the FP path).
    std::vector<int> O;
    std::set_union(runtime.begin(), runtime.end(), m_fpColumns.begin(), m_fpColumns.end(), std::back_inserter(O));
    // int8 part (eq. 3, second term): X with the outlier columns removed, vector-wise quantized.
    MatrixRM Xr = X;
    for (int j : O) Xr.col(j).setZero();
    const Int8RowQuantized Xq = quantizeRowsAbsmaxInt8(Xr, kBits);
    dequantizedProduct(Xq, m_weight, Y);  // exact int8 × int8 → int32 kernels
    // FP part (eq. 3, first term): X[:, O] · W[:, O]ᵀ.
    if (!O.empty()) {
        MatrixRM XO(X.rows(), Index(O.size())), WO(m_W.rows(), Index(O.size()));
        for (std::size_t k = 0; k < O.size(); ++k) {
            XO.col(Index(k)) = X.col(O[k]);
            const auto stored = std::lower_bound(m_fpColumns.begin(), m_fpColumns.end(), O[k]);
            if (stored != m_fpColumns.end() && *stored == O[k])
                WO.col(Index(k)) = m_fpWeight.col(stored - m_fpColumns.begin());
            else
                WO.col(Index(k)) = m_W.col(O[k]);
        }
        MatrixRM YO;
        backendFor(BackendOp::Linear, XO.rows(), XO.cols(), WO.rows()).linear(XO, WO, YO);
        Y += YO;
    }
    addBias(m_bias, Y);
    m_forwards.fetch_add(1, std::memory_order_relaxed);
    m_columnsSeen.fetch_add(std::uint64_t(X.cols()), std::memory_order_relaxed);
    m_outlierColumns.fetch_add(std::uint64_t(runtime.size()), std::memory_order_relaxed);
}

MatrixRM LlmInt8Linear::denseWeight() const {
    MatrixRM W = m_weight.codes.array().colwise() * m_weight.scales.array();
    for (std::size_t k = 0; k < m_fpColumns.size(); ++k) W.col(m_fpColumns[k]) = m_fpWeight.col(Index(k));
    return W;
}

std::size_t LlmInt8Linear::storageBytes() const {
    const std::size_t out = std::size_t(outFeatures());
    // int8 codes + F32 row scales + F16 weight columns with their int32 indices + F32 bias.
    return out * std::size_t(inFeatures()) + out * 4 + m_fpColumns.size() * (out * 2 + 4) + (m_bias ? out * 4 : 0);
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
