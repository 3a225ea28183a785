#include "checkpoint_fixtures.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "support/test_support.h"

namespace qb::test {

namespace fs = std::filesystem;

namespace {

std::string readAll(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void writeAll(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), std::streamsize(text.size()));
}

// Replaces the first occurrence of `from` in text; aborts when absent (the fixture is stale).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    if (at == std::string::npos) {
        std::fprintf(stderr, "fixture: '%s' not found\n", from.c_str());
        std::abort();
    }
    return text.replace(at, from.size(), to);
}

void writeBundledWith(const fs::path& dir, std::vector<core::TensorBlob> blobs) {
    core::writeSafetensors(dir / "model.safetensors", blobs);
}

void poisonElement(const fs::path& dir, float value) {
    auto blobs = bundledBlobs();
    auto& down = blobNamed(blobs, "model.layers.2.mlp.down_proj.weight");
    std::memcpy(down.bytes.data() + 17 * sizeof(float), &value, sizeof(float));
    writeBundledWith(dir, blobs);
}

}  // namespace

fs::path modelFolderWithoutWeights(const std::string& tag) {
    const fs::path dir = freshScratchDir(tag);
    fs::copy_file(bundledModelDir() / "config.json", dir / "config.json");
    fs::copy_file(bundledModelDir() / "tokenizer.model", dir / "tokenizer.model");
    return dir;
}

void writeRawSafetensors(const fs::path& file, const std::string& header, std::size_t dataBytes,
                         std::optional<std::uint64_t> declaredHeaderLength) {
    const std::uint64_t len = declaredHeaderLength.value_or(header.size());
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((len >> (8 * i)) & 0xffu);  // little-endian
    bytes += header;
    bytes.append(dataBytes, '\0');
    writeAll(file, bytes);
}

std::vector<core::TensorBlob> bundledBlobs() {
    const auto file = core::SafetensorsFile::open(bundledModelDir() / "model.safetensors");
    std::vector<core::TensorBlob> blobs;
    for (const auto& t : file->tensors()) {
        core::TensorBlob b;
        b.name = t.name;
        b.dtype = t.dtype;
        b.shape = t.shape;
        b.bytes.assign(t.data, t.data + t.nbytes);
        blobs.push_back(std::move(b));
    }
    return blobs;
}

core::TensorBlob& blobNamed(std::vector<core::TensorBlob>& blobs, const std::string& name) {
    for (auto& b : blobs)
        if (b.name == name) return b;
    std::fprintf(stderr, "fixture: no tensor '%s' in the bundled model\n", name.c_str());
    std::abort();
}

fs::path craftCheckpoint(Defect defect, const std::string& tag) {
    const fs::path dir = modelFolderWithoutWeights(tag);
    const fs::path weights = dir / "model.safetensors";
    const auto copyWeights = [&] { fs::copy_file(bundledModelDir() / "model.safetensors", weights); };
    switch (defect) {
        case Defect::MissingConfig:
            copyWeights();
            fs::remove(dir / "config.json");
            break;
        case Defect::MissingWeights: break;
        case Defect::HeaderBeyondFile:
            writeRawSafetensors(weights, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 0, 4096);
            break;
        case Defect::HeaderAbsurd:
            writeRawSafetensors(weights, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16, 1ull << 40);
            break;
        case Defect::MalformedHeaderJson:
            writeRawSafetensors(weights, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16])", 16);
            break;
        case Defect::MalformedConfig:
            copyWeights();
            writeAll(dir / "config.json", replaced(readAll(dir / "config.json"), "\"hidden_size\": 64,", "\"hidden_size\": 64,,"));
            break;
        case Defect::UnknownDtype:
            writeRawSafetensors(weights, R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4);
            break;
        case Defect::SizeMismatch:
            writeRawSafetensors(weights, R"({"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,60]}})", 64);
            break;
        case Defect::OverlappingOffsets:
            writeRawSafetensors(weights,
                                R"({"a":{"dtype":"F32","shape":[16],"data_offsets":[0,64]},)"
                                R"("b":{"dtype":"F32","shape":[16],"data_offsets":[32,96]}})",
                                96);
            break;
        case Defect::Truncated: {
            const std::string whole = readAll(bundledModelDir() / "model.safetensors");
            writeAll(weights, whole.substr(0, 600000));
            break;
        }
        case Defect::MissingTensor: {
            auto blobs = bundledBlobs();
            std::erase_if(blobs, [](const auto& b) { return b.name == "model.layers.4.post_attention_layernorm.weight"; });
            writeBundledWith(dir, blobs);
            break;
        }
        case Defect::ShapeDisagrees: {
            auto blobs = bundledBlobs();
            auto& k = blobNamed(blobs, "model.layers.0.self_attn.k_proj.weight");
            k.shape = {64, 64};
            k.bytes.assign(64 * 64 * sizeof(float), std::byte{0});
            writeBundledWith(dir, blobs);
            break;
        }
        case Defect::IndexNamesMissingShard: {
            auto blobs = bundledBlobs();
            std::vector<core::TensorBlob> first;
            std::string map;
            for (std::size_t i = 0; i < blobs.size(); ++i) {
                const bool inFirst = i < blobs.size() / 2;
                map += (i ? ",\n    \"" : "\n    \"") + blobs[i].name + "\": \"model-0000" + (inFirst ? "1" : "2") +
                       "-of-00002.safetensors\"";
                if (inFirst) first.push_back(blobs[i]);
            }
            core::writeSafetensors(dir / "model-00001-of-00002.safetensors", first);
            writeAll(dir / "model.safetensors.index.json", "{\n  \"metadata\": {},\n  \"weight_map\": {" + map + "\n  }\n}\n");
            break;
        }
        case Defect::NanWeight: poisonElement(dir, std::numeric_limits<float>::quiet_NaN()); break;
        case Defect::InfWeight: poisonElement(dir, -std::numeric_limits<float>::infinity()); break;
        case Defect::MissingTokenizer:
            copyWeights();
            fs::remove(dir / "tokenizer.model");
            break;
        case Defect::BosOutsideVocabulary:
            copyWeights();
            writeAll(dir / "config.json", replaced(readAll(dir / "config.json"), "\"bos_token_id\": 1,", "\"bos_token_id\": 600,"));
            break;
    }
    return dir;
}

std::optional<std::string> loadFailure(const fs::path& dir) {
    try {
        const auto ckpt = core::Checkpoint::open(dir);
        const auto model = core::LlamaModel::load(ckpt);
        const auto tokenizer = core::Tokenizer::load(dir, ckpt->config().bosTokenId, ckpt->config().eosTokenId);
    } catch (const core::Error& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

}  // namespace qb::test
