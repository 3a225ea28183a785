#include "core/text/hf_tokenizer.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/text/byte_level.h"
#include "core/text/utf8.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

namespace qb::core::text {

namespace {

const nlohmann::json& field(const nlohmann::json& doc, const char* key) {
    static const nlohmann::json kNull;
    const auto it = doc.find(key);
    return it == doc.end() ? kNull : *it;
}

// Position of the first byte that is not valid UTF-8, or npos.
std::size_t invalidUtf8At(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        if (static_cast<unsigned char>(s[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const std::size_t start = pos;
        if (decodeUtf8(s, pos) == 0xFFFD && s.compare(start, 3, "\xEF\xBF\xBD") != 0) return start;
    }
    return std::string_view::npos;
}

}  // namespace

std::string sentencePieceBytes(const std::string& piece) {
    static const std::string kMeta = "\xE2\x96\x81";  // ▁
    if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
        const auto byte = std::strtol(piece.substr(3, 2).c_str(), nullptr, 16);
        return std::string(1, char(byte));
    }
    std::string out;
    for (std::size_t pos = 0; pos < piece.size();) {
        if (piece.compare(pos, kMeta.size(), kMeta) == 0) {
            out += ' ';
            pos += kMeta.size();
        } else {
            out += piece[pos++];
        }
    }
    return out;
}

std::unique_ptr<HfTokenizer> HfTokenizer::load(const std::filesystem::path& dir) {
    const auto file = dir / "tokenizer.json";
    const std::string name = file.string();
    const nlohmann::json doc = readJsonFile(file, kTokenizerJsonLimits);
    if (!doc.is_object()) throw Error(name + ": not a tokenizer.json (no top-level object)");
    if (!doc.contains("model") || !doc["model"].is_object()) throw Error(name + ": no \"model\" object");

    std::unique_ptr<HfTokenizer> t(new HfTokenizer());
    t->m_added = AddedTokens(field(doc, "added_tokens"), name);
    t->m_normalizer = makeNormalizer(field(doc, "normalizer"), name);
    t->m_pre = makePreTokenizer(field(doc, "pre_tokenizer"), name);
    t->m_model = std::make_unique<BpeModel>(doc["model"], t->m_pre.byteLevel, name);
    t->m_decoder = makeDecoder(field(doc, "decoder"), name);

    int maxId = t->m_model->maxId();
    for (const auto& a : t->m_added.all()) maxId = std::max(maxId, a.id);
    t->m_pieces.assign(std::size_t(maxId + 1), std::string());
    t->m_isAdded.assign(std::size_t(maxId + 1), false);
    for (int id = 0; id <= t->m_model->maxId(); ++id) t->m_pieces[std::size_t(id)] = t->m_model->token(id);
    for (const auto& a : t->m_added.all()) {
        t->m_pieces[std::size_t(a.id)] = a.content;
        t->m_isAdded[std::size_t(a.id)] = true;
    }

    const auto configFile = dir / "tokenizer_config.json";
    const nlohmann::json config = std::filesystem::exists(configFile) ? readJsonFile(configFile, kTokenizerConfigLimits) : nlohmann::json();
    const HfTokenizer& self = *t;
    t->m_policy = readSpecialTokenPolicy(field(doc, "post_processor"), name, config, configFile.string(),
                                         [&self](const std::string& token) -> std::optional<int> {
                                             if (const auto id = self.m_added.idOf(token)) return id;
                                             return self.m_model->tokenId(token);
                                         });
    return t;
}

std::vector<int> HfTokenizer::encode(const std::string& text) const {
    if (const auto bad = invalidUtf8At(text); bad != std::string_view::npos)
        throw Error("tokenizer: the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    std::vector<int> ids;
    ids.reserve(text.size() / 3 + 8);
    for (const auto& segment : m_added.split(text, false)) {
        if (segment.id) ids.push_back(*segment.id);
        else encodeSection(text.substr(segment.begin, segment.end - segment.begin), segment.begin == 0, ids);
    }
    return ids;
}

// A stretch between raw-text added tokens: normalized, then split again at the added tokens
// that match normalized text.
void HfTokenizer::encodeSection(std::string section, bool atTextStart, std::vector<int>& out) const {
    if (m_normalizer) m_normalizer->normalize(section);
    if (!m_added.hasNormalized()) {
        encodePlain(std::move(section), atTextStart, out);
        return;
    }
    for (const auto& segment : m_added.split(section, true)) {
        if (segment.id) out.push_back(*segment.id);
        else encodePlain(section.substr(segment.begin, segment.end - segment.begin), atTextStart && segment.begin == 0, out);
    }
}

void HfTokenizer::encodePlain(std::string text, bool atTextStart, std::vector<int>& out) const {
    if (text.empty()) return;
    std::vector<std::string> words;
    words.push_back(std::move(text));
    if (m_pre.preTokenizer) m_pre.preTokenizer->split(words, atTextStart);
    for (const auto& word : words) m_model->encodeWord(word, out);
}

std::string HfTokenizer::decode(const std::vector<int>& ids) const {
    std::vector<std::string> pieces;
    pieces.reserve(ids.size());
    for (const int id : ids) {
        if (id < 0 || id >= vocabSize()) throw Error("tokenizer: id " + std::to_string(id) + " is outside the vocabulary of " +
                                                     std::to_string(vocabSize()));
        pieces.push_back(m_pieces[std::size_t(id)]);
    }
    if (m_decoder) m_decoder->decodeChain(pieces);
    std::string text;
    for (const auto& p : pieces) text += p;
    return text;
}

std::string HfTokenizer::piece(int id) const {
    if (id < 0 || id >= vocabSize()) return {};
    return m_pieces[std::size_t(id)];
}

std::string HfTokenizer::pieceBytes(int id) const {
    const std::string p = piece(id);
    if (id < 0 || id >= vocabSize() || m_isAdded[std::size_t(id)]) return p;
    if (m_pre.byteLevel) return byteLevelToBytes(p).value_or(p);
    return sentencePieceBytes(p);
}

std::string HfTokenizer::kindLabel() const {
    std::string label = "tokenizer.json BPE, ";
    label += m_pre.byteLevel ? "byte-level" : "SentencePiece-style";
    if (m_model->byteFallback()) label += ", byte fallback";
    return label;
}

}  // namespace qb::core::text
