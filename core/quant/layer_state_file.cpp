#include "core/quant/layer_state_file.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "core/io/safetensors_file.h"
#include "core/kernels/fp16_linear.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/llm_int8.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "core/util/json_input.h"

namespace qb::core {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

template <class T>
TensorBlob rawBlob(std::string name, DType dtype, std::vector<std::int64_t> shape, const T* data, std::size_t count) {
    TensorBlob b;
    b.name = std::move(name);
    b.dtype = dtype;
    b.shape = std::move(shape);
    b.bytes.resize(count * sizeof(T));
    if (count) std::memcpy(b.bytes.data(), data, b.bytes.size());
    return b;
}

TensorBlob vectorBlob(std::string name, const VectorF& v) { return rawBlob(std::move(name), DType::F32, {v.size()}, v.data(), std::size_t(v.size())); }

// The int8 codes [rows, cols] without the kernels' row padding.
TensorBlob int8Blob(std::string name, const Int8RowQuantized& W) {
    std::vector<std::int8_t> q(std::size_t(W.rows * W.cols));
    for (Index r = 0; r < W.rows; ++r)
        std::copy_n(W.codes.begin() + std::ptrdiff_t(r * W.stride), W.cols, q.begin() + std::ptrdiff_t(r * W.cols));
    return rawBlob(std::move(name), DType::I8, {W.rows, W.cols}, q.data(), q.size());
}

// Appends one module's tensors; returns its metadata entry.
Json addModule(const std::string& key, const Linear& linear, std::vector<TensorBlob>& out) {
    Json meta;
    const Index rows = linear.outFeatures(), cols = linear.inFeatures();
    if (const auto* q = dynamic_cast<const QuantizedLinear*>(&linear)) {
        // Packed as the checkpoint packs them, with the zero points as they are (v2): bits/8
        // bytes per weight plus F16 scales, every value exact (scales are F16-exact by
        // construction), instead of one byte per code.
        const QuantizedWeight w = q->weight();
        meta = {{"type", "grid"}, {"bits", w.bits}, {"group_size", w.groupSize ? Json(*w.groupSize) : Json(nullptr)}, {"sym", w.sym}};
        if (q->actBits()) meta["act_bits"] = *q->actBits();  // per-token activations (weight-activation grid schemes)
        const GptqTensors t = packGptq(w, GptqZeroFormat::V2);
        out.push_back(rawBlob(key + ".qweight", DType::I32, {t.qweightShape[0], t.qweightShape[1]}, t.qweight.data(), t.qweight.size()));
        out.push_back(rawBlob(key + ".qzeros", DType::I32, {t.qzerosShape[0], t.qzerosShape[1]}, t.qzeros.data(), t.qzeros.size()));
        out.push_back(rawBlob(key + ".scales", DType::F16, {t.scalesShape[0], t.scalesShape[1]}, t.scalesF16.data(), t.scalesF16.size()));
        out.push_back(rawBlob(key + ".g_idx", DType::I32, {t.gIdxSize}, t.g_idx.data(), t.g_idx.size()));
    } else if (const auto* a = dynamic_cast<const W8A8Linear*>(&linear)) {
        meta = {{"type", "w8a8"}, {"act_bits", a->actBits()}};
        out.push_back(int8Blob(key + ".codes", a->quantizedWeight()));
        out.push_back(vectorBlob(key + ".row_scales", a->quantizedWeight().scales));
    } else if (const auto* l = dynamic_cast<const LlmInt8Linear*>(&linear)) {
        meta = {{"type", "llm_int8"}, {"threshold", l->threshold()}};
        out.push_back(int8Blob(key + ".codes", l->quantizedWeight()));
        out.push_back(vectorBlob(key + ".row_scales", l->quantizedWeight().scales));
        const std::vector<std::int32_t> fpColumns(l->fpColumns().begin(), l->fpColumns().end());
        const Index k = Index(fpColumns.size());
        out.push_back(rawBlob(key + ".fp_columns", DType::I32, {k}, fpColumns.data(), fpColumns.size()));
        out.push_back(rawBlob(key + ".fp_weight", DType::F16, {rows, k}, l->fpWeightF16().data(), l->fpWeightF16().size()));
    } else {
        const bool f16 = dynamic_cast<const Fp16Linear*>(&linear) != nullptr;
        if (!f16 && !dynamic_cast<const DenseLinear*>(&linear))
            throw Error(key + ": the resume state cannot hold a module of format '" + linear.format() + "'");
        meta = {{"type", f16 ? "f16" : "dense"}};
        const MatrixRM W = linear.denseWeight();  // F16 values exactly (Fp16Linear), or the F32 weight
        out.push_back(makeFloatBlob(key + ".weight", {rows, cols}, W.data(), f16 ? DType::F16 : DType::F32));
    }
    if (linear.bias()) out.push_back(vectorBlob(key + ".bias", *linear.bias()));
    return meta;
}

Json reportJson(const ModuleReport& r) {
    Json j = {{"name", r.name},
              {"format", r.format},
              {"out", r.outFeatures},
              {"in", r.inFeatures},
              {"relative_error", r.relativeError},
              {"seconds", r.seconds},
              {"bytes", r.bytes},
              {"bits_per_weight", r.bitsPerWeight},
              {"lwc_epoch_loss", r.lwcEpochLoss}};
    if (r.outlierColumnFraction) j["outlier_column_fraction"] = *r.outlierColumnFraction;
    if (r.awqAlpha) j["awq_alpha"] = *r.awqAlpha;
    if (r.gptqDamping) j["gptq_damping"] = *r.gptqDamping;
    return j;
}

ModuleReport reportOf(const Json& j, const QuantPlan& plan) {
    ModuleReport r;
    r.name = j.at("name").get<std::string>();
    r.scheme = plan.resolve(r.name);
    r.format = j.at("format").get<std::string>();
    r.outFeatures = j.at("out").get<Index>();
    r.inFeatures = j.at("in").get<Index>();
    r.relativeError = j.at("relative_error").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.bytes = j.at("bytes").get<std::size_t>();
    r.bitsPerWeight = j.at("bits_per_weight").get<double>();
    r.lwcEpochLoss = j.at("lwc_epoch_loss").get<std::vector<double>>();
    if (j.contains("outlier_column_fraction")) r.outlierColumnFraction = j["outlier_column_fraction"].get<double>();
    if (j.contains("awq_alpha")) r.awqAlpha = j["awq_alpha"].get<double>();
    if (j.contains("gptq_damping")) r.gptqDamping = j["gptq_damping"].get<double>();
    return r;
}

// Reads the file's tensors, each checked for dtype and shape.
class LayerReader {
public:
    explicit LayerReader(const SafetensorsFile& file) : m_file(file) {}

