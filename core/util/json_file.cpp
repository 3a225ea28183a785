#include "core/util/json_file.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace qb::core {

namespace {

std::string readWhole(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

template <class Json>
Json parseJson(const std::filesystem::path& file) {
    const std::string text = readWhole(file);
    try {
        return Json::parse(text);
    } catch (const typename Json::parse_error& e) {
        throw Error(file.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    } catch (const typename Json::exception& e) {
        throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
    }
}

}  // namespace

nlohmann::json readJsonFile(const std::filesystem::path& file) { return parseJson<nlohmann::json>(file); }

nlohmann::ordered_json readOrderedJsonFile(const std::filesystem::path& file) { return parseJson<nlohmann::ordered_json>(file); }

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
