#include "export_fixtures.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace qb::test {

namespace {

std::string utf8(unsigned cp) {
    std::string s;
    if (cp < 0x80) s += char(cp);
    else if (cp < 0x800) {
        s += char(0xc0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3f));
    } else {
        s += char(0xe0 | (cp >> 12));
        s += char(0x80 | ((cp >> 6) & 0x3f));
        s += char(0x80 | (cp & 0x3f));
    }
    return s;
}

// GPT-2's printable stand-in for each byte: printable Latin-1 bytes stand for themselves, the
// others take code points 256, 257, ... in byte order.
std::string byteSymbol(unsigned b) {
    auto printable = [](unsigned c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255); };
    if (printable(b)) return utf8(b);
    unsigned n = 0;
    for (unsigned c = 0; c < b; ++c) n += !printable(c);
    return utf8(256 + n);
}

}  // namespace

std::filesystem::path familyModelWithTokenizer(const std::string& name) {
    const auto src = std::filesystem::path(QB_FIXTURES_DIR) / "families" / name;
    const auto dir = freshScratchDir("gguf-family-" + name);
    for (const auto& e : std::filesystem::directory_iterator(src))
        if (e.path().filename() != "reference.safetensors") std::filesystem::copy_file(e.path(), dir / e.path().filename());
    nlohmann::json config;
    std::ifstream(dir / "config.json") >> config;
    const int bos = config["bos_token_id"].get<int>();
    const int eos = config["eos_token_id"].is_array() ? config["eos_token_id"][0].get<int>() : config["eos_token_id"].get<int>();
    const int base = std::max(bos, eos) < 256 ? std::max(bos, eos) + 1 : 0;  // byte tokens clear of BOS/EOS
    nlohmann::ordered_json vocab;
    for (unsigned b = 0; b < 256; ++b) vocab[byteSymbol(b)] = base + int(b);
    vocab[byteSymbol(' ') + "t"] = 310;  // merges clear of every fixture's BOS/EOS (at most 291)
    vocab["he"] = 311;
    nlohmann::ordered_json tok = {
        {"version", "1.0"},
        {"added_tokens",
         {{{"id", bos}, {"content", "<|bos|>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}},
          {{"id", eos}, {"content", "<|eos|>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}}}},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
          {"merges", {byteSymbol(' ') + " t", "h e"}}}}};
    std::ofstream(dir / "tokenizer.json") << tok.dump(1);
    return dir;
}

}  // namespace qb::test
