#include "gpu/cuda/quant_kernels.cuh"

#include <cstddef>

#include "core/quant/gptq_device_steps.h"

namespace qb::gpu::cuda {
namespace {

namespace step = core::gptq_device;
using std::size_t;

constexpr int kTile = 32;         // 32 × 8 threads per 2-D tile: one warp along the contiguous index
constexpr int kTileRows = 8;
constexpr int kSweepThreads = 32;  // rows of W per block of the sweep: 128 blocks for 4096 rows
constexpr int kNormThreads = 256;

dim3 tiles(int cols, int rows) {
    return dim3((unsigned(cols) + kTile - 1) / kTile, (unsigned(rows) + kTileRows - 1) / kTileRows);
}

__global__ void buildReversedHessianKernel(const double* __restrict__ H, const std::int32_t* __restrict__ perm,
                                           const double* __restrict__ diag, double* __restrict__ A, int n) {
    const int j = blockIdx.x * kTile + threadIdx.x;
    const int i = blockIdx.y * kTileRows + threadIdx.y;
    if (i >= n || j >= n) return;
    A[size_t(i) * size_t(n) + size_t(j)] = step::reversedHessianAt(H, perm, diag, n, i, j);
}

__global__ void checkCholeskyPivotsKernel(const double* __restrict__ L, const double* __restrict__ diag, int n,
                                          double minRelativePivot, int* bad) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    // diag is in processing order; A's diagonal (reversed) is diag[n−1−j].
    if (step::pivotFails(L[size_t(j) * size_t(n) + size_t(j)], diag[n - 1 - j], minRelativePivot)) *bad = 1;
}

__global__ void reverseInverseFactorKernel(const double* __restrict__ Linv, float* __restrict__ U, int n) {
    const int j = blockIdx.x * kTile + threadIdx.x;
    const int i = blockIdx.y * kTileRows + threadIdx.y;
    if (i >= n || j >= n) return;
    U[size_t(i) * size_t(n) + size_t(j)] = step::upperFactorAt(Linv, n, i, j);
}

__global__ void gatherPermutedTransposeKernel(const float* __restrict__ W, const std::int32_t* __restrict__ perm,
                                              const std::uint8_t* __restrict__ dead, float* __restrict__ Wt, int out,
                                              int n) {
    const int j = blockIdx.x * kTile + threadIdx.x;  // row of W
    const int i = blockIdx.y * kTileRows + threadIdx.y;  // processing position
    if (i >= n || j >= out) return;
    Wt[size_t(i) * size_t(out) + size_t(j)] = step::permutedTransposeAt(W, perm, dead, n, i, j);
}

__global__ void scatterCodesKernel(const std::uint8_t* __restrict__ codesT, const std::int32_t* __restrict__ perm,
                                   std::uint8_t* __restrict__ codes, int out, int n) {
    const int j = blockIdx.x * kTile + threadIdx.x;
    const int i = blockIdx.y * kTileRows + threadIdx.y;
    if (i >= n || j >= out) return;
    codes[step::scatteredCodeIndex(perm, n, i, j)] = codesT[size_t(i) * size_t(out) + size_t(j)];
}

__global__ void rtnGroupsKernel(const float* __restrict__ W, const std::uint8_t* __restrict__ dead, int out, int n,
                                int groupCols, int groups, int maxq, bool sym, float* __restrict__ scales,
                                std::int32_t* __restrict__ zeros, std::uint8_t* __restrict__ codes) {
    const size_t t = size_t(blockIdx.x) * blockDim.x + threadIdx.x;  // (row, group), group fastest
    if (t >= size_t(out) * size_t(groups)) return;
    step::rtnGroup(W, dead, n, groupCols, groups, maxq, sym, scales, zeros, codes, int(t / size_t(groups)),
                   int(t % size_t(groups)));
}

// One thread per row j of W: Wt[l, j] for consecutive j are consecutive addresses, so every
// access of a warp is one coalesced transaction.
__global__ void gptqSweepBlockKernel(step::BlockArgs a) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < a.out) step::sweepBlockRow(a, j);
}

__device__ double blockSum(double v, double* shared) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    const int lane = threadIdx.x % 32;
    const int warp = threadIdx.x / 32;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < blockDim.x / 32 ? shared[threadIdx.x] : 0.0;
    if (warp == 0)
        for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    __syncthreads();
    return v;
}

