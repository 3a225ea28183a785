#include "core/quant/quantized_checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/io/safetensors_stream_writer.h"
#include "core/kernels/fp16_linear.h"
#include "core/model/embedding_head.h"
#include "core/quant/gptq_dynamic.h"
#include "core/quant/gptq_pack.h"
#include "core/text/regex.h"
#include "core/quant/llm_int8.h"
#include "core/quant/method_registry.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

namespace {

bool isWeightOnly(QuantMethod m) { return methodInfo(m).weightOnly; }
// A module that GPTQ loaders read as they should: weight-only grids, not the weight-activation
// grid schemes (their per-token activations are this project's only).
bool inGptqLayout(const QuantScheme& s) { return isWeightOnly(s.method) && !s.gridActBits; }

template <class T>
TensorBlob rawBlob(std::string name, DType dtype, std::vector<std::int64_t> shape, const std::vector<T>& data) {
    TensorBlob b;
    b.name = std::move(name);
    b.dtype = dtype;
    b.shape = std::move(shape);
    b.bytes.resize(data.size() * sizeof(T));
    std::memcpy(b.bytes.data(), data.data(), b.bytes.size());
    return b;
}

TensorBlob floatBlob(const std::string& name, const MatrixRM& m, DType dtype) {
    return makeFloatBlob(name, {m.rows(), m.cols()}, m.data(), dtype);
}

TensorBlob vectorBlob(const std::string& name, const VectorF& v, DType dtype) {
    return makeFloatBlob(name, {v.size()}, v.data(), dtype);
}

// The int8 codes [rows, cols] without the kernels' row padding.
TensorBlob int8Blob(const std::string& name, const Int8RowQuantized& W) {
    std::vector<std::int8_t> q(std::size_t(W.rows * W.cols));
    for (Index r = 0; r < W.rows; ++r)
        std::copy_n(W.codes.begin() + std::ptrdiff_t(r * W.stride), W.cols, q.begin() + std::ptrdiff_t(r * W.cols));
    return rawBlob(name, DType::I8, {W.rows, W.cols}, q);
}

OrderedJson schemeEntry(const QuantScheme& s) {
    OrderedJson j;
    j["method"] = methodName(s.method);
    if (isWeightOnly(s.method)) {
        j["bits"] = s.grid.bits;
        j["group_size"] = s.grid.groupSize ? *s.grid.groupSize : -1;
        j["sym"] = s.grid.sym;
        j["desc_act"] = s.method == QuantMethod::Gptq && s.gptq.actOrder;
        if (s.gridActBits) j["act_bits"] = *s.gridActBits;  // per-token activations
    } else if (s.method == QuantMethod::W8A8 || s.method == QuantMethod::SmoothQuant) {
        j["act_bits"] = s.smooth.actBits;
    } else if (s.method == QuantMethod::LlmInt8) {
        j["threshold"] = s.llmInt8.threshold;
    }
    return j;
}

// Appends the tensors of one linear module. shapesOnly: grid modules get their GPTQ tensors'
// names, dtypes and shapes without bytes (no unpacking or packing: the writer's first pass).
void addLinear(const std::string& name, const Linear& linear, GptqZeroFormat zeroFormat, std::vector<TensorBlob>& out,
               bool shapesOnly = false) {
    if (const auto* q = dynamic_cast<const QuantizedLinear*>(&linear); q && shapesOnly) {
        const GptqTensors t = gptqShapes(q->spec().bits, q->spec().groupSize, q->inFeatures(), q->outFeatures());
        out.push_back({name + ".qweight", DType::I32, {t.qweightShape[0], t.qweightShape[1]}, {}});
        out.push_back({name + ".qzeros", DType::I32, {t.qzerosShape[0], t.qzerosShape[1]}, {}});
        out.push_back({name + ".scales", DType::F16, {t.scalesShape[0], t.scalesShape[1]}, {}});
        out.push_back({name + ".g_idx", DType::I32, {t.gIdxSize}, {}});
        if (q->bias()) out.push_back({name + ".bias", DType::F16, {q->outFeatures()}, {}});
    } else if (q) {
        const GptqTensors t = packGptq(q->weight(), zeroFormat);
        out.push_back(rawBlob(name + ".qweight", DType::I32, {t.qweightShape[0], t.qweightShape[1]}, t.qweight));
        out.push_back(rawBlob(name + ".qzeros", DType::I32, {t.qzerosShape[0], t.qzerosShape[1]}, t.qzeros));
        out.push_back(rawBlob(name + ".scales", DType::F16, {t.scalesShape[0], t.scalesShape[1]}, t.scalesF16));
        out.push_back(rawBlob(name + ".g_idx", DType::I32, {t.gIdxSize}, t.g_idx));
        if (q->bias()) out.push_back(vectorBlob(name + ".bias", *q->bias(), DType::F16));
    } else if (const auto* w = dynamic_cast<const W8A8Linear*>(&linear)) {
        out.push_back(int8Blob(name + ".weight", w->quantizedWeight()));
        out.push_back(vectorBlob(name + ".weight_scale", w->quantizedWeight().scales, DType::F32));
        if (w->bias()) out.push_back(vectorBlob(name + ".bias", *w->bias(), DType::F32));
    } else if (const auto* l = dynamic_cast<const LlmInt8Linear*>(&linear)) {
        out.push_back(int8Blob(name + ".weight", l->quantizedWeight()));
        out.push_back(vectorBlob(name + ".weight_scale", l->quantizedWeight().scales, DType::F32));
        if (!l->fpColumns().empty()) {
            std::vector<std::int32_t> cols(l->fpColumns().begin(), l->fpColumns().end());
            out.push_back(rawBlob(name + ".fp_columns", DType::I32, {Index(cols.size())}, cols));
            out.push_back(rawBlob(name + ".fp_weight", DType::F16, {linear.outFeatures(), Index(cols.size())}, l->fpWeightF16()));
        }
        if (l->bias()) out.push_back(vectorBlob(name + ".bias", *l->bias(), DType::F32));
    } else {
        // fp16 method (Fp16Linear): the weight and bias are F16-exact, so the F16 tensors hold them exactly.
        out.push_back(floatBlob(name + ".weight", linear.denseWeight(), DType::F16));
        if (linear.bias()) out.push_back(vectorBlob(name + ".bias", *linear.bias(), DType::F16));
    }
}

}  // namespace

