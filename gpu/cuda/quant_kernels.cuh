#pragma once
// The CUDA kernels of the quantization core (GPTQ's column sweep and its helpers, RTN's
// grid). Host-callable launchers; every pointer is device memory; nothing synchronises.
// Each kernel calls one QB_HD function of core/quant/gptq_device_steps.h per thread (the
// algorithm, emulated on the CPU in CI) and core/quant/grid_math.h's per-element math, compiled here
// with -fmad=false (gpu/CMakeLists.txt) so that a multiply and an add round separately, as
// in the CPU reference (g++ -std=c++20 does not contract either): the same inputs give the
// same codes on both.
//
// Layouts: see core/quant/gptq_device_steps.h.

#include <cuda_runtime.h>

#include <cstdint>

#include "core/quant/gptq_device_steps.h"

namespace qb::gpu::cuda {

/// A[i, j] = H[perm[n−1−i], perm[n−1−j]] off the diagonal, diag[n−1−i] on it: J·(H'+λI)·J,
/// the matrix whose lower Cholesky factor gives U (core/quant/hessian_inverse.h, eq. 1).
cudaError_t buildReversedHessian(const double* H, const std::int32_t* perm, const double* diag, double* A, int n,
                                 cudaStream_t stream);

/// After cuSOLVER's potrf (lower, column-major) of A: sets *bad = 1 when a pivot L_jj is
/// not finite, or L_jj² < minRelativePivot · reversedDiag[j] (H' singular to working precision).
cudaError_t checkCholeskyPivots(const double* L, const double* diag, int n, double minRelativePivot, int* bad,
                                cudaStream_t stream);

/// U[i, j] = Linv[n−1−i, n−1−j] for j ≥ i and 0 below (U = J·L̃⁻¹·J), as float; Linv is the
/// column-major lower inverse that cuSOLVER's trtri leaves (its strict upper part is ignored).
cudaError_t reverseInverseFactor(const double* Linv, float* U, int n, cudaStream_t stream);

/// Wt[i, j] = dead[perm[i]] ? 0 : W[j, perm[i]].
cudaError_t gatherPermutedTranspose(const float* W, const std::int32_t* perm, const std::uint8_t* dead, float* Wt, int out,
                                    int n, cudaStream_t stream);

/// codes[j, perm[i]] = codesT[i, j].
cudaError_t scatterCodes(const std::uint8_t* codesT, const std::int32_t* perm, std::uint8_t* codes, int out, int n,
                         cudaStream_t stream);

/// RTN on W [out, n]: one thread per (row, group) fits the group's grid (gridParamsForRange
/// on its min and max) and, when codes is not null, writes its codes. Columns with dead[c]
/// (when dead is not null) count as 0, as GPTQ's static groups see them.
cudaError_t rtnGroups(const float* W, const std::uint8_t* dead, int out, int n, int groupCols, int maxq, bool sym,
                      float* scales, std::int32_t* zeros, std::uint8_t* codes, cudaStream_t stream);

/// Alg. 1, lines 5–9 for one block: gptq_device::sweepBlockRow, one thread per row of W.
cudaError_t gptqSweepBlock(const core::gptq_device::BlockArgs& args, cudaStream_t stream);

/// Per row r (one block of threads each), over columns c with live (dead[c] == 0):
///   dw[r] = Σ (W[r,c] − Ŵ[r,c])²,  w[r] = Σ W[r,c]²,  whw[r] = Σ T[r,c]·W'[r,c]
/// with Ŵ[r,c] = scales[r, gIdx[c]]·(codes[r,c] − zeros[r, gIdx[c]]), W' = W with dead
/// columns 0, and T = W'·H (T may be null: whw untouched). Double accumulation.
cudaError_t gptqRowNorms(const float* W, const std::uint8_t* dead, const std::uint8_t* codes, const float* scales,
                         const std::int32_t* zeros, const std::int32_t* gIdx, const float* T, int out, int n, int groups,
                         double* dw, double* w, double* whw, cudaStream_t stream);

/// D = W − Ŵ of an RTN result (gptq_device::rtnResidualAt), [out, n].
cudaError_t rtnResidual(const float* W, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros, float* D,
                        int out, int n, int groupCols, cudaStream_t stream);

/// Ws = W·diag(s) (gptq_device::awqScaledWeightAt), [out, n].
cudaError_t awqScaleColumns(const float* W, const float* s, float* Ws, int out, int n, cudaStream_t stream);

/// D = W − RTN(W·diag(s))·diag(s)⁻¹ (gptq_device::awqResidualAt), [out, n].
cudaError_t awqResidual(const float* W, const float* s, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros,
                        float* D, int out, int n, int groupCols, cudaStream_t stream);

/// sums[r] = Σ_c A[r, c]·B[r, c] in double, one block of threads per row of [rows, cols].
cudaError_t rowDotSums(const float* A, const float* B, int rows, int cols, double* sums, cudaStream_t stream);

/// W'[r, c] = dead[c] ? 0 : W[r, c] (in place).
cudaError_t zeroDeadColumns(float* W, const std::uint8_t* dead, int out, int n, cudaStream_t stream);

/// Hf = float(H), n × n.
cudaError_t doubleToFloat(const double* H, float* Hf, std::size_t count, cudaStream_t stream);

}  // namespace qb::gpu::cuda
