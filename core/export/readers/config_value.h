#pragma once
// configValue — one typed read of a quantization_config key for the export readers, so that a
// hostile config.json is refused in one line naming the file and the key rather than with
// nlohmann's type_error (issue 17's exported_folder fuzz target):
//   "out/config.json: quantization_config.bits is "4", not an integer".
// A key that is absent or null takes the fallback (Hugging Face configs write null for "unset").
// Core-only: includes nlohmann/json, which qbcore links privately.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace qb::core {

/// obj[key] as T (int, bool or std::string); fallback when obj has no such key or it is null.
/// where names obj ("<dir>/config.json: quantization_config"). Throws Error when obj is not an
/// object, or the value has another type (an int: not an integer in int's range).
template <class T, class Json>
T configValue(const Json& obj, const std::string& key, T fallback, const std::string& where) {
    if (!obj.is_object()) throw Error(where + " is not a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    const std::string at = where + "." + key + " is " + it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 40);
    if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) throw Error(at + ", not true or false");
        return it->template get<bool>();
    } else if constexpr (std::is_same_v<T, int>) {
        if (it->is_number_unsigned() && it->template get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<int>::max()))
            return int(it->template get<std::uint64_t>());
        if (it->is_number_integer() && !it->is_number_unsigned() && it->template get<std::int64_t>() >= std::numeric_limits<int>::min() &&
            it->template get<std::int64_t>() <= std::numeric_limits<int>::max())
            return int(it->template get<std::int64_t>());
        throw Error(at + ", not an integer");
    } else {
        static_assert(std::is_same_v<T, std::string>);
        if (!it->is_string()) throw Error(at + ", not a string");
        return it->template get<std::string>();
    }
}

/// value when it is a string, else Error naming where ("….targets[3] is 7, not a string").
template <class Json>
const std::string& configString(const Json& value, const std::string& where) {
    if (!value.is_string()) throw Error(where + " is " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 40) + ", not a string");
    return value.template get_ref<const std::string&>();
}

}  // namespace qb::core
