#pragma once
// SpecialTokenPolicy — what a Hugging Face tokenizer adds around a text with
// add_special_tokens=True, and its BOS/EOS tokens: tokenizer_config.json's add_bos_token,
// add_eos_token, bos_token and eos_token (a string or {"content": ...}) where present, else the
// tokenizer.json post_processor (TemplateProcessing, ByteLevel, Sequence).

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

struct SpecialTokenPolicy {
    bool addsBos = false;
    bool addsEos = false;
    std::optional<int> bos;  ///< tokenizer_config.json's bos_token, else the template's first special token
    std::optional<int> eos;  ///< tokenizer_config.json's eos_token, else the template's last special token
};

/// Resolves a token's text to its id (added tokens first, then the vocabulary).
using TokenResolver = std::function<std::optional<int>(const std::string&)>;

/// Reads postProcessor (tokenizer.json's "post_processor", may be null) and config (the parsed
/// tokenizer_config.json, null when the file is absent). Throws Error "<file>: ..." for an
/// unknown post-processor type or a bos/eos token that is not in the vocabulary.
[[nodiscard]] SpecialTokenPolicy readSpecialTokenPolicy(const nlohmann::json& postProcessor, const std::string& tokenizerFile,
                                                        const nlohmann::json& config, const std::string& configFile,
                                                        const TokenResolver& resolve);

}  // namespace qb::core::text
