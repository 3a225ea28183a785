#pragma once
// Gram accumulation: adds one float partial Gram matrix into a double accumulator.
//
// cuBLAS SSYRK (uplo = LOWER, column-major) leaves the partial Gram G = Xcᵀ·Xc of one row
// chunk in the lower triangle of a column-major [d,d] buffer. Read row-major, that is the
// UPPER triangle (c >= r): G[r,c] lives at partial[r*d + c] for c >= r; the strict lower
// half of the buffer is not written by SSYRK and is never read here.
//
//   partial: [d,d] float, row-major view, valid for c >= r      (device)
//   acc:     [d,d] double, row-major; acc[r,c] += partial[r,c] for c >= r only  (device)
//
// The caller mirrors the upper triangle once, after the last chunk. Float partials over a
// bounded number of rows and a double accumulator match the CPU reference's precision.

#include <cuda_runtime.h>

namespace qb::gpu::cuda {

/// Enqueues the accumulation on stream; returns the launch status (cudaGetLastError()).
/// 0 <= d <= 524280 (grid.y = ceil(d / 8) <= 65535); d == 0 launches nothing.
cudaError_t gramAccumulateUpper(const float* partial, double* acc, int d, cudaStream_t stream);

}  // namespace qb::gpu::cuda
