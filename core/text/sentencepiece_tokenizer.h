#pragma once
// SentencePieceTokenizer — a checkpoint's tokenizer.model through libsentencepiece.

#include <filesystem>
#include <memory>

#include "core/text/tokenizer_backend.h"

namespace qb::core::text {

class SentencePieceTokenizer : public TokenizerBackend {
public:
    /// Loads file (a tokenizer.model). Throws Error "<file>: not a SentencePiece model (...)".
    static std::unique_ptr<SentencePieceTokenizer> load(const std::filesystem::path& file);
    ~SentencePieceTokenizer() override;

    [[nodiscard]] std::vector<int> encode(const std::string& text) const override;
    /// SentencePiece's decoding: control tokens (BOS/EOS) are dropped.
    [[nodiscard]] std::string decode(const std::vector<int>& ids) const override;
    [[nodiscard]] std::string piece(int id) const override;
    [[nodiscard]] std::string pieceBytes(int id) const override;
    [[nodiscard]] int vocabSize() const override;
    [[nodiscard]] bool addsBos() const override { return true; }  // llama.cpp and transformers' LlamaTokenizer do
    [[nodiscard]] bool addsEos() const override { return false; }
    [[nodiscard]] std::string kindLabel() const override { return "tokenizer.model SentencePiece"; }
    [[nodiscard]] std::optional<int> defaultBos() const override;
    [[nodiscard]] std::optional<int> defaultEos() const override;

private:
    SentencePieceTokenizer();
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace qb::core::text
