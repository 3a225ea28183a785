// Fuzz target: the quantization metadata of a quantized checkpoint's config.json — the
// GPTQ keys (bits, group_size, sym, checkpoint_format), GPTQModel's "dynamic" regex overrides
// and quantization_config.quantbench.modules — as quantizedLinearFactory reads it. The input
// is the whole config.json; the weights are fixed: fixtures/quantized_layer1.safetensors, the
// seven projections of layer 1 of the bundled model quantized by quantize with a mixed plan
// (RTN 3/4/8-bit GPTQ layout with and without groups, w8a8, llm_int8 with FP columns, fp16).
// Each module is built with the shape config.json implies (as LlamaModel::load does) and run
// forward on two rows.
#include <filesystem>

#include "core/io/checkpoint.h"
#include "core/model/decoder_layer.h"
#include "core/model/linear.h"
#include "core/quant/quantized_checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
using qb::core::Index;
using qb::core::ModuleKind;

const std::filesystem::path& fixtureFolder() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path d = qb::fuzz::scratchDir() / "quantized";
        fs::create_directories(d);
        fs::copy_file(fs::path(QB_SOURCE_DIR) / "tests/fuzz/fixtures/quantized_layer1.safetensors", d / "model.safetensors",
                      fs::copy_options::overwrite_existing);
        return d;
    }();
    return dir;
}

// [out, in] of a module, as core/model/llama_model.cpp's moduleShape.
std::pair<Index, Index> shapeOf(const qb::core::ModelConfig& c, ModuleKind kind) {
    const Index q = Index(c.numHeads) * c.headDim;
    const Index kv = Index(c.numKvHeads) * c.headDim;
    switch (kind) {
        case ModuleKind::Q: return {q, c.hiddenSize};
        case ModuleKind::K:
        case ModuleKind::V: return {kv, c.hiddenSize};
        case ModuleKind::O: return {c.hiddenSize, q};
        case ModuleKind::Gate:
        case ModuleKind::Up: return {c.intermediateSize, c.hiddenSize};
        case ModuleKind::Down: return {c.hiddenSize, c.intermediateSize};
    }
    return {0, 0};
}
}  // namespace

QB_FUZZ_TARGET(quantized_checkpoint) {
    const std::filesystem::path dir = fixtureFolder();
    qb::fuzz::scratchFile("quantized/config.json", bytes);
    const auto ckpt = qb::core::Checkpoint::open(dir);
    const qb::core::LinearFactory factory = qb::core::quantizedLinearFactory(ckpt->config(), (dir / "config.json").string());
    if (!factory) return;
    double sum = 0;
    for (ModuleKind kind : qb::core::kAllModuleKinds) {
        const auto [out, in] = shapeOf(ckpt->config(), kind);
        const qb::core::LinearPtr linear = factory(*ckpt, qb::core::moduleName(1, kind), out, in);
        if (!linear || linear->outFeatures() != out || linear->inFeatures() != in) std::abort();
        const qb::core::MatrixRM X = qb::core::MatrixRM::Ones(2, in);
        qb::core::MatrixRM Y;
        linear->forward(X, Y);
        if (Y.rows() != 2 || Y.cols() != out) std::abort();
        sum += double(Y.sum()) + double(linear->storageBytes());
    }
    volatile double sink = sum;
    (void)sink;
}
