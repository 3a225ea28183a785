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

/// H ← beta·H + alpha·XᵀX for X [n, d] row-major and a symmetric H [d, d]: only H's lower
/// triangle is read (beta == 0: none of H's old values, even NaN). One pass over H: the rescale is fused into the tiles' update, and
/// only the lower triangle is computed (BLAS ssyrk on the diagonal tiles, sgemm below), its
/// transpose written to the upper one, so H stays exactly symmetric. The products are float
/// sums over ≤ 4096 rows (≈1e-6 relative), accumulated into H in double.
void accumulateGramScaled(const ConstMatrixRef& X, MatrixRMd& H, double beta, double alpha);

}  // namespace qb::core