    const TensorInfo& tensor(const std::string& name, DType dtype, std::vector<std::int64_t> shape) const {
        const TensorInfo* t = m_file.find(name);
        if (!t) throw Error("tensor '" + name + "' is missing");
        if (t->dtype != dtype) throw Error("tensor '" + name + "' has dtype " + dtypeName(t->dtype) + ", expected " + dtypeName(dtype));
        if (t->shape != shape) throw Error("tensor '" + name + "' has shape " + t->shapeString());
        return *t;
    }
    template <class T>
    void copy(const std::string& name, DType dtype, std::vector<std::int64_t> shape, T* dst) const {
        const TensorInfo& t = tensor(name, dtype, std::move(shape));
        if (t.nbytes) std::memcpy(dst, t.data, t.nbytes);
    }
    VectorF vector(const std::string& name, Index n) const {
        VectorF v(n);
        copy(name, DType::F32, {n}, v.data());
        return v;
    }
    // The length of a 1-D tensor whose size the file decides (LLM.int8()'s FP columns).
    Index length(const std::string& name) const {
        const TensorInfo* t = m_file.find(name);
        if (!t) throw Error("tensor '" + name + "' is missing");
        if (t->shape.size() != 1) throw Error("tensor '" + name + "' has shape " + t->shapeString() + ", expected one dimension");
        return Index(t->shape[0]);
    }
    std::optional<VectorF> bias(const std::string& key, Index rows) const {
        if (!m_file.find(key + ".bias")) return std::nullopt;
        return vector(key + ".bias", rows);
    }
    Int8RowQuantized int8Rows(const std::string& key, Index rows, Index cols) const {
        std::vector<std::int8_t> codes(std::size_t(rows * cols));
        copy(key + ".codes", DType::I8, {rows, cols}, codes.data());
        return int8RowsFromCodes(codes.data(), rows, cols, vector(key + ".row_scales", rows));
    }

private:
    const SafetensorsFile& m_file;
};

// The module's shape [out, in] in a model with config c.
std::pair<Index, Index> moduleShape(const ModelConfig& c, ModuleKind k) {
    const Index hidden = c.hiddenSize, q = Index(c.numHeads) * c.headDim, kv = Index(c.numKvHeads) * c.headDim;
    switch (k) {
        case ModuleKind::Q: return {q, hidden};
        case ModuleKind::K:
        case ModuleKind::V: return {kv, hidden};
        case ModuleKind::O: return {hidden, q};
        case ModuleKind::Gate:
        case ModuleKind::Up: return {c.intermediateSize, hidden};
        case ModuleKind::Down: return {hidden, c.intermediateSize};
    }
    return {0, 0};
}

LinearPtr readModule(const LayerReader& in, const std::string& key, const Json& meta, Index rows, Index cols, const std::string& method) {
    const std::string type = meta.at("type").get<std::string>();
    auto bias = in.bias(key, rows);
    if (type == "grid") {
        const int bits = meta.at("bits").get<int>();
        std::optional<int> groupSize;
        if (!meta.at("group_size").is_null()) groupSize = meta["group_size"].get<int>();
        if (groupSize && *groupSize < 1) throw Error("group_size " + std::to_string(*groupSize) + " is not positive");
        GptqTensors t = gptqShapes(bits, groupSize, cols, rows);
        const auto fill = [&](const std::string& name, DType dtype, const std::array<Index, 2>& shape, auto& v) {
            v.resize(std::size_t(shape[0] * shape[1]));
            in.copy(key + name, dtype, {shape[0], shape[1]}, v.data());
        };
        fill(".qweight", DType::I32, t.qweightShape, t.qweight);
        fill(".qzeros", DType::I32, t.qzerosShape, t.qzeros);
        fill(".scales", DType::F16, t.scalesShape, t.scalesF16);
        t.g_idx.resize(std::size_t(t.gIdxSize));
        in.copy(key + ".g_idx", DType::I32, {t.gIdxSize}, t.g_idx.data());
        const QuantizedWeight w = unpackGptq(t, bits, groupSize, meta.at("sym").get<bool>(), cols, rows, GptqZeroFormat::V2);
        const std::optional<int> actBits = meta.contains("act_bits") ? std::optional<int>(meta.at("act_bits").get<int>()) : std::nullopt;
        return std::make_shared<QuantizedLinear>(w, std::move(bias), method, actBits);
    }
    if (type == "w8a8") return std::make_shared<W8A8Linear>(in.int8Rows(key, rows, cols), std::move(bias), meta.at("act_bits").get<int>(), method);
    if (type == "llm_int8") {
        const Index k = in.length(key + ".fp_columns");
        std::vector<std::int32_t> stored(static_cast<std::size_t>(k));
        in.copy(key + ".fp_columns", DType::I32, {k}, stored.data());
        std::vector<std::uint16_t> fpWeight(static_cast<std::size_t>(rows * k));
        in.copy(key + ".fp_weight", DType::F16, {rows, k}, fpWeight.data());
        return std::make_shared<LlmInt8Linear>(in.int8Rows(key, rows, cols), std::move(bias), meta.at("threshold").get<double>(),
                                               std::vector<int>(stored.begin(), stored.end()), std::move(fpWeight));
    }
    if (type == "f16") {
        std::vector<std::uint16_t> h(std::size_t(rows * cols));
        in.copy(key + ".weight", DType::F16, {rows, cols}, h.data());
        MatrixRM W(rows, cols);
        std::transform(h.begin(), h.end(), W.data(), f16ToFloat);
        return std::make_shared<Fp16Linear>(W, std::move(bias));
    }
    if (type == "dense") {
        MatrixRM W(rows, cols);
        in.copy(key + ".weight", DType::F32, {rows, cols}, W.data());
        return std::make_shared<DenseLinear>(std::move(W), std::move(bias));
    }
    throw Error("module type '" + type + "' is unknown");
}

}  // namespace

