#include "core/export/gguf_vocab.h"

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

#include "core/export/gguf_types.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

namespace qb::core {

namespace {

using Json = nlohmann::json;

std::int32_t typeCode(GgufTokenType t) { return std::int32_t(t); }

// convert_hf_to_gguf's rule: some added tokens not marked special still act as control tokens.
bool looksSpecial(const std::string& t) {
    return t == "<pad>" || t == "<mask>" || (t.size() >= 4 && t.rfind("<|", 0) == 0 && t.compare(t.size() - 2, 2, "|>") == 0);
}

void padTo(GgufVocab& v, int vocabSize, float padScore) {
    for (int i = 0; i < vocabSize; ++i)
        if (v.tokens[std::size_t(i)].empty()) {
            v.tokens[std::size_t(i)] = "[PAD" + std::to_string(i) + "]";
            v.tokenTypes[std::size_t(i)] = typeCode(GgufTokenType::Unused);
            if (!v.scores.empty()) v.scores[std::size_t(i)] = padScore;
        }
}

// tokenizer_config.json's added_tokens_decoder: {"id": {"content": ..., "special": bool}}.
void applyAddedTokensDecoder(const std::filesystem::path& dir, GgufVocab& v, int vocabSize) {
    const auto file = dir / "tokenizer_config.json";
    if (!std::filesystem::exists(file)) return;
    const Json cfg = readJsonFile(file, kTokenizerConfigLimits);
    const auto it = cfg.find("added_tokens_decoder");
    if (it == cfg.end() || !it->is_object()) return;
    for (const auto& [key, entry] : it->items()) {
        int id = -1;
        try {
            id = std::stoi(key);
        } catch (const std::exception&) {
            throw Error(file.string() + ": added_tokens_decoder key '" + key + "' is not an id");
        }
        if (id < 0 || id >= vocabSize || !entry.is_object() || !entry.contains("content") || !entry["content"].is_string())
            throw Error(file.string() + ": added_tokens_decoder entry " + key + " is malformed or outside the vocabulary");
        const std::string content = entry["content"].get<std::string>();
        const bool special = entry.value("special", false);
        v.tokens[std::size_t(id)] = content;
        v.tokenTypes[std::size_t(id)] = typeCode(special || looksSpecial(content) ? GgufTokenType::Control : GgufTokenType::UserDefined);
        if (!v.scores.empty()) v.scores[std::size_t(id)] = -1000.0f;
    }
}

GgufVocab fromSentencePiece(const std::filesystem::path& dir, int vocabSize) {
    const auto file = dir / "tokenizer.model";
    sentencepiece::SentencePieceProcessor sp;
    const auto status = sp.Load(file.string());
    if (!status.ok()) throw Error(file.string() + ": not a SentencePiece model (" + status.ToString() + ")");
    const int n = sp.GetPieceSize();
    if (n > vocabSize)
        throw Error(file.string() + ": " + std::to_string(n) + " pieces, more than the model's " + std::to_string(vocabSize) +
                    " embedding rows");
    GgufVocab v;
    v.model = "llama";
    v.pre = "default";
    v.tokens.assign(std::size_t(vocabSize), "");
    v.scores.assign(std::size_t(vocabSize), -10000.0f);
    v.tokenTypes.assign(std::size_t(vocabSize), typeCode(GgufTokenType::Unused));
    for (int id = 0; id < n; ++id) {
        GgufTokenType t = GgufTokenType::Normal;
        if (sp.IsUnknown(id)) t = GgufTokenType::Unknown;
        else if (sp.IsControl(id)) t = GgufTokenType::Control;
        else if (sp.IsUnused(id)) t = GgufTokenType::Unused;
        else if (sp.IsByte(id)) t = GgufTokenType::Byte;
        v.tokens[std::size_t(id)] = sp.IdToPiece(id);
        v.scores[std::size_t(id)] = sp.GetScore(id);
        v.tokenTypes[std::size_t(id)] = typeCode(t);
    }
    if (sp.unk_id() >= 0) v.unk = sp.unk_id();
    if (sp.pad_id() >= 0) v.pad = sp.pad_id();
    applyAddedTokensDecoder(dir, v, vocabSize);
    padTo(v, vocabSize, -1000.0f);
    return v;
}

bool containsByteLevel(const Json& spec) {
    if (!spec.is_object()) return false;
    if (spec.value("type", "") == "ByteLevel") return true;
    for (const char* key : {"pretokenizers", "pre_tokenizers"})
        if (const auto it = spec.find(key); it != spec.end() && it->is_array())
            for (const auto& s : *it)
                if (containsByteLevel(s)) return true;
    return false;
}

std::string splitRegex(const Json& spec) {
    if (!spec.is_object()) return {};
    if (spec.value("type", "") == "Split" && spec.contains("pattern") && spec["pattern"].is_object() &&
        spec["pattern"].contains("Regex") && spec["pattern"]["Regex"].is_string())
        return spec["pattern"]["Regex"].get<std::string>();
    if (const auto it = spec.find("pretokenizers"); it != spec.end() && it->is_array())
        for (const auto& s : *it)
            if (auto r = splitRegex(s); !r.empty()) return r;
    return {};
}

// llama.cpp's pre-tokenizer names for the split patterns it implements (llama-vocab.cpp).
std::string preTokenizerName(const Json& pre, std::vector<std::string>& warnings) {
    static const std::string kLlama3 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const std::string kQwen2 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const std::string regex = splitRegex(pre);
    if (regex == kLlama3) return "llama-bpe";
    if (regex == kQwen2) return "qwen2";
    if (regex.empty() && pre.is_object() && pre.value("type", "") == "ByteLevel" && pre.value("use_regex", true)) return "gpt-2";
    warnings.push_back("tokenizer.json: pre-tokenizer not one llama.cpp names; tokenizer.ggml.pre is 'default'");
    return "default";
}

GgufVocab fromTokenizerJson(const std::filesystem::path& dir, int vocabSize) {
    const auto file = dir / "tokenizer.json";
    const Json j = readJsonFile(file, kTokenizerJsonLimits);
    const Json& model = j.contains("model") ? j["model"] : Json();
    if (!model.is_object() || model.value("type", "BPE") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
        throw Error(file.string() + ": GGUF export needs a BPE model with a vocab");
    GgufVocab v;
    const bool byteLevel = containsByteLevel(j.value("pre_tokenizer", Json()));
    v.model = byteLevel ? "gpt2" : "llama";
    v.tokens.assign(std::size_t(vocabSize), "");
    v.tokenTypes.assign(std::size_t(vocabSize), typeCode(GgufTokenType::Normal));
    if (!byteLevel) v.scores.assign(std::size_t(vocabSize), 0.0f);
    for (const auto& [token, idJson] : model["vocab"].items()) {
        const int id = idJson.is_number_integer() ? idJson.get<int>() : -1;
        if (id < 0 || id >= vocabSize)
            throw Error(file.string() + ": token id " + idJson.dump() + " is outside the model's " + std::to_string(vocabSize) +
                        " embedding rows");
        v.tokens[std::size_t(id)] = token;
        if (!byteLevel && token.size() == 6 && token.rfind("<0x", 0) == 0 && token.back() == '>')
            v.tokenTypes[std::size_t(id)] = typeCode(GgufTokenType::Byte);
    }
    std::map<std::string, int> mergedRank;
    if (const auto it = model.find("merges"); it != model.end() && it->is_array())
        for (const auto& m : *it) {
            std::string merge;
            if (m.is_string()) merge = m.get<std::string>();
            else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
                merge = m[0].get<std::string>() + " " + m[1].get<std::string>();
            else throw Error(file.string() + ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
            if (byteLevel) v.merges.push_back(merge);
            else if (const auto sp = merge.find(' '); sp != std::string::npos)
                mergedRank.emplace(merge.substr(0, sp) + merge.substr(sp + 1), int(mergedRank.size()));
        }
    if (!byteLevel) {
        // A SentencePiece-style BPE: llama.cpp's "llama" tokenizer merges by score, so a token
        // made by an earlier merge must score higher.
        for (std::size_t id = 0; id < v.tokens.size(); ++id)
            if (const auto it = mergedRank.find(v.tokens[id]); it != mergedRank.end()) v.scores[id] = -float(it->second + 1);
        v.pre = "default";
        v.warnings.push_back("tokenizer.json: SentencePiece-style BPE without tokenizer.model; scores derived from the merge order");
    } else {
        v.pre = preTokenizerName(j.value("pre_tokenizer", Json()), v.warnings);
    }
    if (const auto it = j.find("added_tokens"); it != j.end() && it->is_array())
        for (const auto& a : *it) {
            const int id = a.value("id", -1);
            if (id < 0 || id >= vocabSize || !a.contains("content") || !a["content"].is_string())
                throw Error(file.string() + ": an added token is malformed or outside the model's vocabulary");
            const std::string content = a["content"].get<std::string>();
            v.tokens[std::size_t(id)] = content;
            v.tokenTypes[std::size_t(id)] =
                typeCode(a.value("special", false) || looksSpecial(content) ? GgufTokenType::Control : GgufTokenType::UserDefined);
            if (!v.scores.empty()) v.scores[std::size_t(id)] = -1000.0f;
        }
    if (model.contains("unk_token") && model["unk_token"].is_string())
        if (const auto it = model["vocab"].find(model["unk_token"].get<std::string>()); it != model["vocab"].end() && it->is_number_integer()) {
            v.unk = it->get<int>();
            v.tokenTypes[std::size_t(*v.unk)] = typeCode(GgufTokenType::Unknown);
        }
    padTo(v, vocabSize, -1000.0f);
    return v;
}

}  // namespace

GgufVocab readGgufVocab(const std::filesystem::path& modelDir, const ModelConfig& config, int vocabSize) {
    const bool hasModel = std::filesystem::exists(modelDir / "tokenizer.model");
    const bool hasJson = std::filesystem::exists(modelDir / "tokenizer.json");
    if (!hasModel && !hasJson) throw Error(modelDir.string() + ": no tokenizer.json or tokenizer.model");
    // As convert_hf_to_gguf.py: the SentencePiece model first (it has the scores llama.cpp needs).
    GgufVocab v = hasModel ? fromSentencePiece(modelDir, vocabSize) : fromTokenizerJson(modelDir, vocabSize);
    // BOS/EOS and whether BOS is added, as quantbench's tokenizer resolves them (config.json,
    // tokenizer_config.json, the post-processor template, the SentencePiece model).
    const auto tokenizer = Tokenizer::load(modelDir, config.bosTokenId, config.eosTokenId);
    v.bos = tokenizer->bos();
    v.eos = tokenizer->eos();
    v.addBos = tokenizer->addsBos();
    v.addEos = tokenizer->addsEos();
    for (const auto& id : {v.bos, v.eos})
        if (id && (*id < 0 || *id >= vocabSize))
            throw Error(modelDir.string() + ": BOS/EOS id " + std::to_string(*id) + " is outside the vocabulary");
    return v;
}

}  // namespace qb::core
