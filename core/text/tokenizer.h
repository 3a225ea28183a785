#pragma once
// Tokenizer — the model's SentencePiece tokenizer (tokenizer.model), through libsentencepiece.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qb::core {

class Tokenizer {
public:
    /// Loads dir/tokenizer.model; BOS/EOS ids from the model config when given, else from
    /// the SentencePiece model. Throws Error "<file>: ..." when missing or unreadable.
    static std::shared_ptr<const Tokenizer> load(const std::filesystem::path& modelDir,
                                                 std::optional<int> bosId = std::nullopt,
                                                 std::optional<int> eosId = std::nullopt);
    ~Tokenizer();

    /// Token ids of text, without BOS/EOS.
    [[nodiscard]] std::vector<int> encode(const std::string& text) const;
    [[nodiscard]] std::string decode(const std::vector<int>& ids) const;
    [[nodiscard]] std::string piece(int id) const;
    [[nodiscard]] int vocabSize() const;
    [[nodiscard]] std::optional<int> bos() const { return m_bos; }
    [[nodiscard]] std::optional<int> eos() const { return m_eos; }

private:
    Tokenizer();
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::optional<int> m_bos;
    std::optional<int> m_eos;
};

}  // namespace qb::core
