#include "core/quant/method_registry.h"

namespace qb::core {

const std::vector<MethodInfo>& methodRegistry() {
    static const std::vector<MethodInfo> registry = {
        {QuantMethod::Fp16, "fp16", "FP16 (keep)", {}, "keep the module in half precision", false, false},
        {QuantMethod::Rtn, "rtn", "RTN", {"bits", "group_size", "sym", "act_bits"},
         "round-to-nearest on a min-max (or absmax) grid per group; no calibration", true, false},
        {QuantMethod::Gptq, "gptq", "GPTQ (Frantar et al., 2023)",
         {"bits", "group_size", "sym", "act_order", "damp_percent", "block_size", "static_groups", "act_bits"},
         "second-order error compensation with the calibration Hessian H = 2XXᵀ", true, true},
        {QuantMethod::Awq, "awq", "AWQ (Lin et al., 2023)", {"bits", "group_size", "sym", "grid", "clip_search", "act_bits"},
         "activation-aware per-channel scales s = s_x^α folded into the previous op, then clipping search", true, true},
        {QuantMethod::W8A8, "w8a8", "W8A8", {"act_bits"},
         "int8 weights per output channel, int8 activations per token (dynamic)", false, false},
        {QuantMethod::SmoothQuant, "smoothquant", "SmoothQuant (Xiao et al., 2023)", {"alpha", "act_bits"},
         "migrate activation outliers into the weights (s_j = max|X_j|^α / max|W_j|^(1−α)), then W8A8", false, true},
        {QuantMethod::LlmInt8, "llm_int8", "LLM.int8() (Dettmers et al., 2022)", {"threshold"},
         "vector-wise int8 with input columns holding any |x| ≥ threshold kept in floating point", false, false},
        {QuantMethod::OmniQuant, "omniquant", "OmniQuant LWC + LET (Shao et al., 2024)",
         {"bits", "group_size", "sym", "epochs", "lr_lwc", "aug_loss", "act_bits", "lwc", "let", "lr_let", "alpha"},
         "learnable weight clipping γ=σ(a), β=σ(b) per row and group, trained per layer on the block output (AdamW); "
         "with act_bits, per-token activations and the learnable equivalent transformation (channel scales) too",
         true, true},
    };
    return registry;
}

const MethodInfo& methodInfo(QuantMethod m) {
    for (const auto& e : methodRegistry())
        if (e.method == m) return e;
    return methodRegistry().front();
}

std::string methodNameList() {
    std::string s;
    for (const auto& e : methodRegistry()) s += (s.empty() ? "" : ", ") + e.name;
    return s;
}

std::string methodHelpText() {
    std::string s = "methods (plan \"method\" key):\n";
    for (const auto& e : methodRegistry()) {
        s += "  " + e.name + std::string(e.name.size() < 12 ? 12 - e.name.size() : 1, ' ') + e.help + "\n";
        if (!e.keys.empty()) {
            std::string keys;
            for (const auto& k : e.keys) keys += (keys.empty() ? "" : ", ") + k;
            s.append(14, ' ');  // appended piece by piece: GCC 12 warns falsely on chains of std::string&& + "lit"
            s += "keys: ";
            s += keys;
            s += '\n';
        }
    }
    return s;
}

}  // namespace qb::core
