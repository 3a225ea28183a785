#include "core/text/tokenizer.h"

#include "core/text/hf_tokenizer.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/util/error.h"

namespace qb::core {

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::filesystem::path& modelDir, std::optional<int> bosId,
                                                 std::optional<int> eosId) {
    const auto json = modelDir / "tokenizer.json";
    const auto sentencePiece = modelDir / "tokenizer.model";
    std::filesystem::path file;
    std::shared_ptr<Tokenizer> t(new Tokenizer());
    if (std::filesystem::exists(json)) {
        file = json;
        t->m_backend = text::HfTokenizer::load(modelDir);
    } else if (std::filesystem::exists(sentencePiece)) {
        file = sentencePiece;
        t->m_backend = text::SentencePieceTokenizer::load(sentencePiece);
    } else {
        throw Error((modelDir / "tokenizer.json").string() + ": missing, and so is tokenizer.model (the folder needs one of them)");
    }
    const int vocab = t->m_backend->vocabSize();
    auto checkId = [&](std::optional<int> id, const char* what) -> std::optional<int> {
        if (id && (*id < 0 || *id >= vocab))
            throw Error(file.string() + ": " + what + " id " + std::to_string(*id) + " is outside the vocabulary of " +
                        std::to_string(vocab));
        return id;
    };
    t->m_bos = checkId(bosId ? bosId : t->m_backend->defaultBos(), "BOS");
    t->m_eos = checkId(eosId ? eosId : t->m_backend->defaultEos(), "EOS");
    return t;
}

std::vector<int> Tokenizer::encode(const std::string& text) const { return m_backend->encode(text); }
std::string Tokenizer::decode(const std::vector<int>& ids) const { return m_backend->decode(ids); }
std::string Tokenizer::piece(int id) const { return m_backend->piece(id); }
std::string Tokenizer::pieceBytes(int id) const { return m_backend->pieceBytes(id); }
int Tokenizer::vocabSize() const { return m_backend->vocabSize(); }
bool Tokenizer::addsBos() const { return m_backend->addsBos(); }
bool Tokenizer::addsEos() const { return m_backend->addsEos(); }
std::string Tokenizer::kindLabel() const { return m_backend->kindLabel(); }

}  // namespace qb::core
