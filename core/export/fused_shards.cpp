#include "core/export/fused_shards.h"

#include <map>
#include <string_view>

namespace qb::core {

namespace {

struct FusedLayer {
    std::string_view fused;                   ///< vLLM's name of the fused layer
    std::vector<std::string_view> shards;     ///< the checkpoint's module names, in vLLM's order
};

const std::vector<FusedLayer>& fusedLayers() {
    static const std::vector<FusedLayer> layers{{"qkv_proj", {"q_proj", "k_proj", "v_proj"}}, {"gate_up_proj", {"gate_proj", "up_proj"}}};
    return layers;
}

}  // namespace

std::vector<std::string> vllmFusedShardWarnings(const std::vector<HfExportModule>& modules) {
    // "model.layers.3.self_attn.q_proj" → parent "model.layers.3.self_attn", shard "q_proj".
    struct Group {
        const FusedLayer* layer = nullptr;
        std::map<std::string_view, std::string> storage;  // shard → storage
    };
    std::map<std::string, Group> groups;  // parent + fused name → its shards
    std::vector<std::string> order;
    for (const auto& m : modules) {
        const auto dot = m.name.rfind('.');
        if (dot == std::string::npos) continue;
        const std::string_view shard = std::string_view(m.name).substr(dot + 1);
        for (const auto& layer : fusedLayers())
            for (const auto s : layer.shards)
                if (s == shard) {
                    const std::string key = m.name.substr(0, dot + 1) + std::string(layer.fused);
                    auto [it, fresh] = groups.try_emplace(key);
                    if (fresh) order.push_back(key);
                    it->second.layer = &layer;
                    it->second.storage[s] = m.storage;
                }
    }
    std::vector<std::string> warnings;
    for (const auto& key : order) {
        const Group& g = groups.at(key);
        bool mixed = false;
        for (const auto& [shard, storage] : g.storage) mixed = mixed || storage != g.storage.begin()->second;
        if (!mixed) continue;
        std::string list;
        for (const auto s : g.layer->shards) {
            const auto it = g.storage.find(s);
            if (it == g.storage.end()) continue;
            list += (list.empty() ? "" : ", ") + std::string(s) + " " + it->second;
        }
        warnings.push_back(key + ": its shards differ (" + list + "); vLLM loads them as one fused layer with one scheme and will not load this folder; transformers, GPTQModel and AutoAWQ load each module on its own");
    }
    return warnings;
}

}  // namespace qb::core
