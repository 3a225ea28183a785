#include "core/export/gguf_writer.h"

#include <array>
#include <chrono>
#include <cstring>
#include <cmath>
#include <mutex>
#include <numbers>

#include "core/export/gguf_file_writer.h"
#include "core/export/gguf_pack.h"
#include "core/export/gguf_vocab.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

// Fetches rows [r0, r0 + count) of a [rows, cols] float matrix into out (row-major).
using RowSource = std::function<void(Index r0, Index count, float* out)>;

// The decoder layers are fetched once per layer, not once per tensor (a streamed model loads
// a layer from the checkpoint on every call).
class LayerCache {
public:
    explicit LayerCache(const LlamaModel& model) : m_model(model) {}
    std::shared_ptr<const DecoderLayer> get(int i) {
        std::lock_guard lock(m_mutex);
        if (!m_layer || m_index != i) {
            m_layer.reset();
            m_layer = m_model.layer(i);
            m_index = i;
        }
        return m_layer;
    }

private:
    const LlamaModel& m_model;
    std::mutex m_mutex;
    std::shared_ptr<const DecoderLayer> m_layer;
    int m_index = -1;
};

struct ExportPlan {
    GgufFileWriter writer;
    GgufExportReport report;
};

// A float matrix packed as `type` (ggufMatrixType's or ggufOutputType's choice). note: why the
// type differs from the one asked for; a warning too when warn (a fallback, not a policy).
void addMatrix(ExportPlan& plan, const std::string& name, Index rows, Index cols, GgmlType type, const std::string& note, bool warn,
               RowSource source) {
    const std::size_t rowBytes = ggufPackedRowBytes(type, cols);
    const std::uint64_t bytes = std::uint64_t(rowBytes) * std::uint64_t(rows);
    if (warn && !note.empty()) plan.report.warnings.push_back(name + ": " + note);
    plan.report.tensors.push_back({name, {std::uint64_t(cols), std::uint64_t(rows)}, type, bytes, note, {}, false});
    plan.writer.addTensor(name, {std::uint64_t(cols), std::uint64_t(rows)}, type, bytes,
                          [rows, cols, type, rowBytes, source = std::move(source)](std::vector<std::uint8_t>& out) {
                              out.resize(std::size_t(rows) * rowBytes);
                              constexpr Index kChunk = 256;  // rows converted to float at a time
                              std::vector<float> buf;
                              for (Index r0 = 0; r0 < rows; r0 += kChunk) {
                                  const Index n = std::min(kChunk, rows - r0);
                                  buf.resize(std::size_t(n * cols));
                                  source(r0, n, buf.data());
#pragma omp parallel for schedule(static)
                                  for (Index r = 0; r < n; ++r)
                                      ggufPackRow(type, buf.data() + r * cols, cols, out.data() + std::size_t(r0 + r) * rowBytes);
                              }
                          });
}

// File row r holds source row order[r]: identity, or ggufPermuteQk's order within each head.
std::vector<Index> ggufRowOrder(Index rows, int heads) {
    std::vector<Index> order(static_cast<std::size_t>(rows));
    for (Index r = 0; r < rows; ++r) order[std::size_t(r)] = r;
    if (heads <= 0) return order;
    if (rows % (2 * heads) != 0)
        throw Error("cannot reorder " + std::to_string(rows) + " q/k rows into " + std::to_string(heads) + " heads of pairs");
    const Index d = rows / heads, half = d / 2;
    for (Index h = 0; h < heads; ++h)
        for (Index a = 0; a < 2; ++a)
            for (Index b = 0; b < half; ++b) order[std::size_t(h * d + 2 * b + a)] = h * d + a * half + b;
    return order;
}

// A quantized module placed code for code: rows in file order (rowOrder[r] = the checkpoint row
// written as row r; q/k are reordered for llama.cpp's RoPE), each packed from its codes.
void addPlacedMatrix(ExportPlan& plan, const std::string& name, GgmlType type, const std::string& source,
                     std::function<QuantizedWeight()> load, std::function<std::vector<Index>(Index rows)> rowOrder, Index rows, Index cols) {
    const std::size_t rowBytes = ggufPackedRowBytes(type, cols);
    const std::uint64_t bytes = std::uint64_t(rowBytes) * std::uint64_t(rows);
    GgufTensorReport t{name, {std::uint64_t(cols), std::uint64_t(rows)}, type, bytes, "codes placed from " + source, source, true};
    plan.report.tensors.push_back(t);
    plan.writer.addTensor(name, t.ne, type, bytes, [=, load = std::move(load), rowOrder = std::move(rowOrder)](std::vector<std::uint8_t>& out) {
        const QuantizedWeight w = load();
        if (w.rows != rows || w.cols != cols) throw Error("'" + name + "' changed shape while it was written");
        const std::vector<Index> order = rowOrder(rows);
        out.resize(std::size_t(rows) * rowBytes);
#pragma omp parallel for schedule(static)
        for (Index r = 0; r < rows; ++r) {
            const Index src = order[std::size_t(r)];
            ggufPackCodesRow(type, w.codes.row(src).data(), w.scales.row(src).data(), w.zeros.row(src).data(), cols,
                             out.data() + std::size_t(r) * rowBytes);
        }
    });
}

