#include "core/text/pre_tokenizer.h"

#include <algorithm>
#include <utility>

#include "core/text/json_fields.h"
#include "core/text/regex.h"
#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

// GPT-2's split pattern, used by ByteLevel with use_regex.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Span {
    std::size_t begin, end;
    bool match;
};

// Splits piece at the matches of regex following HF's SplitDelimiterBehavior, appending the
// parts (never empty ones) to out.
void splitPiece(const std::string& piece, const Regex& regex, SplitBehavior behavior, bool invert, std::vector<std::string>& out) {
    std::vector<Span> spans;
    std::size_t last = 0;
    regex.forEachMatch(piece, [&](std::size_t begin, std::size_t end) {
        if (begin > last) spans.push_back({last, begin, invert});
        spans.push_back({begin, end, !invert});
        last = end;
    });
    if (last < piece.size()) spans.push_back({last, piece.size(), invert});

    std::vector<std::pair<std::size_t, std::size_t>> parts;
    bool previousMatch = false;
    switch (behavior) {
    case SplitBehavior::Removed:
        for (const auto& s : spans)
            if (!s.match) parts.emplace_back(s.begin, s.end);
        break;
    case SplitBehavior::Isolated:
        for (const auto& s : spans) parts.emplace_back(s.begin, s.end);
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const auto& s : spans) {
            if (s.match && !previousMatch && !parts.empty()) parts.back().second = s.end;
            else parts.emplace_back(s.begin, s.end);
            previousMatch = s.match;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
            if (it->match && !previousMatch && !parts.empty()) parts.back().first = it->begin;
            else parts.emplace_back(it->begin, it->end);
            previousMatch = it->match;
        }
        std::reverse(parts.begin(), parts.end());
        break;
    case SplitBehavior::Contiguous:
        for (const auto& s : spans) {
            if (s.match == previousMatch && !parts.empty()) parts.back().second = s.end;
            else parts.emplace_back(s.begin, s.end);
            previousMatch = s.match;
        }
        break;
    }
    for (const auto& [begin, end] : parts)
        if (end > begin) out.emplace_back(piece, begin, end - begin);
}

class Split : public PreTokenizer {
public:
    Split(const std::string& pattern, bool isRegex, SplitBehavior behavior, bool invert)
        : m_regex(pattern, !isRegex), m_behavior(behavior), m_invert(invert) {}
    void split(std::vector<std::string>& pieces, bool) const override {
        std::vector<std::string> out;
        out.reserve(pieces.size() * 4 + pieces.front().size() / 4);
        for (const auto& piece : pieces) splitPiece(piece, m_regex, m_behavior, m_invert, out);
        pieces = std::move(out);
    }

private:
    Regex m_regex;
    SplitBehavior m_behavior;
    bool m_invert;
};

class ByteLevel : public PreTokenizer {
public:
    ByteLevel(bool addPrefixSpace, bool useRegex) : m_addPrefixSpace(addPrefixSpace) {
        if (useRegex) m_regex = std::make_unique<Regex>(kGpt2Pattern);
    }
    void split(std::vector<std::string>& pieces, bool) const override {
        if (m_addPrefixSpace)
            for (auto& piece : pieces)
                if (piece.empty() || piece.front() != ' ') piece.insert(0, 1, ' ');
        if (!m_regex) return;
        std::vector<std::string> out;
        for (const auto& piece : pieces) splitPiece(piece, *m_regex, SplitBehavior::Isolated, false, out);
        pieces = std::move(out);
    }

private:
    bool m_addPrefixSpace;
    std::unique_ptr<Regex> m_regex;
};

enum class PrependScheme { Always, First, Never };

class Metaspace : public PreTokenizer {
public:
    Metaspace(std::string replacement, PrependScheme scheme, bool splitWords)
        : m_replacement(std::move(replacement)), m_scheme(scheme), m_split(splitWords), m_delimiter(m_replacement, true) {}
    void split(std::vector<std::string>& pieces, bool atTextStart) const override {
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            auto& piece = pieces[i];
            std::string replaced;
            for (const char c : piece) {
                if (c == ' ') replaced += m_replacement;
                else replaced += c;
            }
            const bool startsWithReplacement = replaced.compare(0, m_replacement.size(), m_replacement) == 0;
            const bool prepend = m_scheme == PrependScheme::Always || (m_scheme == PrependScheme::First && i == 0 && atTextStart);
            if (prepend && !startsWithReplacement) replaced.insert(0, m_replacement);
            piece = std::move(replaced);
        }
        if (!m_split) return;
        std::vector<std::string> out;
        for (const auto& piece : pieces) splitPiece(piece, m_delimiter, SplitBehavior::MergedWithNext, false, out);
        pieces = std::move(out);
    }

