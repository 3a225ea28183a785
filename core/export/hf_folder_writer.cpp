#include <chrono>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/export/fused_shards.h"
#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/io/checkpoint.h"
#include "core/kernels/fp16_linear.h"
#include "core/io/safetensors_stream_writer.h"
#include "core/model/embedding_head.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

std::string hfExportFormatName(HfExportFormat f) {
    switch (f) {
        case HfExportFormat::Gptq: return "gptq";
        case HfExportFormat::Awq: return "awq";
        case HfExportFormat::CompressedTensors: return "compressed-tensors";
        case HfExportFormat::Float16: return "f16";
        case HfExportFormat::BFloat16: return "bf16";
    }
    return {};
}

std::optional<HfExportFormat> parseHfExportFormat(const std::string& name) {
    for (HfExportFormat f : {HfExportFormat::Gptq, HfExportFormat::Awq, HfExportFormat::CompressedTensors, HfExportFormat::Float16,
                             HfExportFormat::BFloat16})
        if (name == hfExportFormatName(f)) return f;
    return std::nullopt;
}

int HfExportReport::keptF16() const {
    int n = 0;
    for (const auto& m : modules) n += !m.note.empty();
    return n;
}

std::vector<TensorBlob> f16ModuleTensors(const std::string& name, const Linear& linear) {
    std::vector<TensorBlob> v;
    const MatrixRM W = linear.denseWeight();
    v.push_back(makeFloatBlob(name + ".weight", {W.rows(), W.cols()}, W.data(), DType::F16));
    if (const auto& b = linear.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), DType::F16));
    return v;
}

namespace {

TensorBlob f32Vector(const std::string& name, const VectorF& v) { return makeFloatBlob(name, {v.size()}, v.data(), DType::F32); }

// model.safetensors, streamed: declared first (each layer's tensors built once to learn their
// shapes), then written layer by layer, so one layer's tensors are in memory at a time.
void writeTensors(const LlamaModel& m, DType embedType, const HfFolderPlan& plan, const fs::path& file, const RunContext* ctx) {
    const ModelConfig& c = m.config();
    auto layerTensors = [&](int i) {
        std::vector<TensorBlob> v;
        const auto L = m.layer(i);
        const std::string p = "model.layers." + std::to_string(i) + ".";
        v.push_back(f32Vector(p + "input_layernorm.weight", L->inputNorm));  // SmoothQuant's folded scales included
        v.push_back(f32Vector(p + "post_attention_layernorm.weight", L->postAttentionNorm));
        if (L->qNorm.size() > 0) v.push_back(f32Vector(p + "self_attn.q_norm.weight", L->qNorm));
        if (L->kNorm.size() > 0) v.push_back(f32Vector(p + "self_attn.k_norm.weight", L->kNorm));
        for (ModuleKind k : kAllModuleKinds)
            for (auto& b : plan.moduleTensors(moduleName(i, k), *L->linear(k))) v.push_back(std::move(b));
        return v;
    };
    const std::int64_t vocab = c.vocabSize, hidden = c.hiddenSize;
    std::vector<TensorDecl> decls{{"model.embed_tokens.weight", embedType, {vocab, hidden}}, {"model.norm.weight", DType::F32, {hidden}}};
    if (!c.tieWordEmbeddings) decls.push_back({"lm_head.weight", embedType, {vocab, hidden}});
    for (int i = 0; i < c.numLayers; ++i) {
        if (ctx) ctx->throwIfStopped();
        for (const auto& b : layerTensors(i)) decls.push_back({b.name, b.dtype, b.shape});
    }
    SafetensorsStreamWriter out(file, decls, {{"format", "pt"}, {"quantized_by", "quantbench " QB_VERSION}});
    auto table = [&](const std::function<void(Index, Index, float*)>& rowsOf) {
        std::vector<float> buf;
        for (Index r0 = 0; r0 < vocab; r0 += 1024) {
            const Index rows = std::min<Index>(1024, vocab - r0);
            buf.resize(std::size_t(rows * hidden));
            rowsOf(r0, rows, buf.data());
            const TensorBlob b = makeFloatBlob("rows", {rows, hidden}, buf.data(), embedType);
            out.append(b.bytes.data(), b.bytes.size());
        }
    };
    table([&](Index r0, Index rows, float* dst) { m.embedding().rows(r0, rows, dst); });
    const TensorBlob norm = f32Vector("model.norm.weight", m.finalNorm());
    out.append(norm.bytes.data(), norm.bytes.size());
    if (!c.tieWordEmbeddings) {
        if (const auto* e = dynamic_cast<const EmbeddingHead*>(&m.lmHead())) {
            table([&](Index r0, Index rows, float* dst) { e->table()->rows(r0, rows, dst); });
        } else {
            const MatrixRM W = m.lmHead().denseWeight();
            table([&](Index r0, Index rows, float* dst) { std::memcpy(dst, W.row(r0).data(), std::size_t(rows * hidden) * sizeof(float)); });
        }
    }
    for (int i = 0; i < c.numLayers; ++i) {
        if (ctx) {
            ctx->throwIfStopped();
            ctx->progress(double(i) / c.numLayers, "export layer " + std::to_string(i));
        }
        for (const auto& b : layerTensors(i)) out.append(b.bytes.data(), b.bytes.size());
    }
    out.commit();
}

}  // namespace

