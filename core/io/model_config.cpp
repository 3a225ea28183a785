#include "core/io/model_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace qb::core {

std::string architectureLabel(Architecture a) {
    switch (a) {
        case Architecture::Llama: return "llama";
        case Architecture::Mistral: return "mistral";
        case Architecture::Qwen2: return "qwen2";
    }
    return "?";
}

namespace {

int requirePositiveInt(const nlohmann::json& j, const char* key, const std::string& origin) {
    if (!j.contains(key)) throw Error(origin + ": missing \"" + key + "\"");
    const auto& v = j[key];
    if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > (1ll << 30))
        throw Error(origin + ": \"" + key + "\" must be a positive integer, not " + v.dump());
    return int(v.get<long long>());
}

std::optional<int> optionalInt(const nlohmann::json& j, const char* key) {
    if (j.contains(key) && j[key].is_number_integer()) return int(j[key].get<long long>());
    return std::nullopt;
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
        j = nlohmann::json::parse(text);
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
    else
        throw Error(origin + ": unsupported architecture '" + arch +
                    "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");

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
    c.tieWordEmbeddings = j.value("tie_word_embeddings", false);
    c.attentionBias = c.architecture == Architecture::Qwen2 || j.value("attention_bias", false);
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
        throw Error(origin + ": rope_scaling is not supported yet");
    return c;
}

ModelConfig ModelConfig::fromFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": missing or unreadable");
    std::ostringstream ss;
    ss << in.rdbuf();
    return fromJsonText(ss.str(), file.string());
}

}  // namespace qb::core
