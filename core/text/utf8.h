#pragma once
// UTF-8 helpers of the tokenizers: step over, decode and append code points, and repair
// invalid bytes the way Rust's String::from_utf8_lossy does (what Hugging Face's decoders use).

#include <cstddef>
#include <string>
#include <string_view>

namespace qb::core::text {

/// Length of the UTF-8 sequence that starts with lead byte c (1 for a stray continuation byte,
/// so a loop always advances).
[[nodiscard]] constexpr std::size_t utf8SequenceLength(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

/// Decodes the code point at s[pos] and advances pos past it; an invalid byte yields U+FFFD
/// and advances by one.
char32_t decodeUtf8(std::string_view s, std::size_t& pos);

/// Appends code point cp as UTF-8.
void appendUtf8(std::string& out, char32_t cp);

/// s with every maximal invalid subsequence replaced by U+FFFD (valid input is returned unchanged).
[[nodiscard]] std::string utf8Lossy(std::string_view s);

}  // namespace qb::core::text
