#include "core/quant/gptq_dynamic.h"

#include "core/text/regex.h"
#include "core/util/error.h"

namespace qb::core {

GptqDynamicRules GptqDynamicRules::parse(const nlohmann::ordered_json& dynamic, const std::string& where) {
    GptqDynamicRules out;
    if (!dynamic.is_object()) return out;
    for (auto d = dynamic.begin(); d != dynamic.end(); ++d) {
        const std::string& key = d.key();
        if (key.size() <= 2 || (key[0] != '+' && key[0] != '-') || key[1] != ':') continue;
        const std::string at = where + "['" + key.substr(0, 64) + (key.size() > 64 ? "…" : "") + "']";
        if (key.size() - 2 > kMaxPatternLength)
            throw Error(at + ": the pattern is over " + std::to_string(kMaxPatternLength) + " characters");
        GptqDynamicRule rule;
        try {
            rule.pattern = std::make_shared<const text::Regex>(key.substr(2));
        } catch (const Error& e) {
            throw Error(at + ": not a valid regular expression (" + e.what() + ")");
        }
        rule.skip = key[0] == '-';
        if (!rule.skip) {
            if (!d->is_object()) throw Error(at + " is " + std::string(d->type_name()) + ", not an object");
            rule.overrides = *d;
        }
        out.m_rules.push_back(std::move(rule));
    }
    return out;
}

const GptqDynamicRule* GptqDynamicRules::match(std::string_view module) const {
    for (const GptqDynamicRule& rule : m_rules)
        if (rule.pattern->matchesAtStart(module)) return &rule;
    return nullptr;
}

}  // namespace qb::core
