#include "core/text/tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/util/error.h"

namespace qb::core {

struct Tokenizer::Impl {
    sentencepiece::SentencePieceProcessor sp;
};

Tokenizer::Tokenizer() : m_impl(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::filesystem::path& modelDir, std::optional<int> bosId,
                                                 std::optional<int> eosId) {
    const auto file = modelDir / "tokenizer.model";
    if (!std::filesystem::exists(file))
        throw Error(file.string() + ": missing (quantbench needs the SentencePiece tokenizer.model of the checkpoint)");
    std::shared_ptr<Tokenizer> t(new Tokenizer());
    const auto status = t->m_impl->sp.Load(file.string());
    if (!status.ok()) throw Error(file.string() + ": not a SentencePiece model (" + status.ToString() + ")");
    const int vocab = t->m_impl->sp.GetPieceSize();
    auto checkId = [&](std::optional<int> id, const char* what) -> std::optional<int> {
        if (id && (*id < 0 || *id >= vocab))
            throw Error(file.string() + ": " + what + " id " + std::to_string(*id) + " is outside the vocabulary of " +
                        std::to_string(vocab));
        return id;
    };
    t->m_bos = checkId(bosId ? bosId : (t->m_impl->sp.bos_id() >= 0 ? std::optional<int>(t->m_impl->sp.bos_id()) : std::nullopt), "BOS");
    t->m_eos = checkId(eosId ? eosId : (t->m_impl->sp.eos_id() >= 0 ? std::optional<int>(t->m_impl->sp.eos_id()) : std::nullopt), "EOS");
    return t;
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
    std::vector<int> ids;
    const auto status = m_impl->sp.Encode(text, &ids);
    if (!status.ok()) throw Error("tokenizer: cannot encode text (" + status.ToString() + ")");
    return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    std::string text;
    const auto status = m_impl->sp.Decode(ids, &text);
    if (!status.ok()) throw Error("tokenizer: cannot decode ids (" + status.ToString() + ")");
    return text;
}

std::string Tokenizer::piece(int id) const { return m_impl->sp.IdToPiece(id); }
int Tokenizer::vocabSize() const { return m_impl->sp.GetPieceSize(); }

}  // namespace qb::core
