#pragma once
// GroupCapture — an ActivationTap that records what the quantizers need from the input X of
// one group of linears (the modules that share an input: q/k/v, o, gate/up, down):
//   H = 2/n·XᵀX (GPTQ's Hessian) when asked, max|X_j| per channel (SmoothQuant), and the
//   rows of X themselves (AWQ's search, the error measurement), subsampled with a fixed
//   stride once more than maxRows would be kept.

#include <map>
#include <optional>
#include <string>

#include "core/model/activation_tap.h"
#include "core/util/matrix.h"

namespace qb::core {

class GroupCapture final : public ActivationTap {
public:
    /// moduleName: the first module of the group (its input is the group's input).
    /// totalRows: rows the forward passes will deliver in all (to choose the stride).
    GroupCapture(std::string moduleName, Index inFeatures, Index totalRows, Index maxRows, bool wantHessian);

    [[nodiscard]] bool wants(const std::string& name) const override { return name == m_name; }
    void observe(const std::string& name, const ConstMatrixRef& X) override;

    /// Trims rows() to the rows actually kept; call after the last forward.
    void finish();
    /// X rows kept: [kept, in].
    [[nodiscard]] const MatrixRM& rows() const { return m_rows; }
    /// H = 2/n·XᵀX over every row seen; [in, in] (empty unless wantHessian).
    [[nodiscard]] const MatrixRMd& hessian() const { return m_H; }
    /// hessian() in float, made on first use after finish() (not thread-safe).
    [[nodiscard]] const MatrixRM& hessianFloat() const;
    /// max_t |X_tj| over every row seen; [in].
    [[nodiscard]] const VectorF& absMax() const { return m_absMax; }
    [[nodiscard]] Index rowsSeen() const { return m_seen; }

private:
    std::string m_name;
    Index m_stride = 1;
    Index m_seen = 0;
    Index m_kept = 0;
    bool m_wantHessian = false;
    long m_hessianSamples = 0;
    MatrixRM m_rows;
    MatrixRMd m_H;
    mutable std::optional<MatrixRM> m_HFloat;
    VectorF m_absMax;
};

/// Routes each module name to the capture of its group, so one forward fills several groups
/// (the pipeline's Phase A, the autopilot's cost measurement). The captures must outlive it.
class GroupCaptures final : public ActivationTap {
public:
    void add(GroupCapture* capture, const std::string& moduleName) { m_captures[moduleName] = capture; }
    [[nodiscard]] bool wants(const std::string& name) const override { return m_captures.count(name) != 0; }
    void observe(const std::string& name, const ConstMatrixRef& X) override { m_captures.at(name)->observe(name, X); }

private:
    std::map<std::string, GroupCapture*> m_captures;
};

}  // namespace qb::core
