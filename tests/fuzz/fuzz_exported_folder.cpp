// Fuzz target: the readers of exported Hugging Face folders that check-export runs
// (core/export/readers: HfFolder, then the GPTQ, AWQ, compressed-tensors or float reader that
// quantization_config.quant_method picks). The input is one folder: config.json, then
// kSplitMarker, then model.safetensors (no marker: a folder without weights). The reference
// model is fixed, as check-export's --model is: the bundled stories260K, whose layer 0 gives
// the seven modules' [out, in] below. Every module is decoded, each on its own (a refused
// module does not hide the next), and a decoded one must have the shape asked for.
#include <filesystem>

#include "core/export/readers/exported_folder_reader.h"
#include "core/util/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
using qb::core::Index;

struct Module {
    const char* name;
    Index out, in;
};
// resources/models/stories260K: hidden 64, intermediate 172, 8 heads and 4 KV heads of 8.
constexpr Module kLayer0[] = {
    {"model.layers.0.self_attn.q_proj", 64, 64},  {"model.layers.0.self_attn.k_proj", 32, 64},
    {"model.layers.0.self_attn.v_proj", 32, 64},  {"model.layers.0.self_attn.o_proj", 64, 64},
    {"model.layers.0.mlp.gate_proj", 172, 64},    {"model.layers.0.mlp.up_proj", 172, 64},
    {"model.layers.0.mlp.down_proj", 64, 172},
};
}  // namespace

QB_FUZZ_TARGET(exported_folder) {
    namespace fs = std::filesystem;
    bool hasWeights = false;
    const auto [config, weights] = qb::fuzz::splitInput(bytes, hasWeights);
    const fs::path dir = qb::fuzz::scratchDir() / "exported";
    fs::create_directories(dir);
    qb::fuzz::scratchFile("exported/config.json", config);
    if (hasWeights) qb::fuzz::scratchFile("exported/model.safetensors", weights);
    else fs::remove(dir / "model.safetensors");

    const auto reader = qb::core::openExportedFolder(dir);
    double sum = double(reader->format().size() + reader->variant().size());
    for (const Module& m : kLayer0) {
        try {
            const qb::core::DecodedLinear d = reader->linear(m.name, m.out, m.in);
            if (d.weight.rows() != m.out || d.weight.cols() != m.in || (d.bias && d.bias->size() != m.out)) std::abort();
            sum += double(d.weight.sum()) + double(d.storage.size());
        } catch (const qb::core::Error&) {
            // refused: the next module is still read
        }
    }
    volatile double sink = sum;
    (void)sink;
}
