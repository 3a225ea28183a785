#include "core/text/decoder.h"

#include "core/text/byte_level.h"
#include "core/text/json_fields.h"
#include "core/text/regex.h"
#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

// Every piece spelled in the byte alphabet becomes its bytes (others stay as they are, e.g. an
// added token with characters outside it); the whole becomes one piece, invalid UTF-8 repaired.
class ByteLevelDecoder : public Decoder {
public:
    void decodeChain(std::vector<std::string>& pieces) const override {
        std::string bytes;
        for (const auto& piece : pieces) {
            if (auto raw = byteLevelToBytes(piece)) bytes += *raw;
            else bytes += piece;
        }
        pieces.assign(1, utf8Lossy(bytes));
    }
};

class MetaspaceDecoder : public Decoder {
public:
    MetaspaceDecoder(std::string replacement, bool stripFirstSpace)
        : m_replacement(std::move(replacement)), m_stripFirstSpace(stripFirstSpace) {}
    void decodeChain(std::vector<std::string>& pieces) const override {
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            std::string out;
            const std::string& piece = pieces[i];
            for (std::size_t pos = 0; pos < piece.size();) {
                if (piece.compare(pos, m_replacement.size(), m_replacement) == 0) {
                    out += ' ';
                    pos += m_replacement.size();
                } else {
                    out += piece[pos++];
                }
            }
            if (i == 0 && m_stripFirstSpace && !out.empty() && out.front() == ' ') out.erase(0, 1);
            pieces[i] = std::move(out);
        }
    }

private:
    std::string m_replacement;
    bool m_stripFirstSpace;
};

class ReplaceDecoder : public Decoder {
public:
    ReplaceDecoder(const std::string& pattern, bool isRegex, std::string content)
        : m_regex(pattern, !isRegex), m_content(std::move(content)) {}
    void decodeChain(std::vector<std::string>& pieces) const override {
        for (auto& piece : pieces) {
            std::string out;
            std::size_t last = 0;
            m_regex.forEachMatch(piece, [&](std::size_t begin, std::size_t end) {
                out.append(piece, last, begin - last);
                out += m_content;
                last = end;
            });
            out.append(piece, last, std::string::npos);
            piece = std::move(out);
        }
    }

private:
    Regex m_regex;
    std::string m_content;
};

// Runs of "<0xXX>" pieces become the text of their bytes, or one U+FFFD per byte when the run
// is not valid UTF-8.
class ByteFallbackDecoder : public Decoder {
public:
    void decodeChain(std::vector<std::string>& pieces) const override {
        std::vector<std::string> out;
        std::string bytes;
        std::size_t byteCount = 0;
        auto flush = [&] {
            if (byteCount == 0) return;
            if (utf8Lossy(bytes) == bytes) {
                out.push_back(bytes);
            } else {
                for (std::size_t k = 0; k < byteCount; ++k) out.emplace_back("\xEF\xBF\xBD");
            }
            bytes.clear();
            byteCount = 0;
        };
        for (auto& piece : pieces) {
            if (const auto b = byteToken(piece)) {
                bytes += char(*b);
                ++byteCount;
            } else {
                flush();
                out.push_back(std::move(piece));
            }
        }
        flush();
        pieces = std::move(out);
    }

private:
    static std::optional<int> byteToken(const std::string& s) {
        if (s.size() != 6 || s.compare(0, 3, "<0x") != 0 || s[5] != '>') return std::nullopt;
        int value = 0;
        for (std::size_t i = 3; i < 5; ++i) {
            const char c = s[i];
            const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0) return std::nullopt;
            value = value * 16 + digit;
        }
        return value;
    }
};

class FuseDecoder : public Decoder {
public:
    void decodeChain(std::vector<std::string>& pieces) const override {
        std::string all;
        for (const auto& piece : pieces) all += piece;
        pieces.assign(1, std::move(all));
    }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every piece.
class StripDecoder : public Decoder {
public:
    StripDecoder(std::string content, std::size_t start, std::size_t stop) : m_content(std::move(content)), m_start(start), m_stop(stop) {}
    void decodeChain(std::vector<std::string>& pieces) const override {
        const std::size_t len = m_content.size();
        for (auto& piece : pieces) {
            std::size_t begin = 0, end = piece.size();
            for (std::size_t k = 0; k < m_start && end - begin >= len && piece.compare(begin, len, m_content) == 0; ++k) begin += len;
            for (std::size_t k = 0; k < m_stop && end - begin >= len && piece.compare(end - len, len, m_content) == 0; ++k) end -= len;
            piece = piece.substr(begin, end - begin);
        }
    }

private:
    std::string m_content;
    std::size_t m_start, m_stop;
};

class SequenceDecoder : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<const Decoder>> steps) : m_steps(std::move(steps)) {}
    void decodeChain(std::vector<std::string>& pieces) const override {
        for (const auto& step : m_steps) step->decodeChain(pieces);
    }

private:
    std::vector<std::unique_ptr<const Decoder>> m_steps;
};

std::size_t countField(const nlohmann::json& spec, const char* key, const std::string& file) {
    const auto it = spec.find(key);
    if (it == spec.end() || !it->is_number_unsigned()) throw Error(file + ": decoder Strip needs a count \"" + key + "\"");
    return it->get<std::size_t>();
}

bool metaspaceStripsFirstSpace(const nlohmann::json& spec, const std::string& file) {
    if (const auto it = spec.find("prepend_scheme"); it != spec.end() && it->is_string()) return it->get<std::string>() != "never";
    return optionalBool(spec, "add_prefix_space", true, file, "decoder Metaspace");
}

}  // namespace

std::unique_ptr<const Decoder> makeDecoder(const nlohmann::json& spec, const std::string& file) {
    if (spec.is_null()) return nullptr;
    const std::string type = componentType(spec, file, "decoder");
    const std::string where = "decoder " + type;
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "Metaspace")
        return std::make_unique<MetaspaceDecoder>(requireString(spec, "replacement", file, where), metaspaceStripsFirstSpace(spec, file));
    if (type == "Replace") {
        bool isRegex = false;
        const std::string pattern = patternOf(spec, file, where, isRegex);
        return withErrorContext(file, [&] {
            return std::make_unique<ReplaceDecoder>(pattern, isRegex, requireString(spec, "content", file, where));
        });
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Strip")
        return std::make_unique<StripDecoder>(requireString(spec, "content", file, where), countField(spec, "start", file),
                                              countField(spec, "stop", file));
    if (type == "Sequence") {
        const auto it = spec.find("decoders");
        if (it == spec.end() || !it->is_array()) throw Error(file + ": decoder Sequence needs a \"decoders\" array");
        std::vector<std::unique_ptr<const Decoder>> steps;
        for (const auto& step : *it)
            if (auto d = makeDecoder(step, file)) steps.push_back(std::move(d));
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    throw Error(file + ": decoder type '" + type + "' is not supported (supported: ByteLevel, Metaspace, Replace, ByteFallback, "
                "Fuse, Strip, Sequence)");
}

}  // namespace qb::core::text
