#pragma once
// QB_CUDA_CHECK / QB_CUBLAS_CHECK — turn a failed CUDA runtime or cuBLAS call into a
// qb::core::Error("CUDA: <function> failed: <reason>"), so a failed kernel fails the job
// that launched it, never the application. Internal to gpu/ (includes CUDA headers).
//
//   QB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
//   QB_CUBLAS_CHECK(cublasSgemm(handle, ...));
//   launchSomething<<<grid, block, 0, stream>>>(...); QB_CUDA_CHECK(cudaGetLastError());
//
// A kernel's own faults are asynchronous: they surface at the next checked synchronising
// call (every op ends with a checked cudaStreamSynchronize).

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>
#include <string_view>

#include "core/util/error.h"

namespace qb::gpu::detail {

/// "cudaMemcpyAsync(dst, ...)" -> "cudaMemcpyAsync": keeps the message one short line.
inline std::string_view callName(std::string_view call) { return call.substr(0, call.find('(')); }

[[noreturn]] inline void throwCudaError(std::string_view call, const char* reason) {
    throw core::Error("CUDA: " + std::string(callName(call)) + " failed: " + reason);
}

inline void checkCuda(cudaError_t status, std::string_view call) {
    if (status != cudaSuccess) throwCudaError(call, cudaGetErrorString(status));
}

inline void checkCublas(cublasStatus_t status, std::string_view call) {
    if (status != CUBLAS_STATUS_SUCCESS) throwCudaError(call, cublasGetStatusString(status));
}

}  // namespace qb::gpu::detail

#define QB_CUDA_CHECK(call) ::qb::gpu::detail::checkCuda((call), #call)
#define QB_CUBLAS_CHECK(call) ::qb::gpu::detail::checkCublas((call), #call)
