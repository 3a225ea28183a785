#include "core/calib/calibration.h"

#include <fstream>
#include <random>
#include <sstream>

#include "core/util/error.h"

namespace qb::core {

namespace {
std::string strip(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}
}  // namespace

std::vector<std::string> splitDocuments(const std::string& text) {
    std::vector<std::string> docs;
    std::string current;
    std::istringstream in(text);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        std::string bare = line;
        if (!bare.empty() && bare.back() == '\r') bare.pop_back();
        if (strip(bare) == "<|endoftext|>") {
            if (auto s = strip(current); !s.empty()) docs.push_back(s);
            current.clear();
            first = true;
            continue;
        }
        if (!first) current += '\n';
        current += bare;
        first = false;
    }
    if (auto s = strip(current); !s.empty()) docs.push_back(s);
    return docs;
}

std::string readTextFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot read (missing or unreadable)");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (strip(text).empty()) throw Error(file.string() + ": is empty");
    return text;
}

std::vector<int> encodeDocuments(const Tokenizer& tokenizer, const std::string& text) {
    std::vector<int> ids;
    for (const auto& doc : splitDocuments(text)) {
        if (tokenizer.addsBos() && tokenizer.bos()) ids.push_back(*tokenizer.bos());
        const auto piece = tokenizer.encode(doc);
        ids.insert(ids.end(), piece.begin(), piece.end());
    }
    return ids;
}

CalibrationSet sampleCalibration(const std::vector<int>& stream, const CalibrationOptions& options) {
    if (options.windows < 1 || options.ctx < 2) throw Error("calibration: need at least 1 window of at least 2 tokens");
    if (stream.size() < 2) throw Error("calibration: the text holds fewer than 2 tokens");
    CalibrationSet set;
    const std::size_t n = stream.size();
    if (n <= std::size_t(options.ctx)) {
        set.ctx = int(n);
        set.windows = 1;
        set.tokens = stream;
        set.shortened = true;
        set.note = "calibration text holds only " + std::to_string(n) + " tokens: using 1 window of " + std::to_string(n) +
                   " tokens instead of " + std::to_string(options.windows) + " × " + std::to_string(options.ctx);
        return set;
    }
    set.ctx = options.ctx;
    set.windows = options.windows;
    // GPTQ reference sampling: each window starts at a uniform random position.
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<std::size_t> start(0, n - std::size_t(options.ctx));
    set.tokens.reserve(std::size_t(options.windows) * std::size_t(options.ctx));
    for (int w = 0; w < options.windows; ++w) {
        const std::size_t s = start(rng);
        set.tokens.insert(set.tokens.end(), stream.begin() + std::ptrdiff_t(s), stream.begin() + std::ptrdiff_t(s + std::size_t(options.ctx)));
    }
    if (n < std::size_t(options.windows) * std::size_t(options.ctx)) {
        set.shortened = true;
        set.note = "calibration text holds " + std::to_string(n) + " tokens, fewer than " + std::to_string(options.windows) +
                   " × " + std::to_string(options.ctx) + ": the random windows overlap";
    }
    return set;
}

}  // namespace qb::core
