#include "core/export/hf_export_util.h"

#include <cstring>

#include "core/io/checkpoint.h"
#include "core/kernels/fp16_linear.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"

namespace qb::core {

std::vector<std::pair<std::string, std::shared_ptr<const Linear>>> linearModules(const LlamaModel& model) {
    std::vector<std::pair<std::string, std::shared_ptr<const Linear>>> v;
    for (int i = 0; i < model.config().numLayers; ++i) {
        // A streamed model drops a layer once nothing holds it: the list shares each module.
        const auto L = model.layer(i);
        for (ModuleKind k : kAllModuleKinds) v.emplace_back(moduleName(i, k), L->linear(k));
    }
    return v;
}

void refuseInt8Module(const std::string& name, const Linear& linear, const std::string& formatName) {
    if (const auto* q = dynamic_cast<const QuantizedLinear*>(&linear); q && q->actBits())
        throw Error(formatName + " export: " + name + " is " + linear.format() + " (OmniQuant with per-token activations), which " +
                    formatName + " has no layout for; it stays in quantbench's own checkpoint (GGUF takes its weights, without the activations' quantization)");
    if (dynamic_cast<const QuantizedLinear*>(&linear) || dynamic_cast<const Fp16Linear*>(&linear) || dynamic_cast<const DenseLinear*>(&linear))
        return;
    throw Error(formatName + " export: " + name + " is " + linear.format() + " (int8 weights with int8 activations), which " + formatName +
                " has no layout for; quantize it with rtn, gptq or awq, keep it fp16, or export to compressed-tensors");
}

DType sourceEmbeddingDtype(const std::filesystem::path& modelDir) {
    const auto source = Checkpoint::open(modelDir);  // t points into it: it stays open while t is read
    const TensorInfo* t = source->find("model.embed_tokens.weight");
    return t && (t->dtype == DType::F16 || t->dtype == DType::BF16) ? t->dtype : DType::F32;
}

void keepF16(HfExportReport& report, const std::string& name, const std::string& was, const std::string& why, const std::string& formatName) {
    report.modules.push_back({name, "F16", was + ": " + why});
    report.warnings.push_back(name + " (" + was + ") stays F16: " + why + ", which the " + formatName + " packing cannot hold");
}

TensorBlob int32Blob(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int32_t>& data) {
    TensorBlob b{std::move(name), DType::I32, std::move(shape), {}};
    b.bytes.resize(data.size() * 4);
    std::memcpy(b.bytes.data(), data.data(), b.bytes.size());
    return b;
}

TensorBlob f16BitsBlob(std::string name, std::vector<std::int64_t> shape, const std::vector<std::uint16_t>& data) {
    TensorBlob b{std::move(name), DType::F16, std::move(shape), {}};
    b.bytes.resize(data.size() * 2);
    std::memcpy(b.bytes.data(), data.data(), b.bytes.size());
    return b;
}

}  // namespace qb::core
