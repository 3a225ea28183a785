#pragma once
// CpuBackend — the reference backend: Eigen GEMM, parallelised with OpenMP over row blocks.

#include "core/backend/backend.h"

namespace qb::core {

class CpuBackend final : public Backend {
public:
    [[nodiscard]] std::string name() const override { return "cpu"; }
    [[nodiscard]] std::string description() const override;
    [[nodiscard]] bool supports(BackendOp, Index, Index, Index) const override { return true; }
    void linear(const ConstMatrixRef& X, const ConstMatrixRef& W, MatrixRM& Y) const override;
    void accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) const override;
};

}  // namespace qb::core
