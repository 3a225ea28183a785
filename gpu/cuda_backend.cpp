#include "gpu/cuda_backend.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <optional>

#include "core/util/error.h"
#include "gpu/cuda/cuda_check.h"
#include "gpu/cuda/gram_accumulate.cuh"
#include "gpu/cuda/rms_norm.cuh"
#include "gpu/cuda_backend_impl.h"
#include "gpu/device_probe.h"

namespace qb::gpu {

using core::ConstMatrixRef;
using core::Error;
using core::Index;
using core::MatrixRM;
using core::MatrixRMd;
using detail::DeviceBuffer;
using detail::kMaxLinearChunkRows;
using detail::kMinLinearChunkRows;
using detail::requireIntSize;
using detail::shapeText;
using detail::uploadRows;

// Y[n,out] = X[n,in] · W[out,in]ᵀ. cuBLAS is column-major: the row-major buffers read as
// Xc = Xᵀ [in,n] (ld in), Wc = Wᵀ [in,out] (ld in), Yc = Yᵀ [out,n] (ld out), and
// Yᵀ = W · Xᵀ becomes Yc = Wcᵀ · Xc: SGEMM(T, N, m = out, n = rows, k = in). No transposes
// are materialised. W stays on the device; X and Y pass through in row chunks.
void CudaBackend::Impl::linear(const ConstMatrixRef& X, const ConstMatrixRef& W, MatrixRM& Y) {
    const Index n = X.rows();
    const Index in = X.cols();
    const Index out = W.rows();
    std::lock_guard lock(mutex);
    activate();

    DeviceBuffer<float> dW(std::size_t(out) * std::size_t(in));  // Wc [in,out]
    uploadRows(dW.get(), W.data(), out, in, W.outerStride(), stream);

    const std::size_t bytesPerRow = std::size_t(in + out) * sizeof(float);
    const Index chunkRows = std::min({n, kMaxLinearChunkRows, Index(usableFreeBytes() / bytesPerRow)});
    if (chunkRows < 1) throw Error("not enough free GPU memory for one row of X and Y beside W");
    DeviceBuffer<float> dX(std::size_t(chunkRows) * std::size_t(in));   // Xc [in,chunkRows]
    DeviceBuffer<float> dY(std::size_t(chunkRows) * std::size_t(out));  // Yc [out,chunkRows]

    const float one = 1.0f;
    const float zero = 0.0f;
    for (Index begin = 0; begin < n; begin += chunkRows) {
        const Index rows = std::min(chunkRows, n - begin);
        uploadRows(dX.get(), X.data() + begin * X.outerStride(), rows, in, X.outerStride(), stream);
        QB_CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(rows), int(in), &one, dW.get(),
                                    int(in), dX.get(), int(in), &zero, dY.get(), int(out)));
        // Y is dense row-major: rows [begin, begin+rows) are one contiguous block.
        QB_CUDA_CHECK(cudaMemcpyAsync(Y.data() + begin * out, dY.get(), std::size_t(rows * out) * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream));
    }
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// H[d,d] += Xᵀ X. Per chunk of ≤ kGramChunkRows rows: SSYRK(LOWER, N) on Xc = Xᵀ [d,rows]
// gives the FP32 partial Gram in the column-major lower triangle = the row-major upper
// triangle; gramAccumulateUpper adds it into the FP64 accumulator. The upper triangle is
// mirrored once on the host and added to H, so H changes only when every chunk succeeded.
void CudaBackend::Impl::accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) {
    const Index n = X.rows();
    const Index d = X.cols();
    const Index chunkRows = std::min(kGramChunkRows, n);
    std::lock_guard lock(mutex);
    activate();

    const std::size_t dd = std::size_t(d) * std::size_t(d);
    DeviceBuffer<double> dAcc(dd);                                   // FP64 accumulator [d,d]
    DeviceBuffer<float> dPartial(dd);                                // FP32 partial Gram [d,d]
    DeviceBuffer<float> dX(std::size_t(chunkRows) * std::size_t(d));  // Xc [d,chunkRows]
    QB_CUDA_CHECK(cudaMemsetAsync(dAcc.get(), 0, dd * sizeof(double), stream));

    const float one = 1.0f;
    const float zero = 0.0f;
    for (Index begin = 0; begin < n; begin += chunkRows) {
        const Index rows = std::min(chunkRows, n - begin);
        uploadRows(dX.get(), X.data() + begin * X.outerStride(), rows, d, X.outerStride(), stream);
        QB_CUBLAS_CHECK(cublasSsyrk(blas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, int(d), int(rows), &one, dX.get(),
                                    int(d), &zero, dPartial.get(), int(d)));
        QB_CUDA_CHECK(cuda::gramAccumulateUpper(dPartial.get(), dAcc.get(), int(d), stream));
    }

    MatrixRMd G(d, d);
    QB_CUDA_CHECK(cudaMemcpyAsync(G.data(), dAcc.get(), dd * sizeof(double), cudaMemcpyDeviceToHost, stream));
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
    G.triangularView<Eigen::StrictlyLower>() = G.transpose();
    H += G;
}

