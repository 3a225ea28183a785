#include "core/util/json_input.h"

#include <fstream>
#include <system_error>

#include "core/util/error.h"

namespace qb::core {

namespace {

void checkSize(std::size_t bytes, const std::string& source, const JsonInputLimits& limits) {
    if (bytes > limits.maxBytes)
        throw Error(source + ": " + std::to_string(bytes) + " bytes, more than the " + std::to_string(limits.maxBytes) +
                    " quantbench reads for " + limits.kind);
}

template <class Json>
Json parseBounded(std::string_view text, const std::string& source, const JsonInputLimits& limits) {
    checkSize(text.size(), source, limits);
    // depth: how many arrays/objects are open around the event (0 at the document's top), as
    // the parser counts them; a start event at depth maxDepth would open level maxDepth + 1.
    const typename Json::parser_callback_t bound = [&](int depth, nlohmann::json::parse_event_t event, Json&) {
        if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
            depth >= limits.maxDepth)
            throw Error(source + ": JSON nested deeper than " + std::to_string(limits.maxDepth) + " levels");
        return true;
    };
    return Json::parse(text.begin(), text.end(), bound);
}

}  // namespace

nlohmann::json parseJsonInput(std::string_view text, const std::string& source, const JsonInputLimits& limits) {
    return parseBounded<nlohmann::json>(text, source, limits);
}

nlohmann::ordered_json parseOrderedJsonInput(std::string_view text, const std::string& source, const JsonInputLimits& limits) {
    return parseBounded<nlohmann::ordered_json>(text, source, limits);
}

std::string readJsonInputText(const std::filesystem::path& file, const JsonInputLimits& limits) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (!ec) checkSize(std::size_t(size), file.string(), limits);  // before reading: a huge file is never loaded
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot read");
    // Read in chunks, so that what file_size cannot measure (a pipe, /dev/zero) or a file that
    // grows meanwhile stops at the bound too.
    std::string text;
    char chunk[1 << 16];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, std::size_t(in.gcount()));
        checkSize(text.size(), file.string(), limits);
    }
    if (in.bad()) throw Error(file.string() + ": cannot read");
    return text;
}

}  // namespace qb::core