void writeLayerState(const fs::path& path, const DecoderLayer& layer, const std::vector<ModuleReport>& modules, double seconds) {
    std::vector<TensorBlob> blobs;
    blobs.push_back(vectorBlob("input_layernorm", layer.inputNorm));
    blobs.push_back(vectorBlob("post_attention_layernorm", layer.postAttentionNorm));
    if (layer.qNorm.size() > 0) blobs.push_back(vectorBlob("q_norm", layer.qNorm));
    if (layer.kNorm.size() > 0) blobs.push_back(vectorBlob("k_norm", layer.kNorm));
    Json meta = Json::object();
    for (ModuleKind k : kAllModuleKinds) meta[moduleSuffix(k)] = addModule(moduleSuffix(k), *layer.linear(k), blobs);
    Json reports = Json::array();
    for (const auto& r : modules) reports.push_back(reportJson(r));
    writeSafetensors(path, blobs,
                     {{"layer", std::to_string(layer.index)},
                      {"modules", meta.dump()},
                      {"reports", reports.dump()},
                      {"seconds", Json(seconds).dump()}});
}

LayerState readLayerState(const fs::path& path, const ModelConfig& config, int index, const QuantPlan& plan, bool withLayer) {
    const auto file = SafetensorsFile::open(path);
    return withErrorContext(path.string(), [&] {
        try {
            const auto& md = file->metadata();
            for (const char* key : {"layer", "modules", "reports", "seconds"})
                if (!md.count(key)) throw Error(std::string("metadata '") + key + "' is missing");
            if (md.at("layer") != std::to_string(index)) throw Error("holds layer " + md.at("layer") + ", expected " + std::to_string(index));
            const Json meta = parseJsonInput(md.at("modules"), "metadata 'modules'", kResumeStateJsonLimits);
            const Json reports = parseJsonInput(md.at("reports"), "metadata 'reports'", kResumeStateJsonLimits);
            LayerState state;
            state.seconds = parseJsonInput(md.at("seconds"), "metadata 'seconds'", kResumeStateJsonLimits).get<double>();
            if (!reports.is_array() || reports.size() != kAllModuleKinds.size()) throw Error("metadata 'reports' does not hold 7 modules");
            for (std::size_t m = 0; m < reports.size(); ++m) {
                state.modules.push_back(reportOf(reports[m], plan));
                if (state.modules.back().name != moduleName(index, kAllModuleKinds[m]))
                    throw Error("report " + std::to_string(m) + " names '" + state.modules.back().name + "'");
            }
            if (!withLayer) return state;
            const LayerReader in(*file);
            auto L = std::make_shared<DecoderLayer>();
            L->index = index;
            L->inputNorm = in.vector("input_layernorm", config.hiddenSize);
            L->postAttentionNorm = in.vector("post_attention_layernorm", config.hiddenSize);
            if (file->find("q_norm")) L->qNorm = in.vector("q_norm", config.headDim);
            if (file->find("k_norm")) L->kNorm = in.vector("k_norm", config.headDim);
            for (ModuleKind k : kAllModuleKinds) {
                const Index rows = moduleShape(config, k).first, cols = moduleShape(config, k).second;  // no structured binding: clang 14 cannot capture one
                const std::string method = methodName(plan.resolve(moduleName(index, k)).method);
                L->linear(k) = withErrorContext(moduleSuffix(k), [&] { return readModule(in, moduleSuffix(k), meta.at(moduleSuffix(k)), rows, cols, method); });
            }
            state.layer = std::move(L);
            return state;
        } catch (const nlohmann::json::exception& e) {
            throw Error(std::string("metadata is malformed (") + e.what() + ")");
        }
    });
}

}  // namespace qb::core
