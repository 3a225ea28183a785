#pragma once
// Row-wise RMSNorm (Llama): y[r,:] = x[r,:] / sqrt(mean(x[r,:]²) + eps) ⊙ weight.
//
//   x:      [rows, cols] float, row-major, contiguous (device)
//   weight: [cols] float (device)
//   y:      [rows, cols] float, row-major, contiguous (device); may not alias x
//
// One block per row; the sum of squares is reduced in float (per-thread partials over
// cols/256 elements, then a warp-shuffle tree), which matches a float CPU reference to ~1e-6.

#include <cuda_runtime.h>

namespace qb::gpu::cuda {

/// Enqueues the normalisation on stream; returns the launch status (cudaGetLastError()).
/// rows, cols >= 0 (nothing is launched when either is 0); rows <= 2^31 - 1.
cudaError_t rmsNormRows(const float* x, const float* weight, float* y, int rows, int cols, float eps,
                        cudaStream_t stream);

}  // namespace qb::gpu::cuda