void addVector(ExportPlan& plan, const std::string& name, std::function<VectorF()> source, Index n) {
    const std::uint64_t bytes = std::uint64_t(n) * 4;
    plan.report.tensors.push_back({name, {std::uint64_t(n)}, GgmlType::F32, bytes, {}, {}, false});
    plan.writer.addTensor(name, {std::uint64_t(n)}, GgmlType::F32, bytes, [n, source = std::move(source)](std::vector<std::uint8_t>& out) {
        const VectorF v = source();
        if (v.size() != n) throw Error("a vector has " + std::to_string(v.size()) + " values, " + std::to_string(n) + " expected");
        out.resize(std::size_t(n) * 4);
        std::memcpy(out.data(), v.data(), out.size());
    });
}

RowSource matrixRows(std::function<MatrixRM()> load) {
    // The matrix is loaded when its tensor is written and kept only while it is.
    auto held = std::make_shared<MatrixRM>();
    return [load = std::move(load), held](Index r0, Index count, float* out) {
        if (r0 == 0) *held = load();
        std::memcpy(out, held->data() + r0 * held->cols(), std::size_t(count * held->cols()) * sizeof(float));
        if (r0 + count >= held->rows()) *held = MatrixRM();
    };
}

void addMetadata(ExportPlan& plan, const ModelConfig& c, const std::string& arch, const std::string& name, GgmlType type,
                 const GgufVocab& vocab, int vocabSize) {
    auto& w = plan.writer;
    w.addString("general.architecture", arch);
    w.addString("general.name", name);
    w.addU32("general.alignment", kGgufDefaultAlignment);
    w.addU32("general.file_type", ggufFileType(type));
    if (isQuantizedGgmlType(type)) w.addU32("general.quantization_version", kGgmlQuantizationVersion);
    const std::string a = arch + ".";
    w.addU32(a + "vocab_size", std::uint32_t(vocabSize));
    w.addU32(a + "context_length", std::uint32_t(c.maxPositions));
    w.addU32(a + "embedding_length", std::uint32_t(c.hiddenSize));
    w.addU32(a + "block_count", std::uint32_t(c.numLayers));
    w.addU32(a + "feed_forward_length", std::uint32_t(c.intermediateSize));
    w.addU32(a + "attention.head_count", std::uint32_t(c.numHeads));
    w.addU32(a + "attention.head_count_kv", std::uint32_t(c.numKvHeads));
    w.addF32(a + "attention.layer_norm_rms_epsilon", float(c.rmsNormEps));
    w.addF32(a + "rope.freq_base", float(c.ropeTheta));
    w.addU32(a + "rope.dimension_count", std::uint32_t(c.headDim));
    if (c.headDim * c.numHeads != c.hiddenSize) {
        w.addU32(a + "attention.key_length", std::uint32_t(c.headDim));
        w.addU32(a + "attention.value_length", std::uint32_t(c.headDim));
    }
    const RopeScaling& s = c.ropeScaling;
    auto& warn = plan.report.warnings;
    switch (s.type) {
        case RopeScalingType::None:
        case RopeScalingType::Llama3: break;  // llama3: the rope_freqs tensor
        case RopeScalingType::Linear:
            w.addString(a + "rope.scaling.type", "linear");
            w.addF32(a + "rope.scaling.factor", float(s.factor));
            break;
        case RopeScalingType::Yarn:
            w.addString(a + "rope.scaling.type", "yarn");
            w.addF32(a + "rope.scaling.factor", float(s.factor));
            w.addU32(a + "rope.scaling.original_context_length",
                     std::uint32_t(s.originalMaxPositions > 0 ? s.originalMaxPositions : c.maxPositions));
            if (s.attentionFactor || s.mscale || s.mscaleAllDim)
                warn.push_back("rope_scaling yarn: attention_factor/mscale are not written; llama.cpp derives its own");
            break;
        case RopeScalingType::Dynamic:
            warn.push_back("rope_scaling dynamic (NTK) has no GGUF form; llama.cpp runs the unscaled RoPE");
            break;
    }
    if (c.slidingWindow > 0)
        warn.push_back("sliding_window " + std::to_string(c.slidingWindow) + " is not used by llama.cpp's " + arch +
                       " architecture (full causal attention)");
    w.addString("tokenizer.ggml.model", vocab.model);
    w.addString("tokenizer.ggml.pre", vocab.pre);
    w.addStringArray("tokenizer.ggml.tokens", vocab.tokens);
    if (!vocab.scores.empty()) w.addF32Array("tokenizer.ggml.scores", vocab.scores);
    w.addI32Array("tokenizer.ggml.token_type", vocab.tokenTypes);
    if (!vocab.merges.empty()) w.addStringArray("tokenizer.ggml.merges", vocab.merges);
    if (vocab.bos) w.addU32("tokenizer.ggml.bos_token_id", std::uint32_t(*vocab.bos));
    if (vocab.eos) w.addU32("tokenizer.ggml.eos_token_id", std::uint32_t(*vocab.eos));
    if (vocab.unk) w.addU32("tokenizer.ggml.unknown_token_id", std::uint32_t(*vocab.unk));
    if (vocab.pad) w.addU32("tokenizer.ggml.padding_token_id", std::uint32_t(*vocab.pad));
    w.addBool("tokenizer.ggml.add_bos_token", vocab.addBos);
    w.addBool("tokenizer.ggml.add_eos_token", vocab.addEos);
    warn.insert(warn.end(), vocab.warnings.begin(), vocab.warnings.end());
}

