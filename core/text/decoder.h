#pragma once
// Decoder — the "decoder" of a tokenizer.json: turns token pieces back into text, as Hugging
// Face's decode_chain does. Types: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// Sequence.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

class Decoder {
public:
    virtual ~Decoder() = default;
    /// Rewrites the pieces in place (a step may fuse them into fewer). Thread-safe.
    virtual void decodeChain(std::vector<std::string>& pieces) const = 0;
};

/// Builds the decoder described by spec (null → nullptr: pieces are concatenated). Throws
/// Error "<file>: ..." naming the type when it is unknown or malformed.
[[nodiscard]] std::unique_ptr<const Decoder> makeDecoder(const nlohmann::json& spec, const std::string& file);

}  // namespace qb::core::text
