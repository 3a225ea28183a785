#pragma once
// GgufVocab — a checkpoint's tokenizer as GGUF's tokenizer.ggml.* metadata, the way
// llama.cpp's convert_hf_to_gguf.py reads it:
//   - tokenizer.model (SentencePiece) → model "llama", pre "default": pieces, scores and types
//     (unknown, control, unused, byte, normal) from the model; tokenizer_config.json's
//     added_tokens_decoder entries become control (special) or user-defined tokens.
//   - tokenizer.json BPE, byte-level → model "gpt2": the vocabulary as spelled in the file
//     (GPT-2 byte alphabet), merges "a b", added tokens control/user-defined, no scores; pre
//     "llama-bpe" / "qwen2" / "gpt-2" when the Split regex is one of those, else "default"
//     with a warning.
//   - tokenizer.json BPE without ByteLevel (SentencePiece-style, byte_fallback) → model "llama"
//     with scores −(merge rank of the token) and a warning (no tokenizer.model to take scores from).
// Ids the tokenizer does not use up to vocabSize become "[PAD<id>]", unused.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/io/model_config.h"

namespace qb::core {

struct GgufVocab {
    std::string model;  ///< tokenizer.ggml.model: "llama" or "gpt2"
    std::string pre;    ///< tokenizer.ggml.pre
    std::vector<std::string> tokens;
    std::vector<float> scores;           ///< empty for "gpt2"
    std::vector<std::int32_t> tokenTypes;  ///< GgufTokenType values
    std::vector<std::string> merges;     ///< "gpt2" only: "left right" in rank order
    std::optional<int> bos, eos, unk, pad;
    bool addBos = false;
    bool addEos = false;
    std::vector<std::string> warnings;   ///< for the export report
};

/// Reads the tokenizer of modelDir for a model with vocabSize embedding rows. Throws Error
/// "<file>: <problem>" when there is no tokenizer, it is malformed, or it uses ids ≥ vocabSize.
[[nodiscard]] GgufVocab readGgufVocab(const std::filesystem::path& modelDir, const ModelConfig& config, int vocabSize);

}  // namespace qb::core
