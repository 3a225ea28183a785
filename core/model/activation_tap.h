#pragma once
// Named activation taps: the forward pass shows the input of every linear module to an
// observer, by module name, so calibration statistics (GPTQ Hessians, AWQ scales, outlier
// statistics) are collected without any quantizer reaching inside the model code
// (llama.cpp's imatrix ask/collect pattern).

#include <functional>
#include <string>

#include "core/util/matrix.h"

namespace qb::core {

class ActivationTap {
public:
    virtual ~ActivationTap() = default;
    /// Asked once per module per forward: return false to skip it (no copy is made).
    [[nodiscard]] virtual bool wants(const std::string& moduleName) const = 0;
    /// X: [tokens, in_features] — the input of module moduleName, e.g.
    /// "model.layers.3.mlp.down_proj". Called on the forward thread, one call at a time.
    /// Modules that share an input (q/k/v; gate/up) each get their own call.
    virtual void observe(const std::string& moduleName, const ConstMatrixRef& X) = 0;
};

/// A tap built from two lambdas.
class FunctionTap final : public ActivationTap {
public:
    using WantsFn = std::function<bool(const std::string&)>;
    using ObserveFn = std::function<void(const std::string&, const ConstMatrixRef&)>;
    FunctionTap(WantsFn wants, ObserveFn observe) : m_wants(std::move(wants)), m_observe(std::move(observe)) {}
    [[nodiscard]] bool wants(const std::string& name) const override { return m_wants(name); }
    void observe(const std::string& name, const ConstMatrixRef& X) override { m_observe(name, X); }

private:
    WantsFn m_wants;
    ObserveFn m_observe;
};

}  // namespace qb::core
