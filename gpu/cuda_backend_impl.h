#pragma once
// CudaBackend::Impl and the device-memory helpers its ops share. Internal to gpu/ (includes
// CUDA headers): cuda_backend.cpp holds the BLAS ops, cuda_gptq.cpp the quantization core.

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "core/quant/gptq.h"
#include "core/util/error.h"
#include "gpu/cuda/cuda_check.h"
#include "gpu/cuda_backend.h"

namespace qb::gpu::detail {

using core::Index;

// Device memory an op leaves free for cuBLAS's workspace and other users of the GPU.
inline constexpr std::size_t kMemoryHeadroomBytes = std::size_t(256) << 20;
// Rows of X and Y that supports() requires to fit beside W for linear to be worthwhile.
inline constexpr Index kMinLinearChunkRows = 256;
// Rows of X and Y per linear chunk at most: enough to keep SGEMM efficient without taking
// all free device memory (8192 x (4096 + 11008) floats = 0.5 GB).
inline constexpr Index kMaxLinearChunkRows = 8192;

// "[rows x cols]" (appended piecewise: GCC 12's -Wrestrict misfires on a chain of + here).
inline std::string shapeText(Index rows, Index cols) {
    std::string text = "[";
    text += std::to_string(rows);
    text += "x";
    text += std::to_string(cols);
    text += "]";
    return text;
}

// cuBLAS and the kernel launches take int sizes.
inline void requireIntSize(Index value, const char* what) {
    if (value > Index(INT_MAX))
        throw core::Error(std::string(what) + " = " + std::to_string(value) + " exceeds the GPU's 32-bit size limit");
}

// Owns count elements of device memory. Freed on scope exit, also when an op throws.
template <class T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t count) { allocate(count); }
    ~DeviceBuffer() { release(); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void allocate(std::size_t count) {
        release();
        if (count > 0) QB_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&m_ptr), count * sizeof(T)));
        m_count = count;
    }
    void release() {
        if (m_ptr) cudaFree(m_ptr);  // a failure here has nowhere to go; the op already reported
        m_ptr = nullptr;
        m_count = 0;
    }
    [[nodiscard]] T* get() const { return m_ptr; }
    [[nodiscard]] std::size_t bytes() const { return m_count * sizeof(T); }

private:
    T* m_ptr = nullptr;
    std::size_t m_count = 0;
};

// Copies a row-major host block (rows contiguous, outer stride >= cols) into a dense device
// buffer [rows, cols] (leading dimension cols).
inline void uploadRows(float* dst, const float* src, Index rows, Index cols, Index srcStride, cudaStream_t stream) {
    if (rows == 0 || cols == 0) return;
    const std::size_t width = std::size_t(cols) * sizeof(float);
    const std::size_t pitch = std::max(width, std::size_t(srcStride) * sizeof(float));
    QB_CUDA_CHECK(cudaMemcpy2DAsync(dst, width, src, pitch, width, std::size_t(rows), cudaMemcpyHostToDevice, stream));
}

inline void checkCusolver(cusolverStatus_t status, const char* call) {
    if (status != CUSOLVER_STATUS_SUCCESS)
        throw core::Error("CUDA: " + std::string(callName(call)) + " failed: cuSOLVER status " + std::to_string(int(status)));
}

}  // namespace qb::gpu::detail

#define QB_CUSOLVER_CHECK(call) ::qb::gpu::detail::checkCusolver((call), #call)

namespace qb::gpu {

struct CudaBackend::Impl {
    int device = 0;
    std::string name;
    std::string description;
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    cusolverDnHandle_t solver = nullptr;
    std::mutex mutex;  // serialises device work: one handle, one stream

    ~Impl() {
        // At process exit the CUDA runtime may already be unloading; then its calls fail and
        // the handles and stream are left to the driver's teardown instead of being destroyed.
        if (cudaSetDevice(device) != cudaSuccess) return;
        if (solver) cusolverDnDestroy(solver);
        if (blas) cublasDestroy(blas);
        if (stream) cudaStreamDestroy(stream);
    }

    // Makes device current on the calling thread (CUDA's current device is per host thread).
    void activate() const { QB_CUDA_CHECK(cudaSetDevice(device)); }

    // Free device memory an op may use now, after the headroom.
    [[nodiscard]] std::size_t usableFreeBytes() const {
        std::size_t freeBytes = 0;
        std::size_t totalBytes = 0;
        QB_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
        return freeBytes > detail::kMemoryHeadroomBytes ? freeBytes - detail::kMemoryHeadroomBytes : 0;
    }

    void linear(const core::ConstMatrixRef& X, const core::ConstMatrixRef& W, core::MatrixRM& Y);
    void accumulateGram(const core::ConstMatrixRef& X, core::MatrixRMd& H);
    void rmsNorm(const core::ConstMatrixRef& X, const core::VectorF& weight, float eps, core::MatrixRM& Y);
    // cuda_gptq.cpp
    core::GptqResult gptq(const core::ConstMatrixRef& W, const Eigen::Ref<const core::MatrixRMd>& H,
                          const core::WeightGridSpec& spec, const core::GptqOptions& options, const core::RunContext& ctx);
    core::QuantizedWeight rtn(const core::ConstMatrixRef& W, const core::WeightGridSpec& spec);
    // cuda_sensitivity.cpp
    std::vector<double> rtnOutputEnergies(const core::ConstMatrixRef& W, const core::ConstMatrixRef& inputs, bool inputsAreGram,
                                          const std::vector<core::WeightGridSpec>& specs);
    std::vector<double> scaledRtnOutputEnergies(const core::ConstMatrixRef& W, const core::ConstMatrixRef& inputs, bool inputsAreGram,
                                                const core::WeightGridSpec& spec, const std::vector<core::VectorF>& columnScales);
};

}  // namespace qb::gpu
