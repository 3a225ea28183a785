#pragma once
// quantizeModule — turns one linear module into its quantized form given its scheme and what
// was captured from its calibration input. The input transforms that span several modules
// (AWQ and SmoothQuant scales folded into the preceding op) are done by the pipeline before.

#include <optional>
#include <string>

#include "core/model/linear.h"
#include "core/quant/group_capture.h"
#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/run_context.h"

namespace qb::core {

struct ModuleQuantization {
    LinearPtr linear;
    std::optional<double> gptqDamping;
    /// GPTQ: its step times (GptqReport's secondsPrepare/Cholesky/Sweep/Objective), for the
    /// pipeline's stage breakdown.
    double gptqSecondsPrepare = 0.0, gptqSecondsFactor = 0.0, gptqSecondsSweep = 0.0, gptqSecondsObjective = 0.0;
    std::optional<double> outlierColumnFraction;  ///< LLM.int8(): on the captured input
};

/// W: the module's float weight [out,in] (already scaled by AWQ/SmoothQuant when those
/// apply); bias: its bias; input: the group capture (rows for AWQ clipping, H for GPTQ).
/// clip: AWQ's clipping search applies to this module (llm-awq skips q_proj and k_proj).
[[nodiscard]] ModuleQuantization quantizeModule(const std::string& name, const QuantScheme& scheme, const MatrixRM& W,
                                                const std::optional<VectorF>& bias, const GroupCapture& input, bool clip,
                                                const RunContext& ctx);

/// A module whose grid was learned on the whole layer (OmniQuant's LWC): its QuantizedLinear,
/// the bias rounded to F16 as every grid method stores it.
[[nodiscard]] ModuleQuantization learnedGridModule(const QuantizedWeight& weight, const std::optional<VectorF>& bias,
                                                   const QuantScheme& scheme);

/// ‖X Wᵀ − linear(X)‖² / ‖X Wᵀ‖² (bias excluded from both) on X [n, in]; 0 when XWᵀ = 0.
/// Two GEMMs of 2·n·out·in flops each.
[[nodiscard]] double relativeOutputError(const ConstMatrixRef& X, const MatrixRM& W, const Linear& linear);

/// The same figure for a module of a group: when the module is weight-only (linear(X) = X·Ŵᵀ +
/// b, Ŵ = its denseWeight()) and the capture holds H = 2/n·XᵀX, through H,
///     ‖X ΔWᵀ‖² / ‖X Wᵀ‖² = tr(ΔW H ΔWᵀ) / tr(W H Wᵀ),   ΔW = W − Ŵ,
/// on every row seen, in float with double sums — out·in² flops per form (⟨H, ΔWᵀΔW⟩ over the lower
/// triangle, gramQuadraticFormFloat) against 2·n·out·in for a GEMM, so this path is
/// taken only while in < 2n (n rows seen). Otherwise the GEMMs on the rows kept
/// (relativeOutputError above).
[[nodiscard]] double relativeOutputError(const GroupCapture& capture, const MatrixRM& W, const Linear& linear);

/// A float weight rounded to F16 precision (the "fp16" method keeps modules in half precision).
[[nodiscard]] MatrixRM roundToF16(const MatrixRM& W);

}  // namespace qb::core
