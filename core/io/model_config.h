#pragma once
// ModelConfig — the parts of a Hugging Face config.json that the Llama-family forward needs:
// Llama 1/2/3/3.1/3.2 (and SmolLM, TinyLlama), Mistral, Qwen2/2.5 and Qwen3.

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace qb::core {

enum class Architecture { Llama, Mistral, Qwen2, Qwen3 };

/// config.json's "rope_scaling" (transformers' modeling_rope_utils): how the rotary
/// frequencies are stretched for contexts beyond the pre-training one.
enum class RopeScalingType { None, Linear, Dynamic, Yarn, Llama3 };

struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    double factor = 1.0;
    /// original_max_position_embeddings (llama3, yarn); 0 = max_position_embeddings.
    int originalMaxPositions = 0;
    double lowFreqFactor = 1.0;   ///< llama3
    double highFreqFactor = 4.0;  ///< llama3
    double betaFast = 32.0;       ///< yarn
    double betaSlow = 1.0;        ///< yarn
    std::optional<double> attentionFactor;  ///< yarn: given explicitly
    std::optional<double> mscale;           ///< yarn: DeepSeek-style mscale / mscale_all_dim
    std::optional<double> mscaleAllDim;
    bool truncate = true;                   ///< yarn: round the correction range to whole dims
};

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
    RopeScaling ropeScaling;
    /// Sliding-window attention: token i attends to j when i − W < j ≤ i. 0 = full causal.
    /// Mistral: every layer; Qwen2/Qwen3 with use_sliding_window: layers ≥ maxWindowLayers.
    int slidingWindow = 0;
    int slidingWindowFromLayer = 0;
    /// Qwen3: RMSNorm over head_dim on q and k (self_attn.q_norm / k_norm) before RoPE.
    bool qkNorm = false;
    bool tieWordEmbeddings = false;
    bool attentionBias = false;  ///< q/k/v carry biases (Qwen2, or attention_bias: true)
    std::optional<int> bosTokenId;
    std::optional<int> eosTokenId;
    std::string torchDtype;
    /// The "quantization_config" object of config.json as JSON text; empty for FP checkpoints.
    std::string quantizationConfigJson;

    /// The attention window of layer i (0 = full causal).
    [[nodiscard]] int windowOfLayer(int layer) const {
        return slidingWindow > 0 && layer >= slidingWindowFromLayer ? slidingWindow : 0;
    }

    /// Parses and validates config.json. Throws Error naming the file and the problem.
    static ModelConfig fromFile(const std::filesystem::path& file);
    /// Parses from JSON text; `origin` names the source in error messages.
    static ModelConfig fromJsonText(const std::string& text, const std::string& origin);
};

[[nodiscard]] std::string architectureLabel(Architecture a);
[[nodiscard]] std::string ropeScalingLabel(const RopeScaling& s);
/// The architectures config.json may name, for messages: "LlamaForCausalLM, ...".
[[nodiscard]] std::string supportedArchitecturesText();

}  // namespace qb::core
