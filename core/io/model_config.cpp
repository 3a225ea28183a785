#include "core/io/model_config.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/json_input.h"

namespace qb::core {

std::string architectureLabel(Architecture a) {
    switch (a) {
        case Architecture::Llama: return "llama";
        case Architecture::Mistral: return "mistral";
        case Architecture::Qwen2: return "qwen2";
        case Architecture::Qwen3: return "qwen3";
    }
    return "?";
}

std::string ropeScalingLabel(const RopeScaling& s) {
    char buf[160];
    switch (s.type) {
        case RopeScalingType::None: return "none";
        case RopeScalingType::Linear: std::snprintf(buf, sizeof buf, "linear, factor %g", s.factor); return buf;
        case RopeScalingType::Dynamic: std::snprintf(buf, sizeof buf, "dynamic NTK, factor %g", s.factor); return buf;
        case RopeScalingType::Yarn:
            std::snprintf(buf, sizeof buf, "yarn, factor %g, original context %d", s.factor, s.originalMaxPositions);
            return buf;
        case RopeScalingType::Llama3:
            std::snprintf(buf, sizeof buf, "llama3, factor %g, low/high frequency factors %g/%g, original context %d", s.factor,
                          s.lowFreqFactor, s.highFreqFactor, s.originalMaxPositions);
            return buf;
    }
    return "?";
}

std::string supportedArchitecturesText() {
    return "LlamaForCausalLM (Llama 1/2/3/3.1/3.2, SmolLM, TinyLlama), MistralForCausalLM, Qwen2ForCausalLM (Qwen2/2.5), "
           "Qwen3ForCausalLM";
}

namespace {

int requirePositiveInt(const nlohmann::json& j, const char* key, const std::string& origin) {
    if (!j.contains(key)) throw Error(origin + ": missing \"" + key + "\"");
    const auto& v = j[key];
    if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > (1ll << 30))
        throw Error(origin + ": \"" + key + "\" must be a positive integer, not " + v.dump());
    return int(v.get<long long>());
}

// An id, or the first of a list of ids (Llama 3 Instruct: "eos_token_id": [128001, 128008, 128009]).
std::optional<int> optionalInt(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) return std::nullopt;
    const auto& v = j[key].is_array() && !j[key].empty() ? j[key][0] : j[key];
    if (v.is_number_integer()) return int(v.get<long long>());
    return std::nullopt;
}

double numberIn(const nlohmann::json& j, const char* key, double fallback, const std::string& origin, const char* where) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number() || !(j[key].get<double>() > 0))
        throw Error(origin + ": \"" + where + "." + key + "\" must be a positive number, not " + j[key].dump());
    return j[key].get<double>();
}