const char* ggufLinearName(ModuleKind k) {
    switch (k) {
        case ModuleKind::Q: return "attn_q";
        case ModuleKind::K: return "attn_k";
        case ModuleKind::V: return "attn_v";
        case ModuleKind::O: return "attn_output";
        case ModuleKind::Gate: return "ffn_gate";
        case ModuleKind::Up: return "ffn_up";
        case ModuleKind::Down: return "ffn_down";
    }
    return "";
}

// Shapes come from the config; which modules carry a bias (and whether q/k norms exist) from
// layer 0, so a streamed model is not read twice.
struct LayerShape {
    std::array<Index, 7> out{}, in{};
    std::array<bool, 7> bias{};
    Index qkNorm = 0;
};

LayerShape layerShape(const ModelConfig& c, const DecoderLayer& layer0) {
    LayerShape s;
    const Index q = Index(c.numHeads) * c.headDim, kv = Index(c.numKvHeads) * c.headDim;
    s.out = {q, kv, kv, c.hiddenSize, c.intermediateSize, c.intermediateSize, c.hiddenSize};
    s.in = {c.hiddenSize, c.hiddenSize, c.hiddenSize, q, c.hiddenSize, c.hiddenSize, c.intermediateSize};
    for (ModuleKind k : kAllModuleKinds) s.bias[std::size_t(k)] = layer0.linear(k)->bias().has_value();
    s.qkNorm = layer0.qNorm.size();
    return s;
}

void addLayer(ExportPlan& plan, const ModelConfig& c, int i, bool permute, GgmlType type, const LayerShape& shape,
              const std::shared_ptr<LayerCache>& cache) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    addVector(plan, blk + "attn_norm.weight", [cache, i] { return cache->get(i)->inputNorm; }, c.hiddenSize);
    for (ModuleKind k : kAllModuleKinds) {
        const std::size_t ki = std::size_t(k);
        const int heads = k == ModuleKind::Q ? c.numHeads : k == ModuleKind::K ? c.numKvHeads : 0;
        const bool perm = permute && heads > 0;
        const std::string base = blk + ggufLinearName(k);
        const auto* q = dynamic_cast<const QuantizedLinear*>(cache->get(i)->linear(k).get());
        std::string note;
        const GgmlType fileType = ggufMatrixType(type, shape.in[ki], note);
        if (q && note.empty() && ggufPlacesCodes(fileType, q->spec(), q->sequentialGroups())) {
            addPlacedMatrix(plan, base + ".weight", fileType, q->format(),
                            [cache, i, k] { return dynamic_cast<const QuantizedLinear&>(*cache->get(i)->linear(k)).weight(); },
                            [perm, heads](Index rows) { return ggufRowOrder(rows, perm ? heads : 0); }, shape.out[ki], shape.in[ki]);
        } else {
            addMatrix(plan, base + ".weight", shape.out[ki], shape.in[ki], fileType, note, true, matrixRows([cache, i, k, perm, heads] {
                          MatrixRM W = cache->get(i)->linear(k)->denseWeight();
                          return perm ? ggufPermuteQk(W, heads) : W;
                      }));
            if (q) {
                auto& t = plan.report.tensors.back();
                t.source = q->format();
                if (isQuantizedGgmlType(t.type))
                    t.note = (t.note.empty() ? "" : t.note + "; ") + "re-quantized from " + t.source + " (" + ggmlTypeName(t.type) +
                             " does not hold its grid): the check's max |dW| is the extra error";
            }
        }
        if (shape.bias[ki])
            addVector(plan, base + ".bias", [cache, i, k, perm, heads, base]() -> VectorF {
                const auto& b = cache->get(i)->linear(k)->bias();
                if (!b) throw Error("'" + base + ".bias' is missing in this layer");
                if (!perm) return *b;
                const MatrixRM p = ggufPermuteQk(MatrixRM(*b), heads);
                return VectorF(Eigen::Map<const VectorF>(p.data(), p.size()));
            }, shape.out[ki]);
    }
    if (shape.qkNorm > 0) {
        addVector(plan, blk + "attn_q_norm.weight", [cache, i] { return cache->get(i)->qNorm; }, shape.qkNorm);
        addVector(plan, blk + "attn_k_norm.weight", [cache, i] { return cache->get(i)->kNorm; }, shape.qkNorm);
    }
    addVector(plan, blk + "ffn_norm.weight", [cache, i] { return cache->get(i)->postAttentionNorm; }, c.hiddenSize);
}

}  // namespace

