#include "core/text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/util/error.h"

namespace qb::core::text {

struct SentencePieceTokenizer::Impl {
    sentencepiece::SentencePieceProcessor sp;
};

SentencePieceTokenizer::SentencePieceTokenizer() : m_impl(std::make_unique<Impl>()) {}
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::filesystem::path& file) {
    std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
    const auto status = t->m_impl->sp.Load(file.string());
    if (!status.ok()) throw Error(file.string() + ": not a SentencePiece model (" + status.ToString() + ")");
    return t;
}

std::vector<int> SentencePieceTokenizer::encode(const std::string& text) const {
    std::vector<int> ids;
    const auto status = m_impl->sp.Encode(text, &ids);
    if (!status.ok()) throw Error("tokenizer: cannot encode text (" + status.ToString() + ")");
    return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids) const {
    std::string text;
    const auto status = m_impl->sp.Decode(ids, &text);
    if (!status.ok()) throw Error("tokenizer: cannot decode ids (" + status.ToString() + ")");
    return text;
}

std::string SentencePieceTokenizer::piece(int id) const { return m_impl->sp.IdToPiece(id); }

std::string SentencePieceTokenizer::pieceBytes(int id) const {
    if (m_impl->sp.IsControl(id) || m_impl->sp.IsUnknown(id)) return piece(id);
    return sentencePieceBytes(piece(id));
}

int SentencePieceTokenizer::vocabSize() const { return m_impl->sp.GetPieceSize(); }

std::optional<int> SentencePieceTokenizer::defaultBos() const {
    const int id = m_impl->sp.bos_id();
    return id >= 0 ? std::optional<int>(id) : std::nullopt;
}

std::optional<int> SentencePieceTokenizer::defaultEos() const {
    const int id = m_impl->sp.eos_id();
    return id >= 0 ? std::optional<int>(id) : std::nullopt;
}

}  // namespace qb::core::text
