#pragma once
// HfTokenizer — a Hugging Face tokenizer.json (the "fast" tokenizer) with its optional
// tokenizer_config.json: added tokens → normalizer → pre-tokenizer → BPE, and the decoders
// back. Follows tokenizer(text, add_special_tokens=False) of the transformers library.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/text/added_tokens.h"
#include "core/text/bpe_model.h"
#include "core/text/decoder.h"
#include "core/text/normalizer.h"
#include "core/text/pre_tokenizer.h"
#include "core/text/special_tokens.h"
#include "core/text/tokenizer_backend.h"

namespace qb::core::text {

class HfTokenizer : public TokenizerBackend {
public:
    /// Reads dir/tokenizer.json and, when present, dir/tokenizer_config.json. Throws Error
    /// "<file>: <problem>" for unreadable JSON and unsupported or malformed components.
    static std::unique_ptr<HfTokenizer> load(const std::filesystem::path& dir);

    [[nodiscard]] std::vector<int> encode(const std::string& text) const override;
    [[nodiscard]] std::string decode(const std::vector<int>& ids) const override;
    [[nodiscard]] std::string piece(int id) const override;
    [[nodiscard]] std::string pieceBytes(int id) const override;
    [[nodiscard]] int vocabSize() const override { return int(m_pieces.size()); }
    [[nodiscard]] bool addsBos() const override { return m_policy.addsBos; }
    [[nodiscard]] bool addsEos() const override { return m_policy.addsEos; }
    [[nodiscard]] std::string kindLabel() const override;
    [[nodiscard]] std::optional<int> defaultBos() const override { return m_policy.bos; }
    [[nodiscard]] std::optional<int> defaultEos() const override { return m_policy.eos; }

private:
    HfTokenizer() = default;
    void encodeSection(std::string section, bool atTextStart, std::vector<int>& out) const;
    void encodePlain(std::string text, bool atTextStart, std::vector<int>& out) const;

    AddedTokens m_added;
    std::unique_ptr<const Normalizer> m_normalizer;
    PreTokenizerSpec m_pre;
    std::unique_ptr<BpeModel> m_model;
    std::unique_ptr<const Decoder> m_decoder;
    SpecialTokenPolicy m_policy;
    std::vector<std::string> m_pieces;  ///< id → spelled token (added tokens' content included)
    std::vector<bool> m_isAdded;        ///< id → an added token
};

}  // namespace qb::core::text
