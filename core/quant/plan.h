#pragma once
// QuantPlan — which scheme each linear module gets. The same JSON file is edited by the GUI
// and read by `quantbench-cli quantize --plan`:
//
//   { "default": {"method": "gptq", "bits": 4, "group_size": 128},
//     "rules": [ {"match": "model.layers.*.mlp.down_proj", "bits": 8},
//                {"match": "model.layers.0.*", "method": "fp16"} ] }
//
// A rule's keys override the scheme resolved so far (later rules win); "match" is a glob
// over module names where '*' matches any run of characters (dots included) and '?' one
// character. Scheme keys: method, bits (2–8), group_size (≥ 1, or −1 = one group per
// output row; a trailing partial group is fine), sym, act_order, damp_percent (0–1),
// block_size (≥ 1), static_groups, grid (1–1000), clip_search, alpha (0–1), act_bits (4–8;
// w8a8 and smoothquant, below 8 simulated),
// threshold (> 0), epochs (0–1000), lr_lwc (> 0), aug_loss. The ranges are what the quantizers accept, so a plan that parses does not
// fail mid-run. Unknown keys, out-of-range values and malformed JSON are errors, one line
// each, naming the origin (the file) and the rule: `plan.json: rule 2: "bits" is 9, outside
// 2–8`.

#include <filesystem>
#include <string>
#include <vector>

#include "core/quant/quant_scheme.h"

namespace qb::core {

/// A rule: glob + the scheme keys it sets, kept as JSON text so a rule overrides only what it names.
struct PlanRule {
    std::string match;
    std::string settingsJson;  ///< a JSON object of scheme keys, e.g. {"bits": 8}
};

struct QuantPlan {
    QuantScheme defaultScheme;
    std::vector<PlanRule> rules;

    /// Parses plan JSON; `origin` names the file in errors ("plan.json: rule 2: bits 9 is outside 2–8").
    static QuantPlan fromJsonText(const std::string& text, const std::string& origin);
    static QuantPlan fromFile(const std::filesystem::path& file);
    /// Serialises to the JSON above (stable key order, defaults omitted in rules).
    [[nodiscard]] std::string toJsonText() const;
    /// Writes atomically ("<file>.tmp-<pid>", then rename; atomicTempPath first removes the temps
    /// killed writers of file left). Throws Error naming the file; no temp is left then.
    void saveFile(const std::filesystem::path& file) const;

    /// The scheme of moduleName: the default, then every matching rule in order.
    [[nodiscard]] QuantScheme resolve(const std::string& moduleName) const;
    /// Warnings: rules that match none of moduleNames ("rule 3 (model.layers.9.*) matches no module").
    [[nodiscard]] std::vector<std::string> check(const std::vector<std::string>& moduleNames) const;
};

/// Glob match: '*' any run (dots included), '?' one character.
[[nodiscard]] bool globMatch(const std::string& pattern, const std::string& text);

/// Applies the keys of a JSON object to scheme; throws Error "<origin>: <problem>" for an
/// unknown key or a value out of range.
void applySchemeJson(const std::string& json, QuantScheme& scheme, const std::string& origin);
/// The full JSON object of a scheme (every key).
[[nodiscard]] std::string schemeToJson(const QuantScheme& scheme);

}  // namespace qb::core
