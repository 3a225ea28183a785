#include "core/util/json_file.h"

#include <cstring>
#include <fstream>
#include <type_traits>

#include "core/util/error.h"

namespace qb::core {

namespace {

template <class Json>
Json parseJsonFile(const std::filesystem::path& file, const JsonInputLimits& limits) {
    const std::string text = readJsonInputText(file, limits);
    try {
        if constexpr (std::is_same_v<Json, nlohmann::ordered_json>) return parseOrderedJsonInput(text, file.string(), limits);
        else return parseJsonInput(text, file.string(), limits);
    } catch (const typename Json::parse_error& e) {
        throw Error(file.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    } catch (const typename Json::exception& e) {
        throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
    }
}

}  // namespace

nlohmann::json readJsonFile(const std::filesystem::path& file, const JsonInputLimits& limits) {
    return parseJsonFile<nlohmann::json>(file, limits);
}

nlohmann::ordered_json readOrderedJsonFile(const std::filesystem::path& file, const JsonInputLimits& limits) {
    return parseJsonFile<nlohmann::ordered_json>(file, limits);
}

void writeTextFile(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(file.string() + ": write failed");
}

std::string escapeRegex(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (std::strchr(".^$|()[]{}*+?\\", ch)) out += '\\';
        out += ch;
    }
    return out;
}

}  // namespace qb::core
