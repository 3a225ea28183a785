#include "core/export/gguf_check.h"

#include <cmath>
#include <map>
#include <set>

#include "core/model/decoder_layer.h"
#include "core/model/rope.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

std::string expectedArchitecture(Architecture a) {
    return a == Architecture::Qwen2 ? "qwen2" : a == Architecture::Qwen3 ? "qwen3" : "llama";
}

// Inverse of llama.cpp's q/k row order: within each head of d rows, row a·d/2 + b of the
// rotate-half layout is row 2b + a of the file.
MatrixRM toRotateHalf(const MatrixRM& W, int heads) {
    const Index d = W.rows() / heads, half = d / 2;
    MatrixRM out(W.rows(), W.cols());
    for (Index h = 0; h < heads; ++h)
        for (Index b = 0; b < half; ++b)
            for (Index a = 0; a < 2; ++a) out.row(h * d + a * half + b) = W.row(h * d + 2 * b + a);
    return out;
}

class Checker {
public:
    Checker(const GgufReader& file, GgufCheckReport& report) : m_file(file), m_report(report) {}

    void problem(const std::string& line) { m_report.problems.push_back(line); }

    std::optional<std::uint64_t> uintKey(const std::string& key) {
        const GgufValue* v = m_file.find(key);
        const auto u = v ? v->asUInt() : std::nullopt;
        if (!u) problem("metadata " + key + " is missing or not an unsigned integer");
        return u;
    }

    void expectUInt(const std::string& key, std::int64_t want, int& target) {
        if (const auto u = uintKey(key)) {
            if (std::int64_t(*u) != want) problem(key + " is " + std::to_string(*u) + ", the model has " + std::to_string(want));
            target = int(*u);
        }
    }

    void expectNumber(const std::string& key, double want, double& target) {
        const GgufValue* v = m_file.find(key);
        const auto d = v ? v->asNumber() : std::nullopt;
        if (!d) return problem("metadata " + key + " is missing or not a number");
        if (std::fabs(*d - want) > 1e-6 * std::max(1.0, std::fabs(want))) problem(key + " differs from the model's " + std::to_string(want));
        target = *d;
    }

    /// The tensor `name` as float [rows, cols], or nullopt (with a problem) when absent or misshapen.
    std::optional<MatrixRM> matrix(const std::string& name, Index rows, Index cols, GgmlType* type = nullptr) {
        m_seen.insert(name);
        const GgufTensorInfo* t = m_file.findTensor(name);
        if (!t) return problem("tensor " + name + " is missing"), std::nullopt;
        if (t->cols() != cols || t->rows() != rows || (rows > 1 && t->ne.size() != 2) || (rows == 1 && t->ne.size() != 1)) {
            problem("tensor " + name + " has the wrong shape");
            return std::nullopt;
        }
        if (type) *type = t->type;
        return m_file.dequantize(*t);
    }

    /// Compares file (decoded, in the model's layout) with ref value by value against the bound of
    /// its block (blocks run along each row).
    void compare(const std::string& name, GgmlType type, const MatrixRM& file, const MatrixRM& ref) {
        GgufTensorCheck c{name, type, 0.0, 0.0, true};
        const Index block = Index(ggufReadBlockGeometry(type)->first);
        const Index bs = block == 1 ? ref.cols() : block;  // per-value types: the bound needs no block
        for (Index r = 0; r < ref.rows(); ++r)
            for (Index b0 = 0; b0 < ref.cols(); b0 += bs) {
                const Index n = std::min(bs, ref.cols() - b0);
                double mx = ref(r, b0), mn = ref(r, b0);
                for (Index j = 1; j < n; ++j) {
                    mx = std::max(mx, double(ref(r, b0 + j)));
                    mn = std::min(mn, double(ref(r, b0 + j)));
                }
                const double amax = std::max(std::fabs(mx), std::fabs(mn));
                for (Index j = 0; j < n; ++j) {
                    const double x = ref(r, b0 + j), diff = std::fabs(double(file(r, b0 + j)) - x);
                    const double bound = ggufErrorBound(type, x, amax, mn, mx - mn) * (1.0 + 1e-5) + 1e-30;
                    c.maxAbsDiff = std::max(c.maxAbsDiff, diff);
                    c.worstRatio = std::max(c.worstRatio, diff / bound);
                }
            }
        c.ok = c.worstRatio <= 1.0;
        if (!c.ok)
            problem("tensor " + name + " (" + ggmlTypeName(type) + "): max |dW| " + std::to_string(c.maxAbsDiff) + " is " +
                    std::to_string(c.worstRatio) + "x the bound of its type");
        m_report.tensors.push_back(c);
    }

