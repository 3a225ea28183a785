#pragma once
// Crafted checkpoint folders for the validation tests (tests/core/io) and the CLI process
// tests (tests/app): each Defect is one way a Hugging Face folder can be broken. Folders are
// built from the bundled stories260K model in a fresh scratch folder, so every defect is the
// only thing wrong with its folder.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/io/safetensors_file.h"

namespace qb::test {

enum class Defect {
    MissingConfig,          ///< no config.json
    MissingWeights,         ///< no model.safetensors and no index
    HeaderBeyondFile,       ///< header length 4096 in a 64-byte file
    HeaderAbsurd,           ///< header length 2^40
    MalformedHeaderJson,    ///< header text is not JSON
    MalformedConfig,        ///< config.json is not JSON
    UnknownDtype,           ///< dtype "F8_E4M3"
    SizeMismatch,           ///< F32 [4, 4] with a 60-byte range
    OverlappingOffsets,     ///< two tensors share bytes 32..64
    Truncated,              ///< the real model.safetensors cut to 600,000 bytes
    MissingTensor,          ///< model.layers.4.post_attention_layernorm.weight left out
    ShapeDisagrees,         ///< k_proj of layer 0 is [64, 64], config implies [32, 64]
    IndexNamesMissingShard, ///< index.json names a second shard that is not there
    NanWeight,              ///< layer 2 down_proj element 17 is NaN
    InfWeight,              ///< layer 2 down_proj element 17 is -Inf
    MissingTokenizer,       ///< no tokenizer.model
    BosOutsideVocabulary,   ///< config.json bos_token_id 600, vocabulary 512
};

/// A fresh folder under test-scratch/<tag> holding the bundled model with `defect`.
std::filesystem::path craftCheckpoint(Defect defect, const std::string& tag);

/// A fresh folder with the bundled config.json and tokenizer.model and nothing else.
std::filesystem::path modelFolderWithoutWeights(const std::string& tag);

/// Writes a .safetensors file by hand: 8-byte little-endian `declaredHeaderLength` (the real
/// length of `header` when unset), the header text, then `dataBytes` zero bytes.
void writeRawSafetensors(const std::filesystem::path& file, const std::string& header, std::size_t dataBytes,
                         std::optional<std::uint64_t> declaredHeaderLength = std::nullopt);

/// Every tensor of the bundled model.safetensors as an F32 blob (HF names, file order).
std::vector<core::TensorBlob> bundledBlobs();

/// The blob named name; QFAIL-style abort (std::abort) when absent — fixtures only.
core::TensorBlob& blobNamed(std::vector<core::TensorBlob>& blobs, const std::string& name);

/// Runs what `quantbench-cli eval` runs before scoring — Checkpoint::open, LlamaModel::load,
/// Tokenizer::load with the config's BOS/EOS — and returns the qb::core::Error message, or
/// nullopt when everything loaded.
std::optional<std::string> loadFailure(const std::filesystem::path& dir);

}  // namespace qb::test
