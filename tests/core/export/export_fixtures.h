#pragma once
// Model folders for the GGUF export tests: a family fixture (tests/fixtures/families) copied
// with a small byte-level BPE tokenizer.json made here, since the fixtures have no tokenizer.

#include <filesystem>
#include <string>

namespace qb::test {

/// A fresh folder with the family fixture `name` and a tokenizer.json of its vocabulary size
/// (256 GPT-2 byte symbols, two merges, BOS/EOS as special added tokens at the config's ids).
std::filesystem::path familyModelWithTokenizer(const std::string& name);

}  // namespace qb::test
