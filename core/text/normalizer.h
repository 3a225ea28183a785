#pragma once
// Normalizer — the "normalizer" of a tokenizer.json, applied to each stretch of text between
// added tokens before pre-tokenization. Types: NFC, NFD, NFKC, NFKD (utf8proc), Lowercase,
// Replace (String or Regex pattern), Prepend, Sequence.

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    /// Rewrites text (valid UTF-8) in place. Thread-safe.
    virtual void normalize(std::string& text) const = 0;
};

/// Builds the normalizer described by spec (null → nullptr). Throws Error "<file>: ..." naming
/// the type when it is unknown or its fields are malformed.
[[nodiscard]] std::unique_ptr<const Normalizer> makeNormalizer(const nlohmann::json& spec, const std::string& file);

}  // namespace qb::core::text