// "rope_scaling": {"rope_type" (or the older "type"): linear | dynamic | yarn | llama3, "factor", ...}
RopeScaling parseRopeScaling(const nlohmann::json& r, int maxPositions, const std::string& origin) {
    if (!r.is_object()) throw Error(origin + ": \"rope_scaling\" is not an object");
    std::string type;
    if (r.contains("rope_type") && r["rope_type"].is_string())
        type = r["rope_type"].get<std::string>();
    else if (r.contains("type") && r["type"].is_string())
        type = r["type"].get<std::string>();
    else
        throw Error(origin + ": \"rope_scaling\" names no \"rope_type\" (or \"type\")");
    RopeScaling s;
    if (type == "default") return s;
    const char* where = "rope_scaling";
    auto needFactor = [&] {
        if (!r.contains("factor")) throw Error(origin + ": \"rope_scaling\" of type '" + type + "' needs \"factor\"");
        return numberIn(r, "factor", 1.0, origin, where);
    };
    auto positiveIntIn = [&](const char* key, int fallback) {
        if (!r.contains(key) || r[key].is_null()) return fallback;
        if (!r[key].is_number() || r[key].get<double>() < 1 || r[key].get<double>() > double(1 << 30))
            throw Error(origin + ": \"rope_scaling." + key + "\" must be a positive integer, not " + r[key].dump());
        return int(r[key].get<double>());
    };
    if (type == "linear") {
        s.type = RopeScalingType::Linear;
        s.factor = needFactor();
    } else if (type == "dynamic") {
        s.type = RopeScalingType::Dynamic;
        s.factor = needFactor();
    } else if (type == "yarn") {
        s.type = RopeScalingType::Yarn;
        s.factor = needFactor();
        s.originalMaxPositions = positiveIntIn("original_max_position_embeddings", maxPositions);
        s.betaFast = numberIn(r, "beta_fast", 32.0, origin, where);
        s.betaSlow = numberIn(r, "beta_slow", 1.0, origin, where);
        if (r.contains("attention_factor") && !r["attention_factor"].is_null())
            s.attentionFactor = numberIn(r, "attention_factor", 1.0, origin, where);
        if (r.contains("mscale") && !r["mscale"].is_null()) s.mscale = numberIn(r, "mscale", 1.0, origin, where);
        if (r.contains("mscale_all_dim") && !r["mscale_all_dim"].is_null())
            s.mscaleAllDim = numberIn(r, "mscale_all_dim", 1.0, origin, where);
        if (r.contains("truncate") && r["truncate"].is_boolean()) s.truncate = r["truncate"].get<bool>();
    } else if (type == "llama3") {
        s.type = RopeScalingType::Llama3;
        s.factor = needFactor();
        for (const char* key : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
            if (!r.contains(key)) throw Error(origin + ": \"rope_scaling\" of type 'llama3' needs \"" + key + "\"");
        s.lowFreqFactor = numberIn(r, "low_freq_factor", 1.0, origin, where);
        s.highFreqFactor = numberIn(r, "high_freq_factor", 4.0, origin, where);
        s.originalMaxPositions = positiveIntIn("original_max_position_embeddings", maxPositions);
        if (!(s.highFreqFactor > s.lowFreqFactor))
            throw Error(origin + ": \"rope_scaling.high_freq_factor\" must exceed \"low_freq_factor\"");
    } else {
        throw Error(origin + ": rope_scaling type '" + type + "' is not supported (supported: linear, dynamic, yarn, llama3)");
    }
    return s;
}

double optionalNumber(const nlohmann::json& j, const char* key, double fallback, const std::string& origin) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number() || !(j[key].get<double>() > 0))
        throw Error(origin + ": \"" + key + "\" must be a positive number, not " + j[key].dump());
    return j[key].get<double>();
}

}  // namespace

