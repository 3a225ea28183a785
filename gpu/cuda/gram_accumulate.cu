#include "gpu/cuda/gram_accumulate.cuh"

#include <cstddef>

namespace qb::gpu::cuda {
namespace {

constexpr int kTileCols = 32;  // one warp across a row segment: coalesced reads and writes
constexpr int kTileRows = 8;

// One thread per element of a 32 x 8 tile; threads with c < r (strict lower half) idle.
// Indices are size_t: d*d exceeds 2^31 for d > 46340.
__global__ void gramAccumulateUpperKernel(const float* __restrict__ partial, double* __restrict__ acc, int d) {
    const int c = blockIdx.x * kTileCols + threadIdx.x;
    const int r = blockIdx.y * kTileRows + threadIdx.y;
    if (r >= d || c >= d || c < r) return;
    const std::size_t i = std::size_t(r) * std::size_t(d) + std::size_t(c);
    acc[i] += double(partial[i]);
}

}  // namespace

cudaError_t gramAccumulateUpper(const float* partial, double* acc, int d, cudaStream_t stream) {
    if (d <= 0) return cudaSuccess;
    if (d > 65535 * kTileRows) return cudaErrorInvalidValue;  // grid.y limit
    const dim3 block(kTileCols, kTileRows);
    const dim3 grid((unsigned(d) + kTileCols - 1) / kTileCols, (unsigned(d) + kTileRows - 1) / kTileRows);
    gramAccumulateUpperKernel<<<grid, block, 0, stream>>>(partial, acc, d);
    return cudaGetLastError();
}

}  // namespace qb::gpu::cuda
