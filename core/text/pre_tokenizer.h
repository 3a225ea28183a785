#pragma once
// PreTokenizer — the "pre_tokenizer" of a tokenizer.json: splits normalized text into the
// words the BPE model encodes one by one. Types: Split (String or Regex pattern, all five
// behaviours, invert), ByteLevel (add_prefix_space, use_regex with GPT-2's pattern), Metaspace
// (replacement, prepend_scheme first/always/never, split), Sequence.
//
// ByteLevel does not rewrite bytes into its printable alphabet here: the BPE model of a
// byte-level tokenizer keys its vocabulary by raw bytes (see bpe_model.h), which saves a copy
// of every word. So ByteLevel must be the last step.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qb::core::text {

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    /// Splits every piece further, in order. atTextStart: pieces[0] begins the whole input (no
    /// added token before it), which Metaspace's prepend_scheme "first" asks. Thread-safe.
    virtual void split(std::vector<std::string>& pieces, bool atTextStart) const = 0;
};

struct PreTokenizerSpec {
    std::unique_ptr<const PreTokenizer> preTokenizer;  ///< null when the file has none
    bool byteLevel = false;                            ///< a ByteLevel step is present (the last one)
    bool metaspace = false;                            ///< a Metaspace step is present
};

/// Builds the pre-tokenizer described by spec (null → no pre-tokenizer). Throws Error
/// "<file>: ..." naming the type when it is unknown, malformed, or ByteLevel is not last.
[[nodiscard]] PreTokenizerSpec makePreTokenizer(const nlohmann::json& spec, const std::string& file);

}  // namespace qb::core::text
