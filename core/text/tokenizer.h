#pragma once
// Tokenizer — a checkpoint's tokenizer: Hugging Face's tokenizer.json (with
// tokenizer_config.json) when the folder has one, else the SentencePiece tokenizer.model.
// Immutable after load; every method is thread-safe.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qb::core {

namespace text {
class TokenizerBackend;
}

class Tokenizer {
public:
    /// Loads dir/tokenizer.json (plus dir/tokenizer_config.json when present) if it exists, else
    /// dir/tokenizer.model. BOS/EOS ids come from the model config when given, else from the
    /// tokenizer files (tokenizer_config.json's tokens, the post-processor template, the
    /// SentencePiece model), else none. Throws Error "<dir>: no tokenizer.json or
    /// tokenizer.model" when neither exists and "<file>: <problem>" when one is unreadable,
    /// malformed or uses a component quantbench does not support (named in the message).
    static std::shared_ptr<const Tokenizer> load(const std::filesystem::path& modelDir,
                                                 std::optional<int> bosId = std::nullopt,
                                                 std::optional<int> eosId = std::nullopt);
    ~Tokenizer();

    /// Token ids of text (UTF-8), without BOS/EOS; added/special token strings in the text
    /// ("<|begin_of_text|>", "<s>") become their ids, as Hugging Face's
    /// tokenizer(text, add_special_tokens=False). Throws Error for text that is not UTF-8
    /// (tokenizer.json path).
    [[nodiscard]] std::vector<int> encode(const std::string& text) const;
    /// Text of ids through the tokenizer's decoders; special tokens print as themselves
    /// (tokenizer.json) or are dropped (SentencePiece). Throws Error for an id outside the vocabulary.
    [[nodiscard]] std::string decode(const std::vector<int>& ids) const;
    /// The token as the tokenizer file spells it ("Ġthe", "▁the", "<0x0A>"); empty when unknown.
    [[nodiscard]] std::string piece(int id) const;
    /// The bytes the token stands for on its own (" the", "\n"), as llama.cpp prints a piece;
    /// may be an incomplete UTF-8 sequence (one byte of a multi-byte character).
    [[nodiscard]] std::string pieceBytes(int id) const;
    /// Largest token id + 1, added tokens included.
    [[nodiscard]] int vocabSize() const;
    [[nodiscard]] std::optional<int> bos() const { return m_bos; }
    [[nodiscard]] std::optional<int> eos() const { return m_eos; }
    /// Whether the model expects BOS before a text (tokenizer(text) adds it): tokenizer.model
    /// always; tokenizer.json from tokenizer_config.json's add_bos_token, else the post-processor
    /// template. Qwen has a BOS token but adds none.
    [[nodiscard]] bool addsBos() const;
    /// Whether tokenizer(text) appends EOS (add_eos_token, or the template's last special token).
    [[nodiscard]] bool addsEos() const;
    /// What was loaded, for people: "tokenizer.json BPE, byte-level",
    /// "tokenizer.json BPE, SentencePiece-style, byte fallback", "tokenizer.model SentencePiece".
    [[nodiscard]] std::string kindLabel() const;

private:
    Tokenizer();
    std::unique_ptr<const text::TokenizerBackend> m_backend;
    std::optional<int> m_bos;
    std::optional<int> m_eos;
};

}  // namespace qb::core
