#pragma once
// One quantized decoder layer as a .safetensors file of a quantize run's resume state
// (core/quant/resume_state.h): the layer's modules exactly as the quantizers left them, so
// that a resumed run writes the same checkpoint bytes as an uninterrupted one.
//
// Tensors, per module "<suffix>" (moduleSuffix: "self_attn.q_proj", …):
//   grid modules (rtn, gptq, awq, omniquant: QuantizedLinear)
//       <suffix>.qweight, .qzeros I32, .scales F16, .g_idx I32: the checkpoint's GPTQ packing
//       (core/quant/gptq_pack.h) with the zero points as they are (v2), so bits/8 bytes per
//       weight; exact, since a QuantizedWeight's scales are F16-exact
//   int8 modules (W8A8Linear, LlmInt8Linear)
//       <suffix>.codes I8 [out, in], .row_scales F32 [out]; LLM.int8() also .fp_columns I32 [k]
//       and .fp_weight F16 [out, k]
//   F16 modules: <suffix>.weight F16 [out, in] (exact); F32 modules: <suffix>.weight F32
//   every module: <suffix>.bias F32 [out] when it has one
// and the norms input_layernorm, post_attention_layernorm (q_norm, k_norm for Qwen3), F32.
// The metadata holds "modules" (each module's type and grid), "reports" (its ModuleReports,
// doubles written with round-trip precision) and "seconds".

#include <filesystem>
#include <memory>
#include <vector>

#include "core/model/decoder_layer.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"

namespace qb::core {

struct LayerState {
    std::shared_ptr<const DecoderLayer> layer;  ///< null when read without it
    std::vector<ModuleReport> modules;  ///< the layer's seven, in forward order
    double seconds = 0.0;               ///< wall time of the layer in the run that wrote it
};

/// Writes path (plainly: the caller makes it atomic and durable). Throws Error naming the file
/// on a write failure or a module type it cannot hold.
void writeLayerState(const std::filesystem::path& path, const DecoderLayer& layer, const std::vector<ModuleReport>& modules,
                     double seconds);

/// Reads layer `index` of a model with config back; plan resolves the schemes of the reports
/// and the modules' method labels. withLayer false reads only the reports and seconds (a
/// resume that streams its layers to the output does not hold them). Throws Error "<file>: …"
/// when anything is missing or does not fit config.
[[nodiscard]] LayerState readLayerState(const std::filesystem::path& path, const ModelConfig& config, int index,
                                        const QuantPlan& plan, bool withLayer = true);

}  // namespace qb::core
