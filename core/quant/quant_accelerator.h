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

#include <optional>
#include <string>
#include <vector>

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

    /// True when rtnOutputEnergies of W [out, in] with inputs of `inputRows` rows fits now.
    [[nodiscard]] virtual bool supportsOutputEnergies(Index out, Index in, Index inputRows) const = 0;
    /// inspect's sensitivity forms with W and the inputs resident: ‖D Xᵀ‖²_F for D = W first,
    /// then D = W − RTN(W; spec) for each spec (valid specs only). inputs is G = Xᵀ X [in, in]
    /// in float when inputsAreGram, else X [tokens, in]. Float products, double sums (as the
    /// CPU's core/stats/sensitivity.cpp). Throws Error on a device failure.
    [[nodiscard]] virtual std::vector<double> rtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                                bool inputsAreGram,
                                                                const std::vector<WeightGridSpec>& specs) const = 0;
    /// AWQ's scale search (core/quant/awq.cpp, paper eq. 4): ‖D Xᵀ‖²_F for
    /// D = W − Q(W·diag(s))·diag(s)⁻¹ for each s of columnScales ([in] each), on the grid of
    /// spec, with W and the inputs resident (inputs as for rtnOutputEnergies).
    [[nodiscard]] virtual std::vector<double> scaledRtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                                      bool inputsAreGram, const WeightGridSpec& spec,
                                                                      const std::vector<VectorF>& columnScales) const = 0;
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

/// rtnOutputEnergies on the preferred backend's accelerator, or nullopt when there is none,
/// the forms are too small to be worth a transfer (under kOutputEnergyDeviceMinMacs
/// multiply-adds each), the device lacks the memory, or it fails; `where` is then "cpu" or
/// "cpu (<backend>: <reason>)", else the backend's name. Never throws for a device failure.
[[nodiscard]] std::optional<std::vector<double>> outputEnergiesPreferred(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                                         bool inputsAreGram,
                                                                         const std::vector<WeightGridSpec>& specs,
                                                                         std::string& where);
inline constexpr double kOutputEnergyDeviceMinMacs = double(1 << 26);
/// scaledRtnOutputEnergies likewise (nullopt: compute on the CPU; where says why).
[[nodiscard]] std::optional<std::vector<double>> scaledEnergiesPreferred(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                                         bool inputsAreGram, const WeightGridSpec& spec,
                                                                         const std::vector<VectorF>& columnScales,
                                                                         std::string& where);

}  // namespace qb::core