__global__ void gptqRowNormsKernel(const float* __restrict__ W, const std::uint8_t* __restrict__ dead,
                                   const std::uint8_t* __restrict__ codes, const float* __restrict__ scales,
                                   const std::int32_t* __restrict__ zeros, const std::int32_t* __restrict__ gIdx,
                                   const float* __restrict__ T, int n, int groups, double* dw, double* w, double* whw) {
    __shared__ double shared[kNormThreads / 32];
    const size_t r = blockIdx.x;
    double sdw = 0.0, sw = 0.0, swhw = 0.0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        if (dead[c]) continue;
        const size_t at = r * size_t(n) + size_t(c);
        const size_t g = r * size_t(groups) + size_t(gIdx[c]);
        const float x = W[at];
        const float xq = core::gridValue(float(codes[at]), scales[g], float(zeros[g]));
        sdw += double(x - xq) * double(x - xq);
        sw += double(x) * double(x);
        if (T) swhw += double(T[at]) * double(x);
    }
    sdw = blockSum(sdw, shared);
    sw = blockSum(sw, shared);
    swhw = blockSum(swhw, shared);
    if (threadIdx.x == 0) {
        dw[r] = sdw;
        w[r] = sw;
        if (T) whw[r] = swhw;
    }
}

__global__ void rtnResidualKernel(const float* __restrict__ W, const std::uint8_t* __restrict__ codes,
                                  const float* __restrict__ scales, const std::int32_t* __restrict__ zeros, float* __restrict__ D,
                                  int out, int n, int groupCols, int groups) {
    const int c = blockIdx.x * kTile + threadIdx.x;
    const int r = blockIdx.y * kTileRows + threadIdx.y;
    if (r >= out || c >= n) return;
    D[size_t(r) * size_t(n) + size_t(c)] = step::rtnResidualAt(W, codes, scales, zeros, n, groupCols, groups, r, c);
}

__global__ void awqScaleColumnsKernel(const float* __restrict__ W, const float* __restrict__ s, float* __restrict__ Ws, int out,
                                      int n) {
    const int c = blockIdx.x * kTile + threadIdx.x;
    const int r = blockIdx.y * kTileRows + threadIdx.y;
    if (r >= out || c >= n) return;
    Ws[size_t(r) * size_t(n) + size_t(c)] = step::awqScaledWeightAt(W, s, n, r, c);
}

__global__ void awqResidualKernel(const float* __restrict__ W, const float* __restrict__ s, const std::uint8_t* __restrict__ codes,
                                  const float* __restrict__ scales, const std::int32_t* __restrict__ zeros, float* __restrict__ D,
                                  int out, int n, int groupCols, int groups) {
    const int c = blockIdx.x * kTile + threadIdx.x;
    const int r = blockIdx.y * kTileRows + threadIdx.y;
    if (r >= out || c >= n) return;
    D[size_t(r) * size_t(n) + size_t(c)] = step::awqResidualAt(W, s, codes, scales, zeros, n, groupCols, groups, r, c);
}

__global__ void rowDotSumsKernel(const float* __restrict__ A, const float* __restrict__ B, int cols, double* sums) {
    __shared__ double shared[kNormThreads / 32];
    const size_t r = blockIdx.x;
    double s = 0.0;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const size_t at = r * size_t(cols) + size_t(c);
        s += double(A[at]) * double(B[at]);
    }
    s = blockSum(s, shared);
    if (threadIdx.x == 0) sums[r] = s;
}

__global__ void zeroDeadColumnsKernel(float* W, const std::uint8_t* __restrict__ dead, int out, int n) {
    const int c = blockIdx.x * kTile + threadIdx.x;
    const int r = blockIdx.y * kTileRows + threadIdx.y;
    if (r >= out || c >= n) return;
    if (dead[c]) W[size_t(r) * size_t(n) + size_t(c)] = 0.0f;
}

__global__ void doubleToFloatKernel(const double* __restrict__ H, float* __restrict__ Hf, size_t count) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
        Hf[i] = float(H[i]);
}

bool tooTall(int rows) { return (unsigned(rows) + kTileRows - 1) / kTileRows > 65535u; }

}  // namespace

cudaError_t buildReversedHessian(const double* H, const std::int32_t* perm, const double* diag, double* A, int n,
                                 cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (tooTall(n)) return cudaErrorInvalidValue;
    buildReversedHessianKernel<<<tiles(n, n), dim3(kTile, kTileRows), 0, stream>>>(H, perm, diag, A, n);
    return cudaGetLastError();
}

cudaError_t checkCholeskyPivots(const double* L, const double* diag, int n, double minRelativePivot, int* bad,
                                cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    checkCholeskyPivotsKernel<<<(n + 255) / 256, 256, 0, stream>>>(L, diag, n, minRelativePivot, bad);
    return cudaGetLastError();
}

cudaError_t reverseInverseFactor(const double* Linv, float* U, int n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (tooTall(n)) return cudaErrorInvalidValue;
    reverseInverseFactorKernel<<<tiles(n, n), dim3(kTile, kTileRows), 0, stream>>>(Linv, U, n);
    return cudaGetLastError();
}