std::string ggufArchitectureName(Architecture a) {
    switch (a) {
        case Architecture::Llama:
        case Architecture::Mistral: return "llama";
        case Architecture::Qwen2: return "qwen2";
        case Architecture::Qwen3: return "qwen3";
    }
    return "llama";
}

MatrixRM ggufPermuteQk(const MatrixRM& W, int heads) {
    if (heads <= 0 || W.rows() % (2 * heads) != 0)
        throw Error("cannot reorder " + std::to_string(W.rows()) + " q/k rows into " + std::to_string(heads) + " heads of pairs");
    const Index d = W.rows() / heads, half = d / 2;
    MatrixRM out(W.rows(), W.cols());
    for (Index h = 0; h < heads; ++h)
        for (Index a = 0; a < 2; ++a)
            for (Index b = 0; b < half; ++b) out.row(h * d + 2 * b + a) = W.row(h * d + a * half + b);
    return out;
}

std::vector<float> ggufLlama3RopeFactors(const ModelConfig& c) {
    const RopeScaling& s = c.ropeScaling;
    const double L = s.originalMaxPositions > 0 ? s.originalMaxPositions : 8192.0;
    const double lowWavelen = L / s.lowFreqFactor, highWavelen = L / s.highFreqFactor;
    std::vector<float> factors;
    for (int i = 0; i < c.headDim; i += 2) {
        // The frequency in float32, as convert_hf_to_gguf.py computes it with torch.
        const float freq = 1.0f / std::pow(float(c.ropeTheta), float(i) / float(c.headDim));
        const double wavelen = 2.0 * std::numbers::pi / double(freq);
        if (wavelen < highWavelen) factors.push_back(1.0f);
        else if (wavelen > lowWavelen) factors.push_back(float(s.factor));
        else {
            const double smooth = (L / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
            factors.push_back(float(1.0 / ((1.0 - smooth) / s.factor + smooth)));
        }
    }
    return factors;
}

GgmlType ggufMatrixType(GgmlType wanted, std::int64_t cols, std::string& note) {
    note.clear();
    GgmlType type = wanted;
    if (cols % ggufPackBlockSize(type) != 0 && (type == GgmlType::Q4_K || type == GgmlType::Q6_K)) {
        type = type == GgmlType::Q4_K ? GgmlType::Q5_0 : GgmlType::Q8_0;
        note = std::to_string(cols) + " columns do not fill " + ggmlTypeName(wanted) + " blocks of 256: " + ggmlTypeName(type);
    }
    if (cols % ggufPackBlockSize(type) != 0) {
        note = std::to_string(cols) + " columns do not fill " + ggmlTypeName(wanted) + " blocks of " +
               std::to_string(ggufPackBlockSize(type)) + ": F16";
        type = GgmlType::F16;
    }
    return type;
}

GgmlType ggufOutputType(GgmlType wanted, std::int64_t cols, std::string& note) {
    note.clear();
    if (!isQuantizedGgmlType(wanted)) return wanted;
    const bool fillsK = cols % ggufPackBlockSize(GgmlType::Q6_K) == 0;
    const GgmlType type = wanted == GgmlType::Q8_0 || !fillsK ? GgmlType::Q8_0 : GgmlType::Q6_K;
    if (type != wanted)
        note = "the output head: " + ggmlTypeName(type) + " as llama-quantize keeps it" +
               (fillsK ? std::string() : " (" + std::to_string(cols) + " columns do not fill Q6_K blocks of 256)");
    if (cols % ggufPackBlockSize(type) != 0) {
        std::string fallback;
        const GgmlType f = ggufMatrixType(type, cols, fallback);
        note = "the output head: " + fallback;
        return f;
    }
    return type;
}

namespace {

// Every key and tensor of the file, the tensors' data still to be produced.
std::unique_ptr<ExportPlan> buildGguf(const LlamaModel& model, const std::filesystem::path& modelDir, const GgufExportOptions& options) {
    const ModelConfig& c = model.config();
    auto planPtr = std::make_unique<ExportPlan>();
    ExportPlan& plan = *planPtr;
    plan.report.type = options.type;
    plan.report.architecture = ggufArchitectureName(c.architecture);
    const bool permute = plan.report.architecture == "llama";
    const int vocabSize = int(model.embedding().rows());
    const GgufVocab vocab = readGgufVocab(modelDir, c, vocabSize);
    std::string name = options.name;
    if (name.empty()) name = std::filesystem::absolute(modelDir).lexically_normal().filename().string();
    if (name.empty()) name = std::filesystem::absolute(modelDir).lexically_normal().parent_path().filename().string();
    addMetadata(plan, c, plan.report.architecture, name, options.type, vocab, vocabSize);

    // The output head (output.weight, or token_embd.weight when tied to it) takes llama-quantize's
    // type unless options.outputType says otherwise: every logit passes through it.
    const auto headType = [&options](Index cols, std::string& note, bool& warn) {
        warn = bool(options.outputType);
        return options.outputType ? ggufMatrixType(*options.outputType, cols, note) : ggufOutputType(options.type, cols, note);
    };
    const EmbeddingTable& emb = model.embedding();
    std::string embNote;
    bool embWarn = true;
    const GgmlType embType = c.tieWordEmbeddings ? headType(emb.cols(), embNote, embWarn) : ggufMatrixType(options.type, emb.cols(), embNote);
    addMatrix(plan, "token_embd.weight", emb.rows(), emb.cols(), embType, embNote, embWarn,
              [&emb](Index r0, Index count, float* out) { emb.rows(r0, count, out); });
    if (c.ropeScaling.type == RopeScalingType::Llama3) {
        if (!permute) plan.report.warnings.push_back("llama3 rope scaling: llama.cpp reads rope_freqs for the llama architecture only");
        const std::vector<float> f = ggufLlama3RopeFactors(c);
        addVector(plan, "rope_freqs.weight", [f] { return VectorF(Eigen::Map<const VectorF>(f.data(), Index(f.size()))); }, Index(f.size()));
    }
    auto cache = std::make_shared<LayerCache>(model);
    const LayerShape shape = layerShape(c, *cache->get(0));
    for (int i = 0; i < c.numLayers; ++i) addLayer(plan, c, i, permute, options.type, shape, cache);
    addVector(plan, "output_norm.weight", [&model] { return model.finalNorm(); }, c.hiddenSize);
    if (!c.tieWordEmbeddings) {
        std::string note;
        bool warn = false;
        const GgmlType type = headType(model.lmHead().inFeatures(), note, warn);
        addMatrix(plan, "output.weight", model.lmHead().outFeatures(), model.lmHead().inFeatures(), type, note, warn,
                  matrixRows([&model] { return model.lmHead().denseWeight(); }));
    }

    plan.report.fileBytes = plan.writer.fileBytes();
    return planPtr;
}

}  // namespace

bool ggufPlacesCodes(GgmlType type, const WeightGridSpec& spec, bool sequentialGroups) {
    return spec.groupSize && *spec.groupSize == ggufPackBlockSize(type) && sequentialGroups && ggufHoldsGrid(type, spec.bits, spec.sym);
}

GgufExportReport planGgufExport(const LlamaModel& model, const std::filesystem::path& modelDir, const GgufExportOptions& options) {
    return buildGguf(model, modelDir, options)->report;
}

GgufExportReport exportGguf(const LlamaModel& model, const std::filesystem::path& modelDir, const std::filesystem::path& file,
                            const GgufExportOptions& options, const RunContext* ctx) {
    const auto start = std::chrono::steady_clock::now();
    const auto plan = buildGguf(model, modelDir, options);
    plan->report.file = file;
    plan->report.fileBytes = plan->writer.write(file, ctx);
    plan->report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return plan->report;
}

}  // namespace qb::core
