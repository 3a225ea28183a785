#pragma once
// The outlier-injected equivalent model of the developers' guide: for every decoder layer,
// multiply `channels` of each RMSNorm weight by `factor` and divide the matching input
// columns of the linears that read that norm (q/k/v after input_layernorm, gate/up after
// post_attention_layernorm) by `factor`. The function is unchanged; the activations entering
// those linears now carry `factor`× outlier channels.

#include <memory>
#include <vector>

#include "core/model/llama_model.h"

namespace qb::test {

struct OutlierInjection {
    std::vector<int> channels = {5, 37};  ///< hidden channels scaled in every norm
    float factor = 40.0f;
    std::vector<int> layers;              ///< empty = every layer
    bool attentionNorm = true;            ///< input_layernorm → q/k/v
    bool mlpNorm = true;                  ///< post_attention_layernorm → gate/up
};

/// A resident copy of base with the injection applied (base is not modified).
std::shared_ptr<core::LlamaModel> makeOutlierInjectedModel(const core::LlamaModel& base, const OutlierInjection& injection = {});

/// The bundled model, loaded once per process.
std::shared_ptr<const core::LlamaModel> bundledModel();

}  // namespace qb::test
