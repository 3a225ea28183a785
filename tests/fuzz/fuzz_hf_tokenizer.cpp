// Fuzz target: tokenizer.json with an optional tokenizer_config.json (the input holds both,
// split at kSplitMarker; without the marker there is no tokenizer_config.json). A tokenizer
// that loads then encodes a fixed text (ASCII, digits, accents, CJK, an emoji, whitespace
// runs, special-token spellings) and decodes the ids back, so the file's regexes, merges,
// normalizer and decoder all run.
#include <filesystem>

#include "core/text/hf_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
constexpr const char* kText =
    "Once upon a time, Lily's 3 cats ran 42km!  Caf\xc3\xa9 na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd "
    "\xf0\x9f\x98\x80\n\n\tend <s></s><|endoftext|>  x";
}

QB_FUZZ_TARGET(hf_tokenizer) {
    bool hasConfig = false;
    const auto [tokenizerJson, configJson] = qb::fuzz::splitInput(bytes, hasConfig);
    const std::filesystem::path dir = qb::fuzz::scratchDir() / "tokenizer";
    std::filesystem::create_directories(dir);
    qb::fuzz::scratchFile("tokenizer/tokenizer.json", tokenizerJson);
    if (hasConfig)
        qb::fuzz::scratchFile("tokenizer/tokenizer_config.json", configJson);
    else
        std::filesystem::remove(dir / "tokenizer_config.json");
    const auto tok = qb::core::text::HfTokenizer::load(dir);
    const std::vector<int> ids = tok->encode(kText);
    for (int id : ids)
        if (id < 0 || id >= tok->vocabSize()) std::abort();
    std::size_t n = tok->decode(ids).size() + tok->kindLabel().size();
    for (int id = 0; id < tok->vocabSize() && id < 64; ++id) n += tok->piece(id).size() + tok->pieceBytes(id).size();
    volatile std::size_t sink = n;
    (void)sink;
}
