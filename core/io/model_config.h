#pragma once
// ModelConfig — the parts of a Hugging Face config.json that the Llama-family forward needs.

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace qb::core {

enum class Architecture { Llama, Mistral, Qwen2 };

struct ModelConfig {
    Architecture architecture = Architecture::Llama;
    std::string architectureName;  ///< as written in config.json, e.g. "LlamaForCausalLM"
    int hiddenSize = 0;
    int intermediateSize = 0;
    int numLayers = 0;
    int numHeads = 0;
    int numKvHeads = 0;
    int headDim = 0;  ///< hidden/heads unless config.json says head_dim
    int vocabSize = 0;
    int maxPositions = 0;
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    bool tieWordEmbeddings = false;
    bool attentionBias = false;  ///< q/k/v carry biases (Qwen2, or attention_bias: true)
    std::optional<int> bosTokenId;
    std::optional<int> eosTokenId;
    std::string torchDtype;
    /// The "quantization_config" object of config.json as JSON text; empty for FP checkpoints.
    std::string quantizationConfigJson;

    /// Parses and validates config.json. Throws Error naming the file and the problem.
    static ModelConfig fromFile(const std::filesystem::path& file);
    /// Parses from JSON text; `origin` names the source in error messages.
    static ModelConfig fromJsonText(const std::string& text, const std::string& origin);
};

[[nodiscard]] std::string architectureLabel(Architecture a);

}  // namespace qb::core