private:
    std::string m_replacement;
    PrependScheme m_scheme;
    bool m_split;
    Regex m_delimiter;
};

class PreTokenizerSequence : public PreTokenizer {
public:
    explicit PreTokenizerSequence(std::vector<std::unique_ptr<const PreTokenizer>> steps) : m_steps(std::move(steps)) {}
    void split(std::vector<std::string>& pieces, bool atTextStart) const override {
        for (const auto& step : m_steps) step->split(pieces, atTextStart);
    }

private:
    std::vector<std::unique_ptr<const PreTokenizer>> m_steps;
};

SplitBehavior parseBehavior(const nlohmann::json& spec, const std::string& file) {
    const std::string b = requireString(spec, "behavior", file, "pre_tokenizer Split");
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    throw Error(file + ": pre_tokenizer Split behavior '" + b + "' is unknown");
}

PrependScheme parsePrependScheme(const nlohmann::json& spec, const std::string& file) {
    if (const auto it = spec.find("prepend_scheme"); it != spec.end() && !it->is_null()) {
        const std::string s = it->is_string() ? it->get<std::string>() : std::string();
        if (s == "always") return PrependScheme::Always;
        if (s == "first") return PrependScheme::First;
        if (s == "never") return PrependScheme::Never;
        throw Error(file + ": pre_tokenizer Metaspace prepend_scheme '" + it->dump() + "' is not first, always or never");
    }
    // Files older than prepend_scheme say add_prefix_space.
    return optionalBool(spec, "add_prefix_space", true, file, "pre_tokenizer Metaspace") ? PrependScheme::Always : PrependScheme::Never;
}

std::unique_ptr<const PreTokenizer> makeStep(const nlohmann::json& spec, const std::string& file, PreTokenizerSpec& info) {
    const std::string type = componentType(spec, file, "pre_tokenizer");
    const std::string where = "pre_tokenizer " + type;
    if (info.byteLevel) throw Error(file + ": " + where + " after ByteLevel is not supported (ByteLevel must be the last pre-tokenizer)");
    if (type == "Split") {
        bool isRegex = false;
        const std::string pattern = patternOf(spec, file, where, isRegex);
        return withErrorContext(file, [&] {
            return std::make_unique<Split>(pattern, isRegex, parseBehavior(spec, file), optionalBool(spec, "invert", false, file, where));
        });
    }
    if (type == "ByteLevel") {
        info.byteLevel = true;
        return std::make_unique<ByteLevel>(optionalBool(spec, "add_prefix_space", true, file, where),
                                           optionalBool(spec, "use_regex", true, file, where));
    }
    if (type == "Metaspace") {
        info.metaspace = true;
        return std::make_unique<Metaspace>(requireString(spec, "replacement", file, where), parsePrependScheme(spec, file),
                                           optionalBool(spec, "split", true, file, where));
    }
    if (type == "Sequence") {
        const auto it = spec.find("pretokenizers");
        if (it == spec.end() || !it->is_array()) throw Error(file + ": pre_tokenizer Sequence needs a \"pretokenizers\" array");
        std::vector<std::unique_ptr<const PreTokenizer>> steps;
        for (const auto& step : *it) steps.push_back(makeStep(step, file, info));
        return std::make_unique<PreTokenizerSequence>(std::move(steps));
    }
    throw Error(file + ": pre_tokenizer type '" + type + "' is not supported (supported: Split, ByteLevel, Metaspace, Sequence)");
}

}  // namespace

PreTokenizerSpec makePreTokenizer(const nlohmann::json& spec, const std::string& file) {
    PreTokenizerSpec info;
    if (!spec.is_null()) info.preTokenizer = makeStep(spec, file, info);
    return info;
}

}  // namespace qb::core::text
