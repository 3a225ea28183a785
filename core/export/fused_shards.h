#pragma once
// vLLM's fused layers. vLLM loads a Llama-style decoder's q_proj, k_proj and v_proj as one
// qkv_proj (QKVParallelLinear) and gate_proj, up_proj as one gate_up_proj
// (MergedColumnParallelLinear), with one quantization method per fused layer: compressed-tensors
// raises "Found a different quantization schemes for [...] vLLM requires all to use the same
// scheme" when the shards' ignore status differs, and the GPTQ/AWQ methods build one packed
// parameter for all shards, so shards of different widths or groups do not load. transformers,
// GPTQModel and AutoAWQ load each module on its own and are unaffected. A mixed plan that gives
// the shards of one fused layer different schemes is legal and exported as planned, with a
// warning naming the layer.

#include <string>
#include <vector>

#include "core/export/hf_export.h"

namespace qb::core {

/// One warning per fused layer (…self_attn.qkv_proj, …mlp.gate_up_proj) whose shards in modules
/// have different storage; empty when every fused layer is uniform.
[[nodiscard]] std::vector<std::string> vllmFusedShardWarnings(const std::vector<HfExportModule>& modules);

}  // namespace qb::core
