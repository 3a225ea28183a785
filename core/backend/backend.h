#pragma once
// Backend — the small interface behind which quantbench does its heavy matrix work.
//
// The CPU backend (core/backend/cpu/) is the reference and always present; gpu/ supplies a
// CUDA implementation. Callers ask supports() first and fall back to the CPU backend; a
// backend never assumes another is present. All matrices use the layout of core/util/matrix.h.
// Thread-safety: a Backend is shared; its const methods may be called from several threads.

#include <memory>
#include <string>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

class QuantAccelerator;  // core/quant/quant_accelerator.h

enum class BackendOp {
    Linear,  ///< Y[n,out] = X[n,in] · W[out,in]ᵀ
    Gram,    ///< H[in,in] += X[n,in]ᵀ · X[n,in] (GPTQ Hessian accumulation), double accumulator
};

class Backend {
public:
    virtual ~Backend() = default;

    /// Short identifier, e.g. "cpu" or "cuda:0".
    [[nodiscard]] virtual std::string name() const = 0;
    /// Human-readable description (device name, threads).
    [[nodiscard]] virtual std::string description() const = 0;
    /// True when this backend can run op on operands of these sizes (rows, inner, cols).
    [[nodiscard]] virtual bool supports(BackendOp op, Index rows, Index inner, Index cols) const = 0;

    /// Y[n,out] = X[n,in] · W[out,in]ᵀ. Y is resized. Throws Error on a device failure.
    virtual void linear(const ConstMatrixRef& X, const ConstMatrixRef& W, MatrixRM& Y) const = 0;
    /// H[in,in] += X[n,in]ᵀ · X[n,in], accumulated in double. H must already be [in,in].
    virtual void accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) const = 0;
    /// The whole-layer quantization algorithms this backend runs on its device, or nullptr
    /// (the CPU backend: core/quant's functions are the reference).
    [[nodiscard]] virtual const QuantAccelerator* quantAccelerator() const { return nullptr; }
};

/// The process-wide list of backends. The CPU backend is registered on first use; app/
/// mains register optional ones (gpu/) at start-up. Thread-safe.
class BackendRegistry {
public:
    static BackendRegistry& instance();

    void add(std::shared_ptr<Backend> backend);
    [[nodiscard]] std::shared_ptr<Backend> cpu() const;
    /// The backend named name, or nullptr.
    [[nodiscard]] std::shared_ptr<Backend> find(const std::string& name) const;
    /// The backend chosen with setPreferred(), else the first registered non-CPU backend if
    /// any, else the CPU backend.
    [[nodiscard]] std::shared_ptr<Backend> preferred() const;
    /// Makes the backend called name ("cpu", "cuda:0") the preferred one (--device).
    /// Throws Error naming the registered backends when there is none of that name.
    void setPreferred(const std::string& name);
    [[nodiscard]] std::vector<std::shared_ptr<Backend>> all() const;

private:
    BackendRegistry();
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

/// Picks the backend for (op, sizes): preferred if it supports them, else CPU.
[[nodiscard]] const Backend& backendFor(BackendOp op, Index rows, Index inner, Index cols);

/// Number of worker threads core uses for data-parallel loops (OpenMP). Defaults to the
/// number of hardware threads; setThreadCount(n) with n >= 1 overrides it process-wide.
void setThreadCount(int n);
[[nodiscard]] int threadCount();

}  // namespace qb::core
