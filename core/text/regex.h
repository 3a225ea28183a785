#pragma once
// Regex — a compiled PCRE2 pattern (UTF + UCP, so \p{L}, \s and \w are Unicode-aware), JIT
// compiled when the platform supports it. The split patterns of Llama 3 and Qwen need Unicode
// classes; PCRE2 reads their Oniguruma-flavoured syntax as written.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace qb::core::text {

class Regex {
public:
    /// Compiles pattern (a literal string when literal is true). Throws Error
    /// "regex '<pattern>': <PCRE2 message> at offset N" when it does not compile.
    explicit Regex(const std::string& pattern, bool literal = false);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    /// Calls onMatch(begin, end) for every non-overlapping match in text, left to right (byte
    /// offsets). An empty match advances by one code point. Thread-safe (per-call match data).
    /// Throws Error when PCRE2 fails (e.g. invalid UTF-8 or a resource limit).
    void forEachMatch(std::string_view text, const std::function<void(std::size_t, std::size_t)>& onMatch) const;

    /// True when the pattern matches a prefix of text (Python's re.match: anchored at the start,
    /// not necessarily to the end). Throws Error when PCRE2 fails (e.g. its match limit on a
    /// pathological pattern, or invalid UTF-8).
    [[nodiscard]] bool matchesAtStart(std::string_view text) const;

    [[nodiscard]] const std::string& pattern() const { return m_pattern; }

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::string m_pattern;
};

}  // namespace qb::core::text