void checkQuantizedCheckpointOutput(const fs::path& outDir) {
    std::error_code ec;
    if (fs::exists(outDir) && !(fs::is_directory(outDir) && fs::is_empty(outDir, ec)))
        throw Error(outDir.string() + ": already exists and is not an empty folder (choose another --out or remove it)");
    const fs::path parent = outDir.has_parent_path() ? outDir.parent_path() : fs::path(".");
    if (!fs::is_directory(parent)) throw Error(outDir.string() + ": the parent folder does not exist");
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
        throw Error(outDir.string() + ": the parent folder is not writable (" + std::strerror(errno) + ")");
}

void writeQuantizedCheckpoint(const QuantizeResult& result, const QuantPlan& plan, const fs::path& sourceDir,
                              const fs::path& outDir, const RunContext& ctx) {
    if (!result.model) throw Error("export: no quantized model");
    const LlamaModel& m = *result.model;
    writeQuantizedCheckpoint(m, [&m](int i) { return m.layer(i); }, result, plan, sourceDir, outDir, ctx);
}

void writeQuantizedCheckpoint(const LlamaModel& base, const QuantizedLayerSource& layers, const QuantizeResult& result,
                              const QuantPlan& plan, const fs::path& sourceDir, const fs::path& outDir, const RunContext& ctx) {
    checkQuantizedCheckpointOutput(outDir);
    std::error_code ec;
    const fs::path tmp = atomicTempPath(outDir);
    fs::remove_all(tmp, ec);
    if (!fs::create_directory(tmp, ec)) throw Error(tmp.string() + ": cannot create (" + ec.message() + ")");
    try {
        const LlamaModel& m = base;  // the embedding, final norm and output head
        const ModelConfig& c = m.config();
        const DType embedType = [&] {
            const auto src = Checkpoint::open(sourceDir);
            const TensorInfo* t = src->find("model.embed_tokens.weight");
            return t && (t->dtype == DType::F16 || t->dtype == DType::BF16) ? t->dtype : DType::F32;
        }();

        // The layers' tensors: one layer at a time, packed with the zero-point convention f.
        auto layerTensors = [&](const DecoderLayer& L, GptqZeroFormat f, bool shapesOnly = false) {
            std::vector<TensorBlob> v;
            const std::string p = "model.layers." + std::to_string(L.index) + ".";
            v.push_back(vectorBlob(p + "input_layernorm.weight", L.inputNorm, DType::F32));
            v.push_back(vectorBlob(p + "post_attention_layernorm.weight", L.postAttentionNorm, DType::F32));
            if (L.qNorm.size() > 0) v.push_back(vectorBlob(p + "self_attn.q_norm.weight", L.qNorm, DType::F32));
            if (L.kNorm.size() > 0) v.push_back(vectorBlob(p + "self_attn.k_norm.weight", L.kNorm, DType::F32));
            for (ModuleKind k : kAllModuleKinds) addLinear(moduleName(L.index, k), *L.linear(k), f, v, shapesOnly);
            return v;
        };
        auto layerAt = [&](int i) {
            auto L = layers(i);
            if (!L || L->index != i) throw Error("export: quantized layer " + std::to_string(i) + " is missing");
            return L;
        };

        // First pass over the layers (each taken, scanned and dropped): the declarations of their
        // tensors, and the zero-point convention. v1 cannot hold a zero point of 0 (an asymmetric
        // group without a negative weight): then the whole checkpoint uses v2, so every group
        // decodes as it was evaluated. The shapes do not depend on the convention. Modules that
        // the standard layout cannot hold (widths not multiples of 32) stay padded here and are noted.
        GptqZeroFormat zeroFormat = GptqZeroFormat::V1;
        std::map<std::string, std::string> nonStandard;
        std::vector<TensorDecl> layerDecls;
        for (int i = 0; i < c.numLayers; ++i) {
            ctx.throwIfStopped();
            const auto L = layerAt(i);
            for (ModuleKind k : kAllModuleKinds)
                if (const auto* ql = dynamic_cast<const QuantizedLinear*>(L->linear(k).get())) {
                    const QuantizedWeight w = ql->weight();
                    if (gptqZeroPointsBelowOne(w) > 0) zeroFormat = GptqZeroFormat::V2;
                    if (auto why = gptqStandardLayoutProblem(w.bits, w.groupSize, w.cols, w.rows); !why.empty())
                        nonStandard[moduleName(i, k)] = std::move(why);
                }
            for (const auto& b : layerTensors(*L, zeroFormat, true)) layerDecls.push_back({b.name, b.dtype, b.shape});
        }

        // config.json: the source config plus quantization_config.
        OrderedJson config = readOrderedJsonFile(sourceDir / "config.json", kConfigJsonLimits);
        const QuantScheme& d = plan.defaultScheme;
        bool allGptqLayout = true;
        for (const auto& r : result.modules) allGptqLayout = allGptqLayout && (inGptqLayout(r.scheme) || r.scheme.method == QuantMethod::Fp16);
        OrderedJson q;
        q["quant_method"] = allGptqLayout ? "gptq" : "quantbench";
        q["checkpoint_format"] = gptqCheckpointFormatName(zeroFormat);
        q["bits"] = d.grid.bits;
        q["group_size"] = d.grid.groupSize ? *d.grid.groupSize : -1;
        q["desc_act"] = d.method == QuantMethod::Gptq && d.gptq.actOrder;
        q["sym"] = d.grid.sym;
        OrderedJson dynamic = OrderedJson::object();
        OrderedJson modules = OrderedJson::object();
        const OrderedJson defaultEntry = schemeEntry(d);
        for (const auto& r : result.modules) {
            OrderedJson e = schemeEntry(r.scheme);
            if (const auto it = nonStandard.find(r.name); it != nonStandard.end()) e["standard_layout"] = it->second;
            modules[r.name] = e;
            const std::string re = std::string("^").append(escapeRegex(r.name)).append("$");
            if (r.scheme.method == QuantMethod::Fp16 || !inGptqLayout(r.scheme))
                dynamic["-:" + re] = OrderedJson::object();  // not in GPTQ layout: GPTQ loaders must skip it
            else if (!isWeightOnly(d.method) || e["bits"] != defaultEntry.value("bits", OrderedJson()) ||
                     e["group_size"] != defaultEntry.value("group_size", OrderedJson()) || e["sym"] != defaultEntry.value("sym", OrderedJson()) ||
                     e["desc_act"] != defaultEntry.value("desc_act", OrderedJson()))
                dynamic["+:" + re] = {{"bits", e["bits"]}, {"group_size", e["group_size"]}, {"sym", e["sym"]}, {"desc_act", e["desc_act"]}};
        }
        if (!dynamic.empty()) q["dynamic"] = dynamic;
        q["quantbench"] = {{"version", QB_VERSION}, {"plan", OrderedJson::parse(plan.toJsonText())}, {"modules", modules}};
        config["quantization_config"] = q;
        writeTextFile(tmp / "config.json", config.dump(2) + "\n");
        writeTextFile(tmp / "quantize_config.json",
                      OrderedJson{{"bits", q["bits"]}, {"group_size", q["group_size"]}, {"desc_act", q["desc_act"]}, {"sym", q["sym"]},
                           {"checkpoint_format", q["checkpoint_format"]}, {"quant_method", q["quant_method"]}}.dump(2) + "\n");
        ctx.throwIfStopped();

        // Tensors, streamed into model.safetensors: the header is declared first (from the pass
        // above), then the data is written layer by layer, so at most one layer's packed tensors
        // and a block of embedding rows are in memory besides the model (a 1B model's F16
        // embedding alone is 525 MB), and none of the other layers when the source reads them
        // from disk.
        std::vector<TensorDecl> decls;
        const std::int64_t vocab = c.vocabSize, hidden = c.hiddenSize;
        decls.push_back({"model.embed_tokens.weight", embedType, {vocab, hidden}});
        decls.push_back({"model.norm.weight", DType::F32, {hidden}});
        if (!c.tieWordEmbeddings) decls.push_back({"lm_head.weight", embedType, {vocab, hidden}});
        decls.insert(decls.end(), layerDecls.begin(), layerDecls.end());
        SafetensorsStreamWriter out(tmp / "model.safetensors", decls, {{"format", "pt"}, {"quantized_by", "quantbench " QB_VERSION}});
        // A [vocab, hidden] table in embedType, 1024 rows at a time.
        auto writeTable = [&](const std::function<void(Index r0, Index rows, float* dst)>& rowsOf) {
            const Index block = 1024;
            std::vector<float> buf;
            for (Index r0 = 0; r0 < vocab; r0 += block) {
                const Index rows = std::min<Index>(block, vocab - r0);
                buf.resize(std::size_t(rows * hidden));
                rowsOf(r0, rows, buf.data());
                const TensorBlob b = makeFloatBlob("rows", {rows, hidden}, buf.data(), embedType);
                out.append(b.bytes.data(), b.bytes.size());
            }
        };
        writeTable([&](Index r0, Index rows, float* dst) {  // 16-bit → float → 16-bit is exact
            m.embedding().rows(r0, rows, dst);
            m.embedding().releaseRows(r0, rows);  // a table read in place: its pages go as they are written
        });
        const TensorBlob norm = vectorBlob("model.norm.weight", m.finalNorm(), DType::F32);
        out.append(norm.bytes.data(), norm.bytes.size());
        if (!c.tieWordEmbeddings) {
            const Linear& head = m.lmHead();
            if (const auto* e = dynamic_cast<const EmbeddingHead*>(&head)) {
                writeTable([&](Index r0, Index rows, float* dst) { e->readRows(r0, rows, dst); });  // pages released as read
            } else {
                const MatrixRM W = head.denseWeight();
                writeTable([&](Index r0, Index rows, float* dst) {
                    std::memcpy(dst, W.row(r0).data(), std::size_t(rows * hidden) * sizeof(float));
                });
            }
        }
        for (int i = 0; i < c.numLayers; ++i) {
            ctx.throwIfStopped();
            for (const auto& b : layerTensors(*layerAt(i), zeroFormat)) out.append(b.bytes.data(), b.bytes.size());
        }
        out.commit();
        ctx.throwIfStopped();

        for (const char* f : {"tokenizer.model", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json",
                              "tokenizer.json"})
            if (fs::exists(sourceDir / f)) fs::copy_file(sourceDir / f, tmp / f, fs::copy_options::overwrite_existing);

        OrderedJson report;
        report["bits_per_weight"] = result.bitsPerWeight;
        report["linear_bytes"] = result.linearBytes;
        report["linear_weights"] = result.linearWeights;
        report["seconds"] = result.seconds;
        report["checkpoint_format"] = gptqCheckpointFormatName(zeroFormat);
        if (!result.fingerprintJson.empty()) report["fingerprint"] = OrderedJson::parse(result.fingerprintJson);
        for (const auto& r : result.modules) {
            OrderedJson e = {{"name", r.name}, {"format", r.format}, {"relative_error", r.relativeError},
                             {"bytes", r.bytes}, {"bits_per_weight", r.bitsPerWeight}, {"seconds", r.seconds}};
            // Read by export --format gptq|awq, which keeps such a module in F16 (as llama.cpp does).
            if (const auto it = nonStandard.find(r.name); it != nonStandard.end())
                e["export_note"] = "not in the standard GPTQ layout (" + it->second + "): padded here, F16 in a GPTQ export";
            report["modules"].push_back(e);
        }
        writeTextFile(tmp / "quantbench_report.json", report.dump(2) + "\n");

        if (fs::exists(outDir)) fs::remove(outDir);  // the empty folder checked above
        fs::rename(tmp, outDir);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
}

namespace {

struct ModuleFormat {
    std::string method = "gptq";
    int bits = 4;
    std::optional<int> groupSize = 128;
    bool sym = false;
    int actBits = 8;
    bool actBitsGiven = false;  // the module's entry names act_bits (a weight-activation grid module)
    double threshold = 6.0;
};

std::optional<VectorF> loadBias(const Checkpoint& ckpt, const std::string& name, Index out) {
    if (!ckpt.find(name + ".bias")) return std::nullopt;
    return ckpt.loadVector(name + ".bias", out);
}

// The tensor `name`, checked to have dtype and shape. Throws Error naming the file otherwise.
const TensorInfo& checkedTensor(const Checkpoint& ckpt, const std::string& name, DType dtype, std::vector<std::int64_t> shape) {
    const TensorInfo& t = ckpt.get(name);
    if (t.dtype != dtype)
        throw Error(ckpt.fileOf(name).string() + ": tensor '" + name + "' has dtype " + dtypeName(t.dtype) + ", expected " +
                    dtypeName(dtype));
    if (t.shape != shape) {
        TensorInfo want;
        want.shape = shape;
        throw Error(ckpt.fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() + ", expected " +
                    want.shapeString());
    }
    return t;
}

// A copy of the tensor's elements (memcpy: mapped data need not be aligned for T).
template <class T>
std::vector<T> readRaw(const Checkpoint& ckpt, const std::string& name, DType dtype, std::vector<std::int64_t> shape) {
    const TensorInfo& t = checkedTensor(ckpt, name, dtype, std::move(shape));
    std::vector<T> v(t.nbytes / sizeof(T));
    std::memcpy(v.data(), t.data, t.nbytes);
    return v;
}

// An int8 module (W8A8 or LLM.int8()): codes go from the file straight into the padded int8
// rows; no float copy of the weight is made.
LinearPtr loadInt8Linear(const Checkpoint& ckpt, const std::string& name, const std::string& method, int actBits,
                         double threshold, Index out, Index in) {
    const std::string where = ckpt.fileOf(name + ".weight").string() + ": " + name;
    const TensorInfo& t = checkedTensor(ckpt, name + ".weight", DType::I8, {out, in});
    Int8RowQuantized Wq = withErrorContext(where, [&] {
        return int8RowsFromCodes(reinterpret_cast<const std::int8_t*>(t.data), out, in, ckpt.loadVector(name + ".weight_scale", out));
    });
    ckpt.release(name + ".weight");
    std::optional<VectorF> bias = loadBias(ckpt, name, out);
    if (method != "llm_int8")
        return withErrorContext(where, [&] { return std::make_shared<W8A8Linear>(std::move(Wq), std::move(bias), actBits, method); });
    std::vector<int> cols;
    std::vector<std::uint16_t> fpWeight;
    if (const TensorInfo* c = ckpt.find(name + ".fp_columns")) {
        const Index k = c->shape.size() == 1 ? Index(c->shape[0]) : -1;
        const auto raw = readRaw<std::int32_t>(ckpt, name + ".fp_columns", DType::I32, {k});
        cols.assign(raw.begin(), raw.end());
        fpWeight = readRaw<std::uint16_t>(ckpt, name + ".fp_weight", DType::F16, {out, k});
    }
    return withErrorContext(where, [&] {
        return std::make_shared<LlmInt8Linear>(std::move(Wq), std::move(bias), threshold, std::move(cols), std::move(fpWeight));
    });
}

// An fp16 module: the F16 weight stays F16 (Fp16Linear), no float copy.
LinearPtr loadFp16Linear(const Checkpoint& ckpt, const std::string& name, Index out, Index in) {
    const auto W = readRaw<std::uint16_t>(ckpt, name + ".weight", DType::F16, {out, in});
    ckpt.release(name + ".weight");
    return std::make_shared<Fp16Linear>(W.data(), out, in, loadBias(ckpt, name, out));
}

// The quantization_config of a quantized config.json, read once with every value's type and
// size checked: the file comes from outside, and a wrong type is an Error naming the key, never
// a JSON library exception ("config.json: quantization_config.dynamic['+:.*down_proj'].group_size
// is object, not an integer").
struct DynamicOverride {
    std::optional<int> bits;
    std::optional<std::optional<int>> groupSize;  ///< set: the entry names group_size (≤ 0: none)
    std::optional<bool> sym;
};

struct QuantizationMetadata {
    ModuleFormat base;
    GptqZeroFormat zeroFormat = GptqZeroFormat::V1;
    /// GPTQModel "dynamic" (core/quant/gptq_dynamic): the first rule matching a module decides;
    /// "+:<regex>" overrides the keys it names (here, parsed and checked once), "-:<regex>" (nullopt)
    /// marks modules kept in FP, which their tensors show anyway.
    GptqDynamicRules dynamic;
    std::vector<std::optional<DynamicOverride>> dynamicOverrides;  ///< one per rule of dynamic
    std::map<std::string, ModuleFormat> modules;  ///< quantization_config.quantbench.modules
};

const OrderedJson* fieldOf(const OrderedJson& o, const char* key, OrderedJson::value_t type, const char* typeName,
                           const std::string& where) {
    const auto it = o.find(key);
    if (it == o.end()) return nullptr;
    const bool ok = type == OrderedJson::value_t::number_integer ? it->is_number_integer()
                    : type == OrderedJson::value_t::number_float ? it->is_number()
                                                                  : it->type() == type;
    if (!ok) throw Error(where + "." + key + " is " + it->type_name() + ", not " + typeName);
    return &*it;
}

int intField(const OrderedJson& o, const char* key, int fallback, const std::string& where) {
    const OrderedJson* v = fieldOf(o, key, OrderedJson::value_t::number_integer, "an integer", where);
    if (!v) return fallback;
    const long long x = v->is_number_unsigned() ? (v->get<unsigned long long>() > (1ull << 31) ? (1ll << 32) : v->get<long long>())
                                                : v->get<long long>();
    if (x < -(1ll << 31) || x >= (1ll << 31)) throw Error(where + "." + key + " is " + std::to_string(x) + ", outside the int range");
    return int(x);
}

ModuleFormat withKeys(ModuleFormat f, const OrderedJson& e, const std::string& where, bool allKeys) {
    if (!e.is_object()) throw Error(where + " is " + e.type_name() + ", not an object");
    if (allKeys)
        if (const OrderedJson* m = fieldOf(e, "method", OrderedJson::value_t::string, "a string", where)) f.method = m->get<std::string>();
    f.bits = intField(e, "bits", f.bits, where);
    if (e.contains("group_size")) {
        const int g = intField(e, "group_size", 0, where);
        f.groupSize = g > 0 ? std::optional<int>(g) : std::nullopt;
    }
    if (const OrderedJson* v = fieldOf(e, "sym", OrderedJson::value_t::boolean, "true or false", where)) f.sym = v->get<bool>();
    if (allKeys) {
        f.actBits = intField(e, "act_bits", f.actBits, where);
        f.actBitsGiven = e.contains("act_bits");
        if (const OrderedJson* v = fieldOf(e, "threshold", OrderedJson::value_t::number_float, "a number", where))
            f.threshold = v->get<double>();
    }
    return f;
}

DynamicOverride dynamicOverride(const OrderedJson& e, const std::string& where) {
    DynamicOverride o;
    if (e.contains("bits")) o.bits = intField(e, "bits", 0, where);
    if (e.contains("group_size")) {
        const int g = intField(e, "group_size", 0, where);
        o.groupSize = g > 0 ? std::optional<int>(g) : std::nullopt;
    }
    if (const OrderedJson* v = fieldOf(e, "sym", OrderedJson::value_t::boolean, "true or false", where)) o.sym = v->get<bool>();
    return o;
}

QuantizationMetadata parseQuantizationMetadata(const std::string& json) {
    const std::string where = "quantization_config";
    OrderedJson q;
    try {
        q = parseOrderedJsonInput(json, where, kConfigJsonLimits);  // a part of config.json
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": not valid JSON (" + e.what() + ")");
    }
    if (!q.is_object()) throw Error(where + " is " + std::string(q.type_name()) + ", not an object");
    QuantizationMetadata m;
    m.base = withKeys(ModuleFormat{}, q, where, false);  // defaults: 4 bits, groups of 128, asymmetric
    if (const OrderedJson* f = fieldOf(q, "checkpoint_format", OrderedJson::value_t::string, "a string", where))
        m.zeroFormat = f->get<std::string>() == "gptq_v2" ? GptqZeroFormat::V2 : GptqZeroFormat::V1;
    if (const auto it = q.find("dynamic"); it != q.end()) {
        m.dynamic = GptqDynamicRules::parse(*it, where + ".dynamic");
        for (const GptqDynamicRule& rule : m.dynamic.rules())
            m.dynamicOverrides.push_back(rule.skip ? std::nullopt
                                                   : std::optional(dynamicOverride(rule.overrides, where + ".dynamic['" +
                                                                                                   rule.pattern->pattern().substr(0, 64) + "']")));
    }
    if (const OrderedJson* qb = fieldOf(q, "quantbench", OrderedJson::value_t::object, "an object", where))
        if (const OrderedJson* mods = fieldOf(*qb, "modules", OrderedJson::value_t::object, "an object", where + ".quantbench"))
            for (auto e = mods->begin(); e != mods->end(); ++e)
                m.modules[e.key()] = withKeys(m.base, e.value(), where + ".quantbench.modules['" + e.key().substr(0, 128) + "']", true);
    return m;
}

}  // namespace

