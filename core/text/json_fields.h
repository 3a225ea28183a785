#pragma once
// Typed reads of tokenizer.json fields with "<file>: <what> ..." errors instead of
// nlohmann's type_error messages.

#include <string>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace qb::core::text {

/// spec[key] as a string; throws Error "<file>: <where> needs a string \"key\"".
inline std::string requireString(const nlohmann::json& spec, const char* key, const std::string& file, const std::string& where) {
    const auto it = spec.find(key);
    if (it == spec.end() || !it->is_string()) throw Error(file + ": " + where + " needs a string \"" + key + "\"");
    return it->get<std::string>();
}

/// spec[key] as a bool, fallback when absent or null; throws when it is another type.
inline bool optionalBool(const nlohmann::json& spec, const char* key, bool fallback, const std::string& file, const std::string& where) {
    const auto it = spec.find(key);
    if (it == spec.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw Error(file + ": " + where + " field \"" + key + "\" is not true/false");
    return it->get<bool>();
}

/// The "type" of a component, for dispatch; throws when missing.
inline std::string componentType(const nlohmann::json& spec, const std::string& file, const std::string& what) {
    if (!spec.is_object()) throw Error(file + ": " + what + " is not an object");
    return requireString(spec, "type", file, what);
}

/// The pattern of a Replace/Split: {"String": s} or {"Regex": r}. Sets isRegex.
inline std::string patternOf(const nlohmann::json& spec, const std::string& file, const std::string& where, bool& isRegex) {
    const auto it = spec.find("pattern");
    if (it != spec.end() && it->is_object()) {
        if (const auto s = it->find("String"); s != it->end() && s->is_string()) {
            isRegex = false;
            return s->get<std::string>();
        }
        if (const auto r = it->find("Regex"); r != it->end() && r->is_string()) {
            isRegex = true;
            return r->get<std::string>();
        }
    }
    throw Error(file + ": " + where + " needs a \"pattern\" of the form {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace qb::core::text