cudaError_t gatherPermutedTranspose(const float* W, const std::int32_t* perm, const std::uint8_t* dead, float* Wt, int out,
                                    int n, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (tooTall(n)) return cudaErrorInvalidValue;
    gatherPermutedTransposeKernel<<<tiles(out, n), dim3(kTile, kTileRows), 0, stream>>>(W, perm, dead, Wt, out, n);
    return cudaGetLastError();
}

cudaError_t scatterCodes(const std::uint8_t* codesT, const std::int32_t* perm, std::uint8_t* codes, int out, int n,
                         cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (tooTall(n)) return cudaErrorInvalidValue;
    scatterCodesKernel<<<tiles(out, n), dim3(kTile, kTileRows), 0, stream>>>(codesT, perm, codes, out, n);
    return cudaGetLastError();
}

cudaError_t rtnGroups(const float* W, const std::uint8_t* dead, int out, int n, int groupCols, int maxq, bool sym,
                      float* scales, std::int32_t* zeros, std::uint8_t* codes, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (groupCols <= 0) return cudaErrorInvalidValue;
    const int groups = (n + groupCols - 1) / groupCols;
    const size_t threads = 128;
    const size_t blocks = (size_t(out) * size_t(groups) + threads - 1) / threads;
    if (blocks > 0x7fffffffu) return cudaErrorInvalidValue;
    rtnGroupsKernel<<<unsigned(blocks), unsigned(threads), 0, stream>>>(W, dead, out, n, groupCols, groups, maxq, sym, scales, zeros, codes);
    return cudaGetLastError();
}

cudaError_t gptqSweepBlock(const step::BlockArgs& args, cudaStream_t stream) {
    if (args.out <= 0 || args.i2 <= args.i1) return cudaSuccess;
    if (args.groupCols <= 0) return cudaErrorInvalidValue;
    gptqSweepBlockKernel<<<(args.out + kSweepThreads - 1) / kSweepThreads, kSweepThreads, 0, stream>>>(args);
    return cudaGetLastError();
}

cudaError_t gptqRowNorms(const float* W, const std::uint8_t* dead, const std::uint8_t* codes, const float* scales,
                         const std::int32_t* zeros, const std::int32_t* gIdx, const float* T, int out, int n, int groups,
                         double* dw, double* w, double* whw, cudaStream_t stream) {
    if (out <= 0) return cudaSuccess;
    gptqRowNormsKernel<<<out, kNormThreads, 0, stream>>>(W, dead, codes, scales, zeros, gIdx, T, n, groups, dw, w, whw);
    return cudaGetLastError();
}

cudaError_t rtnResidual(const float* W, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros, float* D,
                        int out, int n, int groupCols, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (groupCols <= 0 || tooTall(out)) return cudaErrorInvalidValue;
    const int groups = (n + groupCols - 1) / groupCols;
    rtnResidualKernel<<<tiles(n, out), dim3(kTile, kTileRows), 0, stream>>>(W, codes, scales, zeros, D, out, n, groupCols, groups);
    return cudaGetLastError();
}

cudaError_t awqScaleColumns(const float* W, const float* s, float* Ws, int out, int n, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (tooTall(out)) return cudaErrorInvalidValue;
    awqScaleColumnsKernel<<<tiles(n, out), dim3(kTile, kTileRows), 0, stream>>>(W, s, Ws, out, n);
    return cudaGetLastError();
}

cudaError_t awqResidual(const float* W, const float* s, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros,
                        float* D, int out, int n, int groupCols, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (groupCols <= 0 || tooTall(out)) return cudaErrorInvalidValue;
    const int groups = (n + groupCols - 1) / groupCols;
    awqResidualKernel<<<tiles(n, out), dim3(kTile, kTileRows), 0, stream>>>(W, s, codes, scales, zeros, D, out, n, groupCols, groups);
    return cudaGetLastError();
}

cudaError_t rowDotSums(const float* A, const float* B, int rows, int cols, double* sums, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    rowDotSumsKernel<<<rows, kNormThreads, 0, stream>>>(A, B, cols, sums);
    return cudaGetLastError();
}

cudaError_t zeroDeadColumns(float* W, const std::uint8_t* dead, int out, int n, cudaStream_t stream) {
    if (n <= 0 || out <= 0) return cudaSuccess;
    if (tooTall(out)) return cudaErrorInvalidValue;
    zeroDeadColumnsKernel<<<tiles(n, out), dim3(kTile, kTileRows), 0, stream>>>(W, dead, out, n);
    return cudaGetLastError();
}

cudaError_t doubleToFloat(const double* H, float* Hf, std::size_t count, cudaStream_t stream) {
    if (count == 0) return cudaSuccess;
    doubleToFloatKernel<<<1024, 256, 0, stream>>>(H, Hf, count);
    return cudaGetLastError();
}

}  // namespace qb::gpu::cuda
