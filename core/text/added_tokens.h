#pragma once
// AddedTokens — the "added_tokens" of a tokenizer.json (special or not): found in the text as
// themselves before the model sees it, as tokenizer(text, add_special_tokens=False) does.
// Honours single_word, lstrip, rstrip and normalized (normalized tokens are looked for in the
// normalized text, the others in the raw text).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

struct AddedToken {
    std::string content;
    int id = 0;
    bool special = false;
    bool singleWord = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
};

/// A stretch of text: either plain text [begin, end) or an added token (id set).
struct TextSegment {
    std::size_t begin = 0, end = 0;
    std::optional<int> id;
};

class AddedTokens {
public:
    AddedTokens() = default;
    /// Reads the added_tokens array (null → none). Throws Error "<file>: added_tokens[i] ..."
    /// when an entry lacks its id or content.
    AddedTokens(const nlohmann::json& spec, const std::string& file);

    /// Splits text at the added tokens whose `normalized` flag equals normalizedPass: the
    /// leftmost match wins, the longest token at that position; lstrip/rstrip take the
    /// whitespace beside a match into it. Thread-safe.
    [[nodiscard]] std::vector<TextSegment> split(std::string_view text, bool normalizedPass) const;

    [[nodiscard]] std::optional<int> idOf(const std::string& content) const;
    [[nodiscard]] const AddedToken* byId(int id) const;
    [[nodiscard]] const std::vector<AddedToken>& all() const { return m_tokens; }
    [[nodiscard]] bool hasNormalized() const { return m_hasNormalized; }

private:
    [[nodiscard]] std::optional<std::size_t> matchAt(std::string_view text, std::size_t pos, bool normalizedPass) const;
    std::vector<AddedToken> m_tokens;
    std::vector<std::vector<std::size_t>> m_byFirstByte;  ///< [256]: token indices, longest first
    bool m_hasNormalized = false;
};

}  // namespace qb::core::text