HfExportReport writeHfFolder(const LlamaModel& model, const fs::path& modelDir, const fs::path& outDir, const HfFolderPlan& plan,
                             const RunContext* ctx) {
    const auto start = std::chrono::steady_clock::now();
    checkQuantizedCheckpointOutput(outDir);
    std::error_code ec;
    const fs::path tmp = atomicTempPath(outDir);  // "<outDir>.tmp-<pid>"; what killed runs left is swept
    fs::remove_all(tmp, ec);                      // our own pid's, from a run before a pid wrapped round
    if (!fs::create_directory(tmp, ec)) throw Error(tmp.string() + ": cannot create (" + ec.message() + ")");
    HfExportReport report = plan.report;
    try {
        const DType embedType = sourceEmbeddingDtype(modelDir);
        OrderedJson config = readOrderedJsonFile(modelDir / "config.json", kConfigJsonLimits);
        config["torch_dtype"] = plan.torchDtype;  // GPTQ/AWQ scales are F16; the kernels run in F16
        if (plan.quantizationConfigJson.empty()) config.erase("quantization_config");
        else config["quantization_config"] = OrderedJson::parse(plan.quantizationConfigJson);
        writeTextFile(tmp / "config.json", config.dump(2) + "\n");
        if (!plan.extraFileName.empty()) writeTextFile(tmp / plan.extraFileName, plan.extraFileJson + "\n");
        writeTensors(model, embedType, plan, tmp / "model.safetensors", ctx);
        for (const char* f : {"tokenizer.model", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json"})
            if (fs::exists(modelDir / f)) fs::copy_file(modelDir / f, tmp / f, fs::copy_options::overwrite_existing);
        OrderedJson r;
        r["format"] = hfExportFormatName(report.format);
        r["variant"] = report.variant;
        r["source"] = modelDir.string();
        for (const auto& m : report.modules) r["modules"].push_back({{"name", m.name}, {"storage", m.storage}, {"note", m.note}});
        r["warnings"] = report.warnings;
        writeTextFile(tmp / "quantbench_export.json", r.dump(2) + "\n");
        if (ctx) ctx->throwIfStopped();
        if (fs::exists(outDir)) fs::remove(outDir);  // the empty folder checked above
        fs::rename(tmp, outDir);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
    report.dir = outDir;
    for (const auto& e : fs::directory_iterator(outDir))
        if (e.is_regular_file()) report.bytes += e.file_size();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

HfFolderPlan planHfExport(const LlamaModel& model, const HfExportOptions& options) {
    HfFolderPlan plan;
    switch (options.format) {
        case HfExportFormat::Gptq: plan = planGptqExport(model, options); break;
        case HfExportFormat::Awq: plan = planAwqExport(model); break;
        case HfExportFormat::CompressedTensors: plan = planCompressedTensorsExport(model); break;
        case HfExportFormat::Float16: plan = planFloatExport(model, DType::F16); break;
        case HfExportFormat::BFloat16: plan = planFloatExport(model, DType::BF16); break;
    }
    plan.report.format = options.format;
    for (auto& w : vllmFusedShardWarnings(plan.report.modules)) plan.report.warnings.push_back(std::move(w));
    return plan;
}

HfExportReport exportHf(const LlamaModel& model, const fs::path& modelDir, const fs::path& outDir, const HfExportOptions& options,
                        const RunContext* ctx) {
    bool quantized = false;
    for (int i = 0; i < model.config().numLayers && !quantized; ++i)
        for (ModuleKind k : kAllModuleKinds) {
            const Linear* l = model.layer(i)->linear(k).get();
            quantized = quantized || (!dynamic_cast<const Fp16Linear*>(l) && !dynamic_cast<const DenseLinear*>(l));
        }
    const bool floatFormat = options.format == HfExportFormat::Float16 || options.format == HfExportFormat::BFloat16;
    if (!quantized && !floatFormat) throw Error(modelDir.string() + ": no module is quantized; quantize it first (quantbench-cli quantize)");
    checkQuantizedCheckpointOutput(outDir);  // before any packing
    const auto start = std::chrono::steady_clock::now();
    const HfFolderPlan plan = planHfExport(model, options);
    HfExportReport r = writeHfFolder(model, modelDir, outDir, plan, ctx);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace qb::core
