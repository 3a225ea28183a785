#include "gpu/cuda/rms_norm.cuh"

#include <cstddef>

namespace qb::gpu::cuda {
namespace {

constexpr int kBlock = 256;  // threads per row; a multiple of the warp size
constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ float warpSum(float v) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
    return v;
}

__global__ void rmsNormRowsKernel(const float* __restrict__ x, const float* __restrict__ weight,
                                  float* __restrict__ y, int cols, float eps) {
    __shared__ float warpSums[kBlock / kWarp];
    __shared__ float invRms;
    const std::size_t rowOffset = std::size_t(blockIdx.x) * std::size_t(cols);
    const float* xr = x + rowOffset;
    float* yr = y + rowOffset;

    // Phase 1: per-thread sum of squares over a strided slice of the row (coalesced).
    float sum = 0.0f;
    for (int c = threadIdx.x; c < cols; c += kBlock) sum += xr[c] * xr[c];

    // Phase 2: reduce inside each warp, then the warp sums in warp 0.
    sum = warpSum(sum);
    const int warp = threadIdx.x / kWarp;
    const int lane = threadIdx.x % kWarp;
    if (lane == 0) warpSums[warp] = sum;
    __syncthreads();
    if (warp == 0) {
        float total = lane < kBlock / kWarp ? warpSums[lane] : 0.0f;
        total = warpSum(total);
        if (lane == 0) invRms = 1.0f / sqrtf(total / float(cols) + eps);  // IEEE sqrt and divide
    }
    __syncthreads();

    // Phase 3: scale.
    const float s = invRms;
    for (int c = threadIdx.x; c < cols; c += kBlock) yr[c] = xr[c] * s * weight[c];
}

}  // namespace

cudaError_t rmsNormRows(const float* x, const float* weight, float* y, int rows, int cols, float eps,
                        cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    rmsNormRowsKernel<<<unsigned(rows), kBlock, 0, stream>>>(x, weight, y, cols, eps);
    return cudaGetLastError();
}

}  // namespace qb::gpu::cuda