    std::optional<VectorF> vector(const std::string& name, const VectorF& ref) {
        GgmlType type{};
        auto m = matrix(name, 1, ref.size(), &type);
        if (!m) return std::nullopt;
        compare(name, type, *m, MatrixRM(ref.transpose()));
        return VectorF(m->row(0).transpose());
    }

    /// A bias [n] (stored 1-D), its rows put back from llama.cpp's order when permutedHeads > 0.
    std::optional<VectorF> bias(const std::string& name, const VectorF& ref, int permutedHeads) {
        GgmlType type{};
        auto m = matrix(name, 1, ref.size(), &type);
        if (!m) return std::nullopt;
        MatrixRM column = m->transpose();
        if (permutedHeads > 0) column = toRotateHalf(column, permutedHeads);
        compare(name, type, MatrixRM(column.transpose()), MatrixRM(ref.transpose()));
        return VectorF(Eigen::Map<const VectorF>(column.data(), column.size()));
    }

    std::optional<MatrixRM> weight(const std::string& name, const MatrixRM& ref, int permutedHeads) {
        GgmlType type{};
        auto m = matrix(name, ref.rows(), ref.cols(), &type);
        if (!m) return std::nullopt;
        if (permutedHeads > 0) *m = toRotateHalf(*m, permutedHeads);
        compare(name, type, *m, ref);
        return m;
    }

    void reportUnexpected() {
        for (const auto& t : m_file.tensors())
            if (!m_seen.count(t.name)) problem("tensor " + t.name + " is not one the model has");
    }
    void markSeen(const std::string& name) { m_seen.insert(name); }

private:
    const GgufReader& m_file;
    GgufCheckReport& m_report;
    std::set<std::string> m_seen;
};

// The file's hyper-parameters, checked against the model's; the forward on the file's weights runs with them.
ModelConfig fileConfig(Checker& ck, const GgufReader& file, const LlamaModel& model, const std::string& arch) {
    ModelConfig c = model.config();
    const std::string a = arch + ".";
    ck.expectUInt(a + "block_count", c.numLayers, c.numLayers);
    ck.expectUInt(a + "embedding_length", c.hiddenSize, c.hiddenSize);
    ck.expectUInt(a + "feed_forward_length", c.intermediateSize, c.intermediateSize);
    ck.expectUInt(a + "attention.head_count", c.numHeads, c.numHeads);
    ck.expectUInt(a + "attention.head_count_kv", c.numKvHeads, c.numKvHeads);
    ck.expectUInt(a + "context_length", c.maxPositions, c.maxPositions);
    ck.expectUInt(a + "rope.dimension_count", c.headDim, c.headDim);
    if (file.find(a + "attention.key_length")) ck.expectUInt(a + "attention.key_length", c.headDim, c.headDim);
    else if (c.hiddenSize / std::max(1, c.numHeads) != model.config().headDim)
        ck.problem(a + "attention.key_length is missing although head_dim differs from hidden/heads");
    double eps = 0, theta = 0;
    ck.expectNumber(a + "attention.layer_norm_rms_epsilon", double(float(c.rmsNormEps)), eps);
    ck.expectNumber(a + "rope.freq_base", double(float(c.ropeTheta)), theta);
    c.rmsNormEps = eps;
    c.ropeTheta = theta;
    const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
    if (!tokens || !tokens->asArray() || Index(tokens->asArray()->size()) != model.embedding().rows())
        ck.problem("tokenizer.ggml.tokens does not list one token per embedding row");
    if (const auto& bos = model.config().bosTokenId)
        if (const auto id = ck.uintKey("tokenizer.ggml.bos_token_id"); id && std::int64_t(*id) != *bos)
            ck.problem("tokenizer.ggml.bos_token_id is " + std::to_string(*id) + ", the model's BOS is " + std::to_string(*bos));
    return c;
}

void checkRopeFreqs(Checker& ck, const GgufReader& file, const ModelConfig& c) {
    if (c.ropeScaling.type != RopeScalingType::Llama3) return;
    // llama.cpp divides θ_i by the factor: factor_i = plain θ_i / scaled θ_i.
    const auto plain = plainRopeFrequencies(c.headDim, c.ropeTheta), scaled = ropeFrequencies(c, 1);
    VectorF want(c.headDim / 2);
    for (Index i = 0; i < want.size(); ++i) want(i) = float(plain.invFreq[std::size_t(i)] / scaled.invFreq[std::size_t(i)]);
    ck.markSeen("rope_freqs.weight");
    const GgufTensorInfo* t = file.findTensor("rope_freqs.weight");
    if (!t || t->cols() != want.size()) return ck.problem("tensor rope_freqs.weight (llama3 rope scaling) is missing or misshapen");
    const MatrixRM got = file.dequantize(*t);
    for (Index i = 0; i < want.size(); ++i)
        if (std::fabs(got(0, i) - want(i)) > 1e-4f * std::fabs(want(i)))
            return ck.problem("rope_freqs.weight[" + std::to_string(i) + "] is " + std::to_string(got(0, i)) + ", llama3 scaling gives " +
                              std::to_string(want(i)));
}