ModelConfig ModelConfig::fromJsonText(const std::string& text, const std::string& origin) {
    nlohmann::json j;
    try {
        j = parseJsonInput(text, origin, kConfigJsonLimits);
    } catch (const nlohmann::json::exception& e) {
        throw Error(origin + ": malformed JSON: " + e.what());
    }
    if (!j.is_object()) throw Error(origin + ": malformed JSON: not an object");
    ModelConfig c;
    std::string arch;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        arch = j["architectures"][0].get<std::string>();
    else if (j.contains("model_type") && j["model_type"].is_string())
        arch = j["model_type"].get<std::string>();
    c.architectureName = arch;
    if (arch == "LlamaForCausalLM" || arch == "llama")
        c.architecture = Architecture::Llama;
    else if (arch == "MistralForCausalLM" || arch == "mistral")
        c.architecture = Architecture::Mistral;
    else if (arch == "Qwen2ForCausalLM" || arch == "qwen2")
        c.architecture = Architecture::Qwen2;
    else if (arch == "Qwen3ForCausalLM" || arch == "qwen3")
        c.architecture = Architecture::Qwen3;
    else
        throw Error(origin + ": architecture '" + (arch.empty() ? std::string("(none given)") : arch) +
                    "' is not supported (supported: " + supportedArchitecturesText() + ")");
    if (j.contains("hidden_act") && j["hidden_act"].is_string() && j["hidden_act"].get<std::string>() != "silu")
        throw Error(origin + ": hidden_act '" + j["hidden_act"].get<std::string>() + "' is not supported (only silu, as in " +
                    "the Llama family)");
    if (j.contains("num_local_experts") || j.contains("num_experts") || j.contains("n_routed_experts"))
        throw Error(origin + ": mixture-of-experts models are not supported (supported: " + supportedArchitecturesText() + ")");

    c.hiddenSize = requirePositiveInt(j, "hidden_size", origin);
    c.intermediateSize = requirePositiveInt(j, "intermediate_size", origin);
    c.numLayers = requirePositiveInt(j, "num_hidden_layers", origin);
    c.numHeads = requirePositiveInt(j, "num_attention_heads", origin);
    c.numKvHeads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                       ? requirePositiveInt(j, "num_key_value_heads", origin)
                       : c.numHeads;
    c.vocabSize = requirePositiveInt(j, "vocab_size", origin);
    c.maxPositions = j.contains("max_position_embeddings") ? requirePositiveInt(j, "max_position_embeddings", origin) : 2048;
    c.headDim = j.contains("head_dim") && !j["head_dim"].is_null() ? requirePositiveInt(j, "head_dim", origin)
                                                                     : c.hiddenSize / c.numHeads;
    c.rmsNormEps = optionalNumber(j, "rms_norm_eps", 1e-6, origin);
    c.ropeTheta = optionalNumber(j, "rope_theta", 10000.0, origin);
    c.tieWordEmbeddings = j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean()
                              ? j["tie_word_embeddings"].get<bool>()
                              : false;
    c.attentionBias = c.architecture == Architecture::Qwen2 ||
                      (j.contains("attention_bias") && j["attention_bias"].is_boolean() && j["attention_bias"].get<bool>());
    c.qkNorm = c.architecture == Architecture::Qwen3;
    // Sliding window: Mistral applies "sliding_window" to every layer when it is set; Qwen2/3
    // only with "use_sliding_window": true, and then from layer "max_window_layers" on.
    const bool windowed = c.architecture == Architecture::Mistral ||
                          ((c.architecture == Architecture::Qwen2 || c.architecture == Architecture::Qwen3) &&
                           j.contains("use_sliding_window") && j["use_sliding_window"].is_boolean() &&
                           j["use_sliding_window"].get<bool>());
    if (windowed && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
        c.slidingWindow = requirePositiveInt(j, "sliding_window", origin);
        if (c.architecture != Architecture::Mistral && j.contains("max_window_layers") && j["max_window_layers"].is_number_integer())
            c.slidingWindowFromLayer = int(std::max<long long>(0, j["max_window_layers"].get<long long>()));
    }
    c.bosTokenId = optionalInt(j, "bos_token_id");
    c.eosTokenId = optionalInt(j, "eos_token_id");
    c.torchDtype = j.value("torch_dtype", std::string());
    if (j.contains("quantization_config") && !j["quantization_config"].is_null()) {
        if (!j["quantization_config"].is_object()) throw Error(origin + ": \"quantization_config\" is not an object");
        c.quantizationConfigJson = j["quantization_config"].dump();
    }

    if (c.numHeads % c.numKvHeads != 0)
        throw Error(origin + ": num_attention_heads (" + std::to_string(c.numHeads) +
                    ") is not a multiple of num_key_value_heads (" + std::to_string(c.numKvHeads) + ")");
    if (c.headDim % 2 != 0) throw Error(origin + ": head dimension " + std::to_string(c.headDim) + " is odd (RoPE needs pairs)");
    if (!j.contains("head_dim") && c.hiddenSize % c.numHeads != 0)
        throw Error(origin + ": hidden_size is not a multiple of num_attention_heads");
    if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
        c.ropeScaling = parseRopeScaling(j["rope_scaling"], c.maxPositions, origin);
    if (j.contains("partial_rotary_factor") && j["partial_rotary_factor"].is_number() &&
        j["partial_rotary_factor"].get<double>() != 1.0)
        throw Error(origin + ": partial_rotary_factor " + j["partial_rotary_factor"].dump() + " is not supported (only 1.0)");
    return c;
}

ModelConfig ModelConfig::fromFile(const std::filesystem::path& file) {
    if (std::ifstream probe(file, std::ios::binary); !probe) throw Error(file.string() + ": missing or unreadable");
    return fromJsonText(readJsonInputText(file, kConfigJsonLimits), file.string());
}

}  // namespace qb::core
