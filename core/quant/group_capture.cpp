#include "core/quant/group_capture.h"

#include <algorithm>

#include "core/quant/gptq.h"
#include "core/util/error.h"
#include "core/util/huge_pages.h"

namespace qb::core {

GroupCapture::GroupCapture(std::string moduleName, Index inFeatures, Index totalRows, Index maxRows, bool wantHessian)
    : m_name(std::move(moduleName)), m_wantHessian(wantHessian) {
    m_stride = std::max<Index>(1, (totalRows + maxRows - 1) / std::max<Index>(1, maxRows));
    m_rows.resize((totalRows + m_stride - 1) / m_stride, inFeatures);  // [kept, in]: 256 MiB for down_proj at 8,192 rows
    adviseHugePages(m_rows.data(), std::size_t(m_rows.size()) * sizeof(float));
    m_absMax = VectorF::Zero(inFeatures);
    if (m_wantHessian) {  // [in, in] double: 512 MiB at 8,192 inputs
        m_H.resize(inFeatures, inFeatures);
        adviseHugePages(m_H.data(), std::size_t(m_H.size()) * sizeof(double));
        m_H.setZero();
    }
}

void GroupCapture::observe(const std::string&, const ConstMatrixRef& X) {
    if (X.cols() != m_rows.cols()) throw Error("calibration: " + m_name + " input has the wrong width");
    if (m_wantHessian) accumulateHessian(X, m_H, m_hessianSamples);
    m_absMax = m_absMax.cwiseMax(X.cwiseAbs().colwise().maxCoeff().transpose());
    // Keep every m_stride-th row of the whole stream (global row index m_seen + r).
    for (Index r = (m_stride - m_seen % m_stride) % m_stride; r < X.rows(); r += m_stride) {
        if (m_kept >= m_rows.rows()) break;
        m_rows.row(m_kept++) = X.row(r);
    }
    m_seen += X.rows();
}

const MatrixRM& GroupCapture::hessianFloat() const {
    if (!m_HFloat) m_HFloat = m_H.cast<float>();
    return *m_HFloat;
}

void GroupCapture::finish() {
    if (m_kept < m_rows.rows()) m_rows.conservativeResize(m_kept, Eigen::NoChange);
}

}  // namespace qb::core
