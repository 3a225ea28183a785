#include "core/text/normalizer.h"

#include <cstdlib>
#include <vector>

#include <utf8proc.h>

#include "core/text/json_fields.h"
#include "core/text/regex.h"
#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

class UnicodeForm : public Normalizer {
public:
    explicit UnicodeForm(utf8proc_option_t options) : m_options(options) {}
    void normalize(std::string& text) const override {
        // Plain ASCII is already in every normal form: skip the copy.
        bool ascii = true;
        for (const char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
        if (ascii) return;
        utf8proc_uint8_t* out = nullptr;
        const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()), &out,
                                    utf8proc_option_t(m_options | UTF8PROC_STABLE));
        if (n < 0) throw Error(std::string("normalizer: ") + utf8proc_errmsg(n));
        text.assign(reinterpret_cast<const char*>(out), std::size_t(n));
        std::free(out);
    }

private:
    utf8proc_option_t m_options;
};

class Lowercase : public Normalizer {
public:
    void normalize(std::string& text) const override {
        std::string out;
        out.reserve(text.size());
        std::size_t pos = 0;
        while (pos < text.size()) appendUtf8(out, char32_t(utf8proc_tolower(utf8proc_int32_t(decodeUtf8(text, pos)))));
        text = std::move(out);
    }
};

class Replace : public Normalizer {
public:
    Replace(std::string pattern, bool isRegex, std::string content)
        : m_regex(pattern, !isRegex), m_content(std::move(content)) {}
    void normalize(std::string& text) const override {
        std::string out;
        std::size_t last = 0;
        m_regex.forEachMatch(text, [&](std::size_t begin, std::size_t end) {
            out.append(text, last, begin - last);
            out += m_content;
            last = end;
        });
        if (last == 0 && out.empty()) return;
        out.append(text, last, std::string::npos);
        text = std::move(out);
    }

private:
    Regex m_regex;
    std::string m_content;
};

class Prepend : public Normalizer {
public:
    explicit Prepend(std::string prefix) : m_prefix(std::move(prefix)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, m_prefix);
    }

private:
    std::string m_prefix;
};

class NormalizerSequence : public Normalizer {
public:
    explicit NormalizerSequence(std::vector<std::unique_ptr<const Normalizer>> steps) : m_steps(std::move(steps)) {}
    void normalize(std::string& text) const override {
        for (const auto& step : m_steps) step->normalize(text);
    }

private:
    std::vector<std::unique_ptr<const Normalizer>> m_steps;
};

}  // namespace

std::unique_ptr<const Normalizer> makeNormalizer(const nlohmann::json& spec, const std::string& file) {
    if (spec.is_null()) return nullptr;
    const std::string type = componentType(spec, file, "normalizer");
    const std::string where = "normalizer " + type;
    if (type == "NFC") return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_COMPOSE));
    if (type == "NFD") return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_DECOMPOSE));
    if (type == "NFKC") return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
    if (type == "NFKD") return std::make_unique<UnicodeForm>(utf8proc_option_t(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "Prepend") return std::make_unique<Prepend>(requireString(spec, "prepend", file, where));
    if (type == "Replace") {
        bool isRegex = false;
        std::string pattern = patternOf(spec, file, where, isRegex);
        if (pattern.empty()) throw Error(file + ": " + where + " has an empty pattern");
        const std::string content = requireString(spec, "content", file, where);
        return withErrorContext(file, [&] { return std::make_unique<Replace>(pattern, isRegex, content); });
    }
    if (type == "Sequence") {
        const auto it = spec.find("normalizers");
        if (it == spec.end() || !it->is_array()) throw Error(file + ": normalizer Sequence needs a \"normalizers\" array");
        std::vector<std::unique_ptr<const Normalizer>> steps;
        for (const auto& step : *it)
            if (auto n = makeNormalizer(step, file)) steps.push_back(std::move(n));
        return std::make_unique<NormalizerSequence>(std::move(steps));
    }
    throw Error(file + ": normalizer type '" + type + "' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, "
                "Replace, Prepend, Sequence)");
}

}  // namespace qb::core::text