const char* linearName(ModuleKind k) {
    static const char* names[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    return names[std::size_t(k)];
}

// The file's layer i, each tensor compared with the model's on the way; nullptr when a tensor is
// unusable. refDense: the model's layer with every linear a DenseLinear of its denseWeight(), so
// the two forwards differ only in their weights (a 16-bit or quantized linear's own product sums
// in another order, which is not the file's doing).
std::shared_ptr<DecoderLayer> fileLayer(Checker& ck, const ModelConfig& c, const DecoderLayer& ref, int i, bool permuted,
                                        DecoderLayer& refDense) {
    refDense = ref;
    auto layer = std::make_shared<DecoderLayer>();
    layer->index = i;
    const std::string blk = "blk." + std::to_string(i) + ".";
    bool usable = true;
    auto vec = [&](const std::string& name, const VectorF& r, VectorF& out) {
        if (auto v = ck.vector(name, r)) out = *v;
        else usable = false;
    };
    vec(blk + "attn_norm.weight", ref.inputNorm, layer->inputNorm);
    vec(blk + "ffn_norm.weight", ref.postAttentionNorm, layer->postAttentionNorm);
    if (ref.qNorm.size() > 0) {
        vec(blk + "attn_q_norm.weight", ref.qNorm, layer->qNorm);
        vec(blk + "attn_k_norm.weight", ref.kNorm, layer->kNorm);
    }
    for (ModuleKind k : kAllModuleKinds) {
        const int heads = !permuted ? 0 : k == ModuleKind::Q ? c.numHeads : k == ModuleKind::K ? c.numKvHeads : 0;
        const std::string base = blk + linearName(k);
        MatrixRM Wref = ref.linear(k)->denseWeight();
        auto W = ck.weight(base + ".weight", Wref, heads);
        refDense.linear(k) = std::make_shared<DenseLinear>(std::move(Wref), ref.linear(k)->bias());
        std::optional<VectorF> bias;
        if (const auto& rb = ref.linear(k)->bias()) {
            bias = ck.bias(base + ".bias", *rb, heads);
            usable = usable && bias;
        }
        if (!W) usable = false;
        else layer->linear(k) = std::make_shared<DenseLinear>(std::move(*W), std::move(bias));
    }
    return usable ? layer : nullptr;
}

void compareLogits(GgufCheckReport& report, const MatrixRM& ref, const MatrixRM& got, int windows, int ctx) {
    // Plain loops: the sizes are small next to the forward, and the values are compared one by one anyway.
    GgufLogitCheck l;
    l.windows = windows;
    l.ctx = ctx;
    Index agree = 0;
    bool finite = true;
    for (Index r = 0; r < ref.rows(); ++r) {
        Index a = 0, b = 0;
        for (Index j = 0; j < ref.cols(); ++j) {
            const float x = ref(r, j), y = got(r, j);
            finite = finite && std::isfinite(y);
            l.maxAbsDiff = std::max(l.maxAbsDiff, double(std::fabs(x - y)));
            l.maxAbsLogit = std::max(l.maxAbsLogit, double(std::fabs(x)));
            if (x > ref(r, a)) a = j;
            if (y > got(r, b)) b = j;
        }
        agree += a == b;
    }
    l.top1Agreement = double(agree) / double(std::max<Index>(1, ref.rows()));
    l.minTop1 = ggufMinTop1Agreement(report.mainType);
    std::string line;
    if (!finite) line = "the file's weights give NaN/Inf logits";
    else if (l.top1Agreement < l.minTop1) {
        line = "top-1 agreement ";
        line += std::to_string(l.top1Agreement);
        line += " is below the floor ";
        line += std::to_string(l.minTop1);
        line += " of ";
        line += ggmlTypeName(report.mainType);
    }
    if (!line.empty()) report.problems.push_back(line);
    report.logits = l;
}

GgmlType mainWeightType(const GgufReader& file) {
    std::map<GgmlType, std::int64_t> values;
    for (const auto& t : file.tensors())
        if (t.ne.size() == 2) values[t.type] += t.rows() * t.cols();
    GgmlType best = GgmlType::F32;
    std::int64_t most = -1;
    for (const auto& [type, n] : values)
        if (n > most) most = n, best = type;
    return best;
}

}  // namespace

