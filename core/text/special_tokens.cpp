#include "core/text/special_tokens.h"

#include "core/text/json_fields.h"

namespace qb::core::text {

namespace {

// The id a TemplateProcessing SpecialToken item stands for ({"SpecialToken": {"id": name}} and
// special_tokens[name].ids[0]).
int templateTokenId(const nlohmann::json& item, const nlohmann::json& processor, const std::string& file) {
    const std::string name = requireString(item["SpecialToken"], "id", file, "post_processor TemplateProcessing item");
    const auto specials = processor.find("special_tokens");
    if (specials == processor.end() || !specials->is_object() || !specials->contains(name))
        throw Error(file + ": post_processor TemplateProcessing uses '" + name + "' that is not in its special_tokens");
    // find(), never a const operator[] on a key that may be missing (undefined behaviour in
    // nlohmann::json: a fuzzed tokenizer.json whose special token had no "ids" crashed here).
    const nlohmann::json& entry = specials->at(name);
    const auto ids = entry.is_object() ? entry.find("ids") : entry.end();
    if (!entry.is_object() || ids == entry.end() || !ids->is_array() || ids->empty() || !ids->front().is_number_integer())
        throw Error(file + ": post_processor TemplateProcessing special token '" + name + "' has no ids");
    const long long id = ids->front().is_number_unsigned() && ids->front().get<unsigned long long>() > (1ull << 31)
                             ? -1
                             : ids->front().get<long long>();
    if (id < 0 || id >= (1ll << 31))
        throw Error(file + ": post_processor TemplateProcessing special token '" + name + "' has id " + ids->front().dump() +
                    ", not a token id");
    return int(id);
}

void readPostProcessor(const nlohmann::json& spec, const std::string& file, SpecialTokenPolicy& policy) {
    if (spec.is_null()) return;
    const std::string type = componentType(spec, file, "post_processor");
    if (type == "ByteLevel") return;  // only trims offsets
    if (type == "Sequence") {
        const auto it = spec.find("processors");
        if (it == spec.end() || !it->is_array()) throw Error(file + ": post_processor Sequence needs a \"processors\" array");
        for (const auto& p : *it) readPostProcessor(p, file, policy);
        return;
    }
    if (type == "TemplateProcessing") {
        const auto single = spec.find("single");
        if (single == spec.end() || !single->is_array() || single->empty())
            throw Error(file + ": post_processor TemplateProcessing needs a \"single\" template");
        if (single->front().contains("SpecialToken")) {
            policy.addsBos = true;
            policy.bos = templateTokenId(single->front(), spec, file);
        }
        if (single->size() > 1 && single->back().contains("SpecialToken")) {
            policy.addsEos = true;
            policy.eos = templateTokenId(single->back(), spec, file);
        }
        return;
    }
    throw Error(file + ": post_processor type '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
}

// bos_token / eos_token: a string, {"content": ...}, or null.
std::optional<std::string> configToken(const nlohmann::json& config, const char* key, const std::string& file) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
    throw Error(file + ": " + key + " is neither a string nor {\"content\": ...}");
}

}  // namespace

SpecialTokenPolicy readSpecialTokenPolicy(const nlohmann::json& postProcessor, const std::string& tokenizerFile,
                                          const nlohmann::json& config, const std::string& configFile,
                                          const TokenResolver& resolve) {
    SpecialTokenPolicy policy;
    readPostProcessor(postProcessor, tokenizerFile, policy);
    if (!config.is_object()) return policy;
    policy.addsBos = optionalBool(config, "add_bos_token", policy.addsBos, configFile, "tokenizer_config");
    policy.addsEos = optionalBool(config, "add_eos_token", policy.addsEos, configFile, "tokenizer_config");
    for (auto [key, slot] : {std::pair{"bos_token", &policy.bos}, std::pair{"eos_token", &policy.eos}}) {
        const auto token = configToken(config, key, configFile);
        if (!token) continue;
        const auto id = resolve(*token);
        if (!id) throw Error(configFile + ": " + key + " '" + *token + "' is not in the vocabulary");
        *slot = id;
    }
    return policy;
}

}  // namespace qb::core::text
