#pragma once
// TokenizerBackend — what core::Tokenizer delegates to: the SentencePiece model
// (tokenizer.model) or a Hugging Face tokenizer.json. Internal to core/text.

#include <optional>
#include <string>
#include <vector>

namespace qb::core::text {

class TokenizerBackend {
public:
    virtual ~TokenizerBackend() = default;
    /// Token ids of text, no BOS/EOS; added/special token strings in text become their ids.
    [[nodiscard]] virtual std::vector<int> encode(const std::string& text) const = 0;
    [[nodiscard]] virtual std::string decode(const std::vector<int>& ids) const = 0;
    /// The token as the tokenizer file spells it (e.g. "Ġthe", "▁the", "<0x0A>").
    [[nodiscard]] virtual std::string piece(int id) const = 0;
    /// The bytes the token stands for on its own (" the", "\n"); may be part of a UTF-8 sequence.
    [[nodiscard]] virtual std::string pieceBytes(int id) const = 0;
    [[nodiscard]] virtual int vocabSize() const = 0;
    [[nodiscard]] virtual bool addsBos() const = 0;
    [[nodiscard]] virtual bool addsEos() const = 0;
    [[nodiscard]] virtual std::string kindLabel() const = 0;
    /// BOS/EOS the tokenizer files name (used when the model config gives none).
    [[nodiscard]] virtual std::optional<int> defaultBos() const = 0;
    [[nodiscard]] virtual std::optional<int> defaultEos() const = 0;
};

/// Replaces "▁" by a space and a "<0xXX>" piece by its byte: the bytes a SentencePiece-style
/// piece stands for.
[[nodiscard]] std::string sentencePieceBytes(const std::string& piece);

}  // namespace qb::core::text
