#pragma once
// QuantAccelerator — the quantization algorithms a device backend runs itself (GPTQ's whole
// layer, RTN's grid), with the data resident on the device for the whole call.
//
// A Backend that has one returns it from Backend::quantAccelerator(); the CPU backend has
// none, and the CPU functions (quantizeGptq, quantizeRtn) are the reference every
// accelerator is compared with (`quantbench-cli selftest`). Callers go through
// quantizeGptqPreferred / quantizeRtnPreferred below, which fall back to the CPU for one
// layer when the device cannot take it (too large, out of memory, a device error), with a
// log line, never a failed job.

#include <string>

#include "core/quant/gptq.h"
#include "core/quant/quantized_weight.h"
#include "core/util/matrix.h"
#include "core/util/run_context.h"

namespace qb::core {

class Backend;

class QuantAccelerator {
public:
    virtual ~QuantAccelerator() = default;

    /// True when a GPTQ layer of W [out, in] fits in the device's free memory now.
    [[nodiscard]] virtual bool supportsGptq(Index out, Index in) const = 0;
    /// quantizeGptq (core/quant/gptq.h) on the device: the same options, the same errors,
    /// the same result up to floating-point summation order (see the implementation's notes).
    [[nodiscard]] virtual GptqResult gptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H,
                                          const WeightGridSpec& spec, const GptqOptions& options,
                                          const RunContext& ctx) const = 0;
    /// quantizeRtn (core/quant/rtn.h) on the device: bit-identical codes, scales and zeros.
    [[nodiscard]] virtual QuantizedWeight rtn(const ConstMatrixRef& W, const WeightGridSpec& spec) const = 0;
};

/// GPTQ on the preferred backend's accelerator when it has one and the layer fits; else,
/// or when the device throws (out of memory, a device fault), on the CPU, after logging
/// "<backend>: <reason>; <what> runs on the CPU" to ctx. Cancelled and the GPTQ input
/// errors (shapes, options, a non-finite H, exhausted damping) propagate unchanged.
[[nodiscard]] GptqResult quantizeGptqPreferred(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H,
                                               const WeightGridSpec& spec, const GptqOptions& options,
                                               const RunContext& ctx, const std::string& what);
/// RTN likewise; the device is used only for weights of at least kRtnDeviceMinWeights
/// elements (below that the transfer costs more than the CPU's pass).
[[nodiscard]] QuantizedWeight quantizeRtnPreferred(const ConstMatrixRef& W, const WeightGridSpec& spec, const RunContext& ctx,
                                                   const std::string& what);
inline constexpr Index kRtnDeviceMinWeights = Index(1) << 22;

}  // namespace qb::core
