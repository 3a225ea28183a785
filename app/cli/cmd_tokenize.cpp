#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/calib/calibration.h"
#include "core/text/tokenizer.h"

namespace qb::cli {

namespace {

// A piece's bytes as a double-quoted string: printable UTF-8 as is, \n \r \t \\ \" escaped,
// other control bytes and bytes that are not valid UTF-8 (half a character) as \xNN.
std::string quotedPiece(const std::string& bytes) {
    std::string out = "\"";
    char hex[8];
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c >= 0x20 && c < 0x7F) out += char(c);
        else {
            const std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
            bool valid = len > 0 && c < 0xF5 && i + len <= bytes.size();
            for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(bytes[i + k]) & 0xC0) == 0x80;
            if (valid) {
                out.append(bytes, i, len);
                i += len - 1;
            } else {
                std::snprintf(hex, sizeof hex, "\\x%02X", c);
                out += hex;
            }
        }
    }
    return out + "\"";
}

}  // namespace

int runTokenize(const TokenizeArgs& args) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto tokenizer = core::Tokenizer::load(args.model);
    const std::string text = core::readTextFile(args.text);
    const auto t1 = Clock::now();
    const auto ids = tokenizer->encode(text);
    const auto t2 = Clock::now();

    if (args.json) {
        nlohmann::ordered_json j;
        j["ids"] = ids;
        j["count"] = ids.size();
        std::printf("%s\n", j.dump().c_str());
    } else if (args.pieces) {
        for (const int id : ids) std::printf("%d\t%s\n", id, quotedPiece(tokenizer->pieceBytes(id)).c_str());
    } else {
        std::string line;
        line.reserve(ids.size() * 7);
        for (const int id : ids) (line.empty() ? line : line += ' ') += std::to_string(id);
        std::printf("%s\n", line.c_str());
    }
    if (args.timing) {
        const double load = std::chrono::duration<double>(t1 - t0).count();
        const double encode = std::chrono::duration<double>(t2 - t1).count();
        std::fprintf(stderr, "tokenize: %s; %zu bytes -> %zu tokens in %.3f s (%.2f MB/s, one thread); load %.3f s\n",
                     tokenizer->kindLabel().c_str(), text.size(), ids.size(), encode, double(text.size()) / 1e6 / encode, load);
    }
    return 0;
}

}  // namespace qb::cli