double ggufErrorBound(GgmlType type, double x, double amax, double mn, double range) {
    constexpr double kF16 = 1.0 / 2048.0;  // relative rounding of an F16 scale
    switch (type) {
        case GgmlType::F32: return 0.0;
        case GgmlType::F16: return std::fabs(x) * kF16 + 3.0e-8;  // half an ulp: 2^-11 relative, 2^-25 subnormal
        case GgmlType::BF16: return std::fabs(x) / 256.0 + 1e-38;  // 7 mantissa bits: 2^-8 relative
        case GgmlType::Q8_0: return amax * (1.0 / 254.0 + kF16);
        case GgmlType::Q4_0: return amax * (1.0 / 8.0 + kF16);
        case GgmlType::Q5_0: return amax * (1.0 / 16.0 + kF16);
        case GgmlType::Q4_1: return range / 30.0 + (std::fabs(mn) + range) * kF16;
        case GgmlType::Q5_1: return range / 62.0 + (std::fabs(mn) + range) * kF16;
        case GgmlType::Q4_K: return amax / 10.0;
        case GgmlType::Q6_K: return amax * (1.0 / 32.0 + 1.0 / 128.0);
    }
    return 0.0;
}

double ggufMinTop1Agreement(GgmlType type) {
    // Sanity floors that catch a file whose structure is wrong (names, order, hyper-parameters),
    // not a quality target: a random-weight model with flat logits keeps only ~55 % of its top-1
    // tokens through a correct 4-bit export (the bounds on every weight are the precise check).
    switch (type) {
        case GgmlType::F32: return 0.999;
        case GgmlType::F16:
        case GgmlType::BF16: return 0.9;
        case GgmlType::Q8_0:
        case GgmlType::Q6_K: return 0.8;
        case GgmlType::Q5_0:
        case GgmlType::Q5_1: return 0.5;
        default: return 0.4;
    }
}

GgufCheckReport checkGgufExport(const GgufReader& file, const LlamaModel& model, const std::vector<int>& tokens, int ctx,
                                const RunContext* run) {
    GgufCheckReport report;
    Checker ck(file, report);
    const ModelConfig& mc = model.config();
    const GgufValue* arch = file.find("general.architecture");
    report.architecture = arch && arch->asString() ? *arch->asString() : "";
    if (report.architecture != expectedArchitecture(mc.architecture))
        return ck.problem("general.architecture is '" + report.architecture + "', the model is '" + expectedArchitecture(mc.architecture) + "'"),
               report;
    report.mainType = mainWeightType(file);
    const ModelConfig c = fileConfig(ck, file, model, report.architecture);
    if (!report.ok()) return report;  // the forward below needs the file's shapes to be the model's
    checkRopeFreqs(ck, file, mc);
    const bool permuted = report.architecture == "llama";
    const bool logits = !tokens.empty() && ctx > 0;
    const int windows = logits ? int(tokens.size()) / ctx : 0;

    MatrixRM embRef = model.embedding().dense();  // released once compared; the head is read at the end
    GgmlType embType{};
    const auto emb = ck.matrix("token_embd.weight", embRef.rows(), embRef.cols(), &embType);
    if (emb) ck.compare("token_embd.weight", embType, *emb, embRef);
    embRef = MatrixRM();
    MatrixRM hRef, hFile;
    if (logits && emb) {
        hRef = model.embed(tokens);
        hFile.resize(Index(tokens.size()), emb->cols());
        for (std::size_t t = 0; t < tokens.size(); ++t) hFile.row(Index(t)) = emb->row(tokens[t]);
    }
    bool usable = emb.has_value();
    for (int i = 0; i < mc.numLayers; ++i) {
        if (run) {
            run->throwIfStopped();
            run->progress(double(i) / mc.numLayers, "layer " + std::to_string(i));
        }
        DecoderLayer refDense;
        const auto layer = fileLayer(ck, c, *model.layer(i), i, permuted, refDense);
        usable = usable && layer;
        if (logits && usable) {
            runDecoderLayer(mc, refDense, hRef, ctx);
            runDecoderLayer(c, *layer, hFile, ctx);
        }
    }
    const auto norm = ck.vector("output_norm.weight", model.finalNorm());
    // The head on both sides through the same DenseLinear product (the model's own head may be a
    // 16-bit EmbeddingHead whose BLAS product rounds differently from Eigen's).
    MatrixRM headRef = model.lmHead().denseWeight();
    std::optional<MatrixRM> out;
    if (mc.tieWordEmbeddings) out = emb;
    else out = ck.weight("output.weight", headRef, 0);
    ck.reportUnexpected();
    if (logits && usable && norm && out) {
        MatrixRM yRef, yFile, want, got;
        rmsNorm(hRef, model.finalNorm(), mc.rmsNormEps, yRef);
        DenseLinear(std::move(headRef)).forward(yRef, want);
        rmsNorm(hFile, *norm, c.rmsNormEps, yFile);
        DenseLinear(std::move(*out)).forward(yFile, got);
        compareLogits(report, want, got, windows, ctx);
    }
    return report;
}

}  // namespace qb::core
