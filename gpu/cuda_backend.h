#pragma once
// CudaBackend — the CUDA implementation of qb::core::Backend on one device (cuBLAS + the
// kernels of gpu/cuda/). Plain C++ header: the CUDA state sits behind a pointer to Impl.
//
// Precision (matches the CPU reference, core/backend/cpu/cpu_backend.cpp):
//   linear          cuBLAS SGEMM, FP32 inputs, FP32 accumulation (default math mode: no TF32).
//   accumulateGram  cuBLAS SSYRK in FP32 over chunks of at most kGramChunkRows rows, each
//                   partial added into an FP64 device accumulator (gpu/cuda/gram_accumulate),
//                   which is then added to H in FP64 on the host.
//   rmsNorm         FP32 (gpu/cuda/rms_norm).
//   gptq            the whole layer on the device (gpu/cuda_gptq.cpp): H uploaded once, the
//                   factor (H'+λI)⁻¹ = UᵀU by cuSOLVER in FP64 (potrf + trtri, the CPU's eq. 1),
//                   the column sweep in FP32 (gpu/cuda/quant_kernels), lazy updates by SGEMM.
//   rtn             the group grid on the device; codes, scales and zeros bit-identical to the CPU.
//   rtnOutputEnergies  inspect's sensitivity forms (gpu/cuda_sensitivity.cpp): RTN on the
//                   device per grid point, SGEMM D·G (or D·Xᵀ), double row sums.
//   scaledRtnOutputEnergies  AWQ's scale search the same way, one residual per candidate s.
// Every op uploads its operands, computes, downloads the result and synchronises: nothing is
// cached between calls, so callers may change their matrices freely. Host buffers are pageable.
//
// Thread-safety: all methods are const and may be called from several threads; device work
// is serialised per backend by a mutex (one cuBLAS handle, one stream).
// Errors: any CUDA/cuBLAS failure throws qb::core::Error, e.g. "cuda:0 linear
// [4096x4096]·[11008x4096]ᵀ: CUDA: cudaMallocAsync failed: out of memory". After a device
// fault (illegal address) the CUDA context stays broken: later ops on it throw as well.

#include <memory>
#include <string>

#include "core/backend/backend.h"
#include "core/quant/quant_accelerator.h"

namespace qb::gpu {

class CudaBackend final : public core::Backend, public core::QuantAccelerator {
public:
    /// Rows per FP32 SSYRK partial before it is added in FP64 (as the CPU backend's chunks).
    static constexpr core::Index kGramChunkRows = 2048;
    /// Ops with fewer multiply-adds than this run faster on the CPU than the PCIe transfer costs.
    static constexpr double kMinWorthwhileMacs = double(1 << 24);

    /// Initialises device (CUDA ordinal): context, stream, cuBLAS handle. Throws
    /// qb::core::Error if the device cannot be used.
    explicit CudaBackend(int device);
    ~CudaBackend() override;
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    /// "cuda:<ordinal>"
    [[nodiscard]] std::string name() const override;
    /// "NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)"
    [[nodiscard]] std::string description() const override;
    /// Linear: rows = n, inner = in, cols = out. Gram: rows = n, inner = in (H is
    /// [in,in]; cols is read as in when inner is 0). True when the op has at least
    /// kMinWorthwhileMacs multiply-adds and its smallest working set fits in the device's
    /// free memory. Never throws (a CUDA error gives false).
    [[nodiscard]] bool supports(core::BackendOp op, core::Index rows, core::Index inner,
                                core::Index cols) const override;

    /// Y[n,out] = X[n,in] · W[out,in]ᵀ (cuBLAS SGEMM). Y is resized. X and W may have an
    /// outer stride (blocks of larger matrices). Large X is processed in row chunks that fit
    /// in free device memory; W must fit whole. Throws Error on a shape mismatch or a device failure.
    void linear(const core::ConstMatrixRef& X, const core::ConstMatrixRef& W, core::MatrixRM& Y) const override;
    /// H[in,in] += X[n,in]ᵀ · X[n,in], accumulated in double (see the precision note above).
    /// Throws Error if H is not [in,in] or on a device failure; H is unchanged then.
    void accumulateGram(const core::ConstMatrixRef& X, core::MatrixRMd& H) const override;

    /// Row-wise RMSNorm: Y[r,:] = X[r,:] / sqrt(mean(X[r,:]²) + eps) ⊙ weight[:]. Y is
    /// resized to X's shape. The GPU twin of qb::core::rmsNorm (core/model/decoder_layer.h);
    /// not part of the Backend interface yet, used by the self-test and the backend tests.
    void rmsNorm(const core::ConstMatrixRef& X, const core::VectorF& weight, double eps, core::MatrixRM& Y) const;

    [[nodiscard]] const core::QuantAccelerator* quantAccelerator() const override { return this; }
    /// True when the layer's working set (see cuda_gptq.cpp: about 8·in² bytes for H and its
    /// factor plus 13·out·in for W, its working copy and the codes) fits in free device memory.
    [[nodiscard]] bool supportsGptq(core::Index out, core::Index in) const override;
    [[nodiscard]] core::GptqResult gptq(const core::ConstMatrixRef& W, const Eigen::Ref<const core::MatrixRMd>& H,
                                        const core::WeightGridSpec& spec, const core::GptqOptions& options,
                                        const core::RunContext& ctx) const override;
    [[nodiscard]] core::QuantizedWeight rtn(const core::ConstMatrixRef& W, const core::WeightGridSpec& spec) const override;
    /// W, the inputs, D and the product T resident: 4·(2·out·in + rows·in + out·rows) + out·in bytes.
    [[nodiscard]] bool supportsOutputEnergies(core::Index out, core::Index in, core::Index inputRows) const override;
    [[nodiscard]] std::vector<double> rtnOutputEnergies(const core::ConstMatrixRef& W, const core::ConstMatrixRef& inputs,
                                                        bool inputsAreGram,
                                                        const std::vector<core::WeightGridSpec>& specs) const override;
    [[nodiscard]] std::vector<double> scaledRtnOutputEnergies(const core::ConstMatrixRef& W, const core::ConstMatrixRef& inputs,
                                                              bool inputsAreGram, const core::WeightGridSpec& spec,
                                                              const std::vector<core::VectorF>& columnScales) const override;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace qb::gpu
