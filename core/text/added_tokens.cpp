#include "core/text/added_tokens.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "core/text/json_fields.h"
#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

bool isWhitespace(char32_t c) {
    if (c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85) return true;
    if (c < 0x80) return false;
    const auto cat = utf8proc_category(utf8proc_int32_t(c));
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool isWordChar(char32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const auto cat = utf8proc_category(utf8proc_int32_t(c));
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) || (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

// The code point that ends text[0, pos) and where it starts.
char32_t codePointBefore(std::string_view text, std::size_t pos, std::size_t& start) {
    start = pos - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    std::size_t p = start;
    return decodeUtf8(text, p);
}

}  // namespace

AddedTokens::AddedTokens(const nlohmann::json& spec, const std::string& file) : m_byFirstByte(256) {
    if (spec.is_null()) return;
    if (!spec.is_array()) throw Error(file + ": added_tokens is not an array");
    for (std::size_t i = 0; i < spec.size(); ++i) {
        const auto& t = spec[i];
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || t["id"].get<long long>() < 0)
            throw Error(file + ": " + where + " has no valid id");
        AddedToken token;
        token.id = t["id"].get<int>();
        token.content = requireString(t, "content", file, where);
        if (token.content.empty()) throw Error(file + ": " + where + " has an empty content");
        token.special = optionalBool(t, "special", false, file, where);
        token.singleWord = optionalBool(t, "single_word", false, file, where);
        token.lstrip = optionalBool(t, "lstrip", false, file, where);
        token.rstrip = optionalBool(t, "rstrip", false, file, where);
        token.normalized = optionalBool(t, "normalized", !token.special, file, where);
        m_hasNormalized = m_hasNormalized || token.normalized;
        m_tokens.push_back(std::move(token));
    }
    for (std::size_t i = 0; i < m_tokens.size(); ++i)
        m_byFirstByte[static_cast<unsigned char>(m_tokens[i].content[0])].push_back(i);
    for (auto& bucket : m_byFirstByte)
        std::stable_sort(bucket.begin(), bucket.end(),
                         [&](std::size_t a, std::size_t b) { return m_tokens[a].content.size() > m_tokens[b].content.size(); });
}

std::optional<std::size_t> AddedTokens::matchAt(std::string_view text, std::size_t pos, bool normalizedPass) const {
    for (const std::size_t i : m_byFirstByte[static_cast<unsigned char>(text[pos])]) {
        const auto& t = m_tokens[i];
        if (t.normalized != normalizedPass || text.compare(pos, t.content.size(), t.content) != 0) continue;
        if (t.singleWord) {
            std::size_t before = 0;
            const std::size_t end = pos + t.content.size();
            std::size_t after = end;
            if (pos > 0 && isWordChar(codePointBefore(text, pos, before))) continue;
            if (end < text.size() && isWordChar(decodeUtf8(text, after))) continue;
        }
        return i;
    }
    return std::nullopt;
}

std::vector<TextSegment> AddedTokens::split(std::string_view text, bool normalizedPass) const {
    std::vector<TextSegment> segments;
    std::size_t plainStart = 0;
    for (std::size_t pos = 0; pos < text.size() && !m_tokens.empty();) {
        if (m_byFirstByte[static_cast<unsigned char>(text[pos])].empty()) {
            ++pos;
            continue;
        }
        const auto match = matchAt(text, pos, normalizedPass);
        if (!match) {
            ++pos;
            continue;
        }
        const AddedToken& t = m_tokens[*match];
        std::size_t begin = pos, end = pos + t.content.size();
        if (t.lstrip)
            while (begin > plainStart) {
                std::size_t prev = 0;
                if (!isWhitespace(codePointBefore(text, begin, prev))) break;
                begin = prev;
            }
        if (t.rstrip)
            while (end < text.size()) {
                std::size_t next = end;
                if (!isWhitespace(decodeUtf8(text, next))) break;
                end = next;
            }
        if (begin > plainStart) segments.push_back({plainStart, begin, std::nullopt});
        segments.push_back({begin, end, t.id});
        plainStart = pos = end;
    }
    if (plainStart < text.size()) segments.push_back({plainStart, text.size(), std::nullopt});
    return segments;
}

std::optional<int> AddedTokens::idOf(const std::string& content) const {
    for (const auto& t : m_tokens)
        if (t.content == content) return t.id;
    return std::nullopt;
}

const AddedToken* AddedTokens::byId(int id) const {
    for (const auto& t : m_tokens)
        if (t.id == id) return &t;
    return nullptr;
}

}  // namespace qb::core::text