void CudaBackend::Impl::rmsNorm(const ConstMatrixRef& X, const core::VectorF& weight, float eps, MatrixRM& Y) {
    const Index rows = X.rows();
    const Index cols = X.cols();
    std::lock_guard lock(mutex);
    activate();

    const std::size_t count = std::size_t(rows) * std::size_t(cols);
    DeviceBuffer<float> dX(count);
    DeviceBuffer<float> dWeight{std::size_t(cols)};
    DeviceBuffer<float> dY(count);
    uploadRows(dX.get(), X.data(), rows, cols, X.outerStride(), stream);
    QB_CUDA_CHECK(cudaMemcpyAsync(dWeight.get(), weight.data(), std::size_t(cols) * sizeof(float),
                                  cudaMemcpyHostToDevice, stream));
    QB_CUDA_CHECK(cuda::rmsNormRows(dX.get(), dWeight.get(), dY.get(), int(rows), int(cols), eps, stream));
    QB_CUDA_CHECK(cudaMemcpyAsync(Y.data(), dY.get(), count * sizeof(float), cudaMemcpyDeviceToHost, stream));
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
}

CudaBackend::CudaBackend(int device) : m_impl(std::make_unique<Impl>()) {
    Impl& impl = *m_impl;
    impl.device = device;
    impl.name = "cuda:" + std::to_string(device);
    core::withErrorContext("initialising " + impl.name, [&] {
        impl.activate();
        impl.description = detail::deviceSummary(device);
        QB_CUDA_CHECK(cudaStreamCreateWithFlags(&impl.stream, cudaStreamNonBlocking));
        QB_CUBLAS_CHECK(cublasCreate(&impl.blas));
        QB_CUBLAS_CHECK(cublasSetStream(impl.blas, impl.stream));
        // Plain FP32: the default math mode never uses TF32 tensor cores for SGEMM/SSYRK.
        QB_CUBLAS_CHECK(cublasSetMathMode(impl.blas, CUBLAS_DEFAULT_MATH));
        QB_CUSOLVER_CHECK(cusolverDnCreate(&impl.solver));
        QB_CUSOLVER_CHECK(cusolverDnSetStream(impl.solver, impl.stream));
    });
}

CudaBackend::~CudaBackend() = default;

std::string CudaBackend::name() const { return m_impl->name; }

std::string CudaBackend::description() const { return m_impl->description; }

bool CudaBackend::supports(core::BackendOp op, Index rows, Index inner, Index cols) const {
    const Index d = inner > 0 ? inner : cols;  // Gram: H is [d,d]
    const bool isLinear = op == core::BackendOp::Linear;
    const double macs = isLinear ? double(rows) * double(inner) * double(cols) : double(rows) * double(d) * double(d);
    if (macs < kMinWorthwhileMacs) return false;
    if (std::max({rows, inner, cols}) > Index(INT_MAX)) return false;
    // The smallest working set the op can run with (floats; see linear/accumulateGram above).
    const double minRows = double(std::min(rows, isLinear ? kMinLinearChunkRows : kGramChunkRows));
    const double bytes = isLinear ? 4.0 * (double(cols) * double(inner) + minRows * double(inner + cols))
                                  : 12.0 * double(d) * double(d) + 4.0 * minRows * double(d);
    try {
        m_impl->activate();
        return bytes <= double(m_impl->usableFreeBytes());
    } catch (const Error&) {
        return false;  // a broken device supports nothing; the caller falls back to the CPU
    }
}

void CudaBackend::linear(const ConstMatrixRef& X, const ConstMatrixRef& W, MatrixRM& Y) const {
    const std::string context =
        name() + " linear X" + shapeText(X.rows(), X.cols()) + " W" + shapeText(W.rows(), W.cols());
    core::withErrorContext(context, [&] {
        if (X.cols() != W.cols()) throw Error("inner dimensions differ (X is [n,in], W is [out,in])");
        for (const Index size : {X.rows(), X.cols(), W.rows()}) requireIntSize(size, "a dimension");
        Y.resize(X.rows(), W.rows());
        if (Y.size() == 0) return;
        if (X.cols() == 0) {
            Y.setZero();
            return;
        }
        m_impl->linear(X, W, Y);
    });
}

void CudaBackend::accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) const {
    const std::string context = name() + " accumulateGram X" + shapeText(X.rows(), X.cols());
    core::withErrorContext(context, [&] {
        if (H.rows() != X.cols() || H.cols() != X.cols())
            throw Error("H is " + shapeText(H.rows(), H.cols()) + ", expected " + shapeText(X.cols(), X.cols()));
        requireIntSize(X.cols(), "in");
        if (X.rows() == 0 || X.cols() == 0) return;
        m_impl->accumulateGram(X, H);
    });
}

void CudaBackend::rmsNorm(const ConstMatrixRef& X, const core::VectorF& weight, double eps, MatrixRM& Y) const {
    const std::string context = name() + " rmsNorm X" + shapeText(X.rows(), X.cols());
    core::withErrorContext(context, [&] {
        if (weight.size() != X.cols())
            throw Error("weight has " + std::to_string(weight.size()) + " entries, expected " +
                        std::to_string(X.cols()));
        requireIntSize(X.rows(), "rows");
        requireIntSize(X.cols(), "cols");
        Y.resize(X.rows(), X.cols());
        if (Y.size() == 0) return;
        m_impl->rmsNorm(X, weight, float(eps), Y);
    });
}

}  // namespace qb::gpu
