#pragma once
// GptqDynamicRules — GPTQModel's per-module overrides, quantization_config.dynamic, read the
// way GPTQModel (`dynamic_get`) and vLLM (`get_dynamic_override`) read them:
//   {"+:<regex>": {"bits": 8, "group_size": 32, ...},   // these keys differ for matching modules
//    "-:<regex>": {}}                                     // matching modules are not quantized
// Rules are tried in file order and the first whose regex matches at the start of the module
// name (Python's re.match: anchored at the start, not at the end) decides; a module no rule
// matches takes the file's defaults. One parser for the loader of quantized checkpoints and the
// GPTQ export reader, so both decode a module with the same scheme.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qb::core {

namespace text {
class Regex;
}

struct GptqDynamicRule {
    std::shared_ptr<const text::Regex> pattern;
    bool skip = false;                  ///< "-:": the module stays unquantized
    nlohmann::ordered_json overrides = nlohmann::ordered_json::object();  ///< "+:": the keys it sets; "-:": empty
};

class GptqDynamicRules {
public:
    /// Reads dynamic (a JSON object; anything else gives no rules). Keys without a "+:" / "-:"
    /// prefix are ignored, as GPTQModel does. Throws Error naming where ("<where>['+:…']") for a
    /// pattern over kMaxPatternLength characters, one PCRE2 cannot compile, or a "+:" value that
    /// is not an object.
    static GptqDynamicRules parse(const nlohmann::ordered_json& dynamic, const std::string& where);

    /// The first rule whose pattern matches at the start of module, or nullptr. Throws Error when
    /// matching fails (PCRE2's match limit on a pathological pattern).
    [[nodiscard]] const GptqDynamicRule* match(std::string_view module) const;

    [[nodiscard]] bool empty() const { return m_rules.empty(); }
    [[nodiscard]] const std::vector<GptqDynamicRule>& rules() const { return m_rules; }

    static constexpr std::size_t kMaxPatternLength = 1024;  ///< module-name regexes are short

private:
    std::vector<GptqDynamicRule> m_rules;
};

}  // namespace qb::core
