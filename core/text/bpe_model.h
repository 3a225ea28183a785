#pragma once
// BpeModel — the "model" of a tokenizer.json of type BPE: vocabulary, ranked merges, unk_token,
// fuse_unk, byte_fallback, ignore_merges. Encodes one pre-tokenized word at a time.
//
// Byte-level tokenizers (Llama 3, Qwen) spell their vocabulary in GPT-2's printable byte
// alphabet ('Ġ' = space). This model keys such a vocabulary by the raw bytes it stands for, so
// words go in as raw UTF-8 and no word is ever rewritten into the alphabet.
//
// Speed: a merge table keyed by the pair of ids (rank + merged id), a per-word doubly linked
// symbol list with a min-heap of candidate merges, and a bounded cache word → ids.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

class BpeModel {
public:
    /// Reads spec (the "model" object). byteLevel: the vocabulary is in the byte-level alphabet.
    /// Throws Error "<file>: model ..." for another type, malformed merges, a merge whose parts
    /// or result are not in the vocabulary, or an unsupported option (dropout,
    /// continuing_subword_prefix, end_of_word_suffix).
    BpeModel(const nlohmann::json& spec, bool byteLevel, const std::string& file);
    ~BpeModel();

    /// Appends the ids of one word (raw UTF-8) to out. Thread-safe.
    void encodeWord(std::string_view word, std::vector<int>& out) const;

    /// The id of a vocabulary token as tokenizer.json spells it (e.g. "Ġthe", "▁the").
    [[nodiscard]] std::optional<int> tokenId(const std::string& token) const;
    /// The token of id as tokenizer.json spells it; empty when id has no vocabulary entry.
    [[nodiscard]] const std::string& token(int id) const;
    /// Largest id in the vocabulary (-1 when empty).
    [[nodiscard]] int maxId() const { return int(m_tokens.size()) - 1; }
    [[nodiscard]] bool byteFallback() const { return m_byteFallback; }

private:
    struct Tables;  // vocabulary lookups, merge table, word cache
    void encodePiece(std::string_view word, std::vector<int>& out) const;
    void mergeWord(std::string_view word, std::vector<int>& out) const;
    void initialSymbols(std::string_view word, std::vector<int>& ids) const;
    [[nodiscard]] std::optional<int> lookup(std::string_view key) const;

    bool m_byteLevel;
    bool m_ignoreMerges = false;
    bool m_byteFallback = false;
    bool m_fuseUnk = false;
    bool m_splitBeforeMeta = false;  ///< no token has "▁" after another character (see encodeWord)
    std::optional<int> m_unk;
    std::vector<std::string> m_tokens;  ///< id → token as spelled in the file
    int m_byteIds[256];                 ///< byte-level: id of each single byte; -1 when absent
    int m_fallbackIds[256];             ///< byte_fallback: id of "<0xXX>"; -1 when absent
    std::unique_ptr<Tables> m_tables;
};

}  // namespace qb::core::text
