#include "core/quant/llm_int8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "core/backend/backend.h"
#include "core/quant/scheme_size.h"
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
void checkColumns(const std::vector<int>& cols, Index in) {
    for (std::size_t k = 0; k < cols.size(); ++k)
        if (cols[k] < 0 || cols[k] >= in || (k > 0 && cols[k] <= cols[k - 1]))
            throw Error("LLM.int8(): FP column indices must be ascending and inside the input");
}
void checkThreshold(double threshold) {
    if (!(threshold > 0.0) || !std::isfinite(threshold)) throw Error("LLM.int8(): the outlier threshold must be positive and finite");
}
// W [out, in] with the columns cols zeroed (they take the FP path, not the int8 row scales).
MatrixRM withoutColumns(const ConstMatrixRef& W, const std::vector<int>& cols) {
    checkColumns(cols, W.cols());
    MatrixRM R = W;
    for (int j : cols) R.col(j).setZero();
    return R;
}
// W[:, cols] rounded to F16: [out, k] row-major binary16 bits.
std::vector<std::uint16_t> f16Columns(const ConstMatrixRef& W, const std::vector<int>& cols) {
    const std::size_t k = cols.size();
    std::vector<std::uint16_t> F(std::size_t(W.rows()) * k);
    for (Index o = 0; o < W.rows(); ++o)
        for (std::size_t j = 0; j < k; ++j) F[std::size_t(o) * k + j] = floatToF16(W(o, cols[j]));
    return F;
}
bool f16IsFinite(std::uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }
}  // namespace

LlmInt8Linear::LlmInt8Linear(const ConstMatrixRef& W, std::optional<VectorF> bias, double threshold, std::vector<int> fpColumns)
    : m_weight(quantizeRowsAbsmaxInt8(withoutColumns(W, fpColumns), kBits)),
      m_fpColumns(std::move(fpColumns)),
      m_fpWeight(f16Columns(W, m_fpColumns)),
      m_bias(std::move(bias)),
      m_threshold(threshold) {
    checkThreshold(threshold);
    if (m_bias && m_bias->size() != W.rows())
        throw Error("LLM.int8(): bias has " + std::to_string(m_bias->size()) + " entries for " + std::to_string(W.rows()) +
                    " output features");
}

LlmInt8Linear::LlmInt8Linear(Int8RowQuantized weight, std::optional<VectorF> bias, double threshold, std::vector<int> fpColumns,
                             std::vector<std::uint16_t> fpWeightF16)
    : m_weight(std::move(weight)),
      m_fpColumns(std::move(fpColumns)),
      m_fpWeight(std::move(fpWeightF16)),
      m_bias(std::move(bias)),
      m_threshold(threshold) {
    checkThreshold(threshold);
    checkInt8Rows(m_weight, "LLM.int8()");
    checkColumns(m_fpColumns, m_weight.cols);
    if (m_fpWeight.size() != std::size_t(m_weight.rows) * m_fpColumns.size())
        throw Error("LLM.int8(): fp_weight has the wrong shape for its fp_columns");
    if (!std::all_of(m_fpWeight.begin(), m_fpWeight.end(), f16IsFinite)) throw Error("LLM.int8(): fp_weight holds NaN or Inf");
    if (m_bias && m_bias->size() != m_weight.rows) throw Error("LLM.int8(): bias has the wrong size");
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
    // FP part (eq. 3, first term): X[:, O] · W[:, O]ᵀ, W[:, j] from the FP16 columns where
    // stored, else the dequantized int8 column s_w ⊙ W_q[:, j] (as bitsandbytes' load_in_8bit).
    if (!O.empty()) {
        const Index out = outFeatures();
        const std::size_t k = m_fpColumns.size();
        MatrixRM XO(X.rows(), Index(O.size())), WO(out, Index(O.size()));  // [n, |O|], [out, |O|]
        for (std::size_t i = 0; i < O.size(); ++i) {
            const int j = O[i];
            XO.col(Index(i)) = X.col(j);
            const auto stored = std::lower_bound(m_fpColumns.begin(), m_fpColumns.end(), j);
            if (stored != m_fpColumns.end() && *stored == j) {
                const std::size_t s = std::size_t(stored - m_fpColumns.begin());
                for (Index o = 0; o < out; ++o) WO(o, Index(i)) = f16ToFloat(m_fpWeight[std::size_t(o) * k + s]);
            } else {
                for (Index o = 0; o < out; ++o) WO(o, Index(i)) = m_weight.scales[o] * float(m_weight.code(o, j));
            }
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

MatrixRM LlmInt8Linear::fpWeight() const {
    const std::size_t k = m_fpColumns.size();
    MatrixRM F(outFeatures(), Index(k));
    for (Index o = 0; o < F.rows(); ++o)
        for (std::size_t j = 0; j < k; ++j) F(o, Index(j)) = f16ToFloat(m_fpWeight[std::size_t(o) * k + j]);
    return F;
}

MatrixRM LlmInt8Linear::denseWeight() const {
    MatrixRM W = m_weight.dequantized();
    const MatrixRM F = fpWeight();
    for (std::size_t j = 0; j < m_fpColumns.size(); ++j) W.col(m_fpColumns[j]) = F.col(Index(j));
    return W;
}

std::size_t LlmInt8Linear::storageBytes() const {
    QuantScheme scheme;
    scheme.method = QuantMethod::LlmInt8;
    return std::size_t(schemeBytes(scheme, outFeatures(), inFeatures(), {bool(m_bias), Index(m_fpColumns.size())}));
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