LinearFactory quantizedLinearFactory(const ModelConfig& config, const std::string& origin) {
    if (config.quantizationConfigJson.empty()) return {};
    const auto meta = std::make_shared<const QuantizationMetadata>(
        withErrorContext(origin, [&] { return parseQuantizationMetadata(config.quantizationConfigJson); }));

    return [meta](const Checkpoint& ckpt, const std::string& name, Index out, Index in) -> LinearPtr {
        ModuleFormat f = meta->base;
        if (const auto it = meta->modules.find(name); it != meta->modules.end()) {
            f = it->second;
        } else {
            const GptqDynamicRule* rule = nullptr;
            try {
                rule = meta->dynamic.match(name);
            } catch (const Error& e) {  // PCRE2's match limit on a pathological pattern
                throw Error(ckpt.dir().string() + "/config.json: quantization_config.dynamic: cannot match '" + name +
                            "' (" + e.what() + ")");
            }
            if (rule) {
                if (const auto& o = meta->dynamicOverrides[std::size_t(rule - meta->dynamic.rules().data())]) {
                    f.bits = o->bits.value_or(f.bits);
                    if (o->groupSize) f.groupSize = *o->groupSize;
                    f.sym = o->sym.value_or(f.sym);
                }
            }
        }
        if (ckpt.find(name + ".qweight")) {
            GptqTensors t = gptqShapes(f.bits, f.groupSize, in, out);
            t.qweight = readRaw<std::int32_t>(ckpt, name + ".qweight", DType::I32, {t.qweightShape[0], t.qweightShape[1]});
            t.qzeros = readRaw<std::int32_t>(ckpt, name + ".qzeros", DType::I32, {t.qzerosShape[0], t.qzerosShape[1]});
            t.scalesF16 = readRaw<std::uint16_t>(ckpt, name + ".scales", DType::F16, {t.scalesShape[0], t.scalesShape[1]});
            if (ckpt.find(name + ".g_idx"))
                t.g_idx = readRaw<std::int32_t>(ckpt, name + ".g_idx", DType::I32, {in});
            else
                t.g_idx = sequentialGroupIndex(in, f.groupSize);
            QuantizedWeight w = withErrorContext(ckpt.fileOf(name + ".qweight").string() + ": " + name,
                                                 [&] { return unpackGptq(t, f.bits, f.groupSize, f.sym, in, out, meta->zeroFormat); });
            const std::optional<int> actBits = f.actBitsGiven ? std::optional<int>(f.actBits) : std::nullopt;
            return withErrorContext(ckpt.fileOf(name + ".qweight").string() + ": " + name, [&] {
                return std::make_shared<QuantizedLinear>(std::move(w), loadBias(ckpt, name, out), f.method, actBits);
            });
        }
        const TensorInfo* w = ckpt.find(name + ".weight");
        if (w && w->dtype == DType::I8) return loadInt8Linear(ckpt, name, f.method, f.actBits, f.threshold, out, in);
        if (w && w->dtype == DType::F16) return loadFp16Linear(ckpt, name, out, in);
        return makeDenseLinear(ckpt, name, out, in);
    };
}

std::shared_ptr<LlamaModel> loadModel(const fs::path& dir, ModelLoadOptions options) {
    auto ckpt = Checkpoint::open(dir);
    if (!options.linearFactory) options.linearFactory = quantizedLinearFactory(ckpt->config(), (dir / "config.json").string());
    return LlamaModel::load(ckpt, options);
}

}  // namespace qb::core
