#pragma once
// The byte-level alphabet of GPT-2-style BPE (Llama 3, Qwen): every byte is shown as one
// printable code point ('Ġ' for a space), so vocabulary and merges are text. The tokenizers
// work on raw bytes and use this mapping only to read the vocabulary and to print pieces.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace qb::core::text {

/// The code point standing for each byte (GPT-2's bytes_to_unicode).
[[nodiscard]] const std::array<char32_t, 256>& byteLevelAlphabet();

/// The bytes a byte-level string stands for; nullopt when a code point is outside the alphabet.
[[nodiscard]] std::optional<std::string> byteLevelToBytes(std::string_view mapped);

/// The byte-level string of raw bytes (each byte as its alphabet code point, UTF-8 encoded).
[[nodiscard]] std::string bytesToByteLevel(std::string_view bytes);

}  // namespace qb::core::text
