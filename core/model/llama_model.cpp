#include "core/model/llama_model.h"

#include "core/model/embedding_head.h"
#include "core/model/half_linear.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

struct ModuleShape {
    Index out;
    Index in;
};

ModuleShape moduleShape(const ModelConfig& c, ModuleKind kind) {
    const Index q = Index(c.numHeads) * c.headDim;
    const Index kv = Index(c.numKvHeads) * c.headDim;
    switch (kind) {
        case ModuleKind::Q: return {q, c.hiddenSize};
        case ModuleKind::K: return {kv, c.hiddenSize};
        case ModuleKind::V: return {kv, c.hiddenSize};
        case ModuleKind::O: return {c.hiddenSize, q};
        case ModuleKind::Gate: return {c.intermediateSize, c.hiddenSize};
        case ModuleKind::Up: return {c.intermediateSize, c.hiddenSize};
        case ModuleKind::Down: return {c.hiddenSize, c.intermediateSize};
    }
    return {0, 0};
}

void expectShape(const Checkpoint& ckpt, const std::string& name, std::vector<std::int64_t> shape) {
    const TensorInfo& t = ckpt.get(name);
    if (t.shape != shape) {
        TensorInfo want;
        want.shape = shape;
        throw Error(ckpt.fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies " + want.shapeString());
    }
}

// Checks presence and shape of every tensor the config needs, without reading any data.
void validateTensors(const Checkpoint& ckpt) {
    const ModelConfig& c = ckpt.config();
    expectShape(ckpt, "model.embed_tokens.weight", {c.vocabSize, c.hiddenSize});
    expectShape(ckpt, "model.norm.weight", {c.hiddenSize});
    if (!c.tieWordEmbeddings) expectShape(ckpt, "lm_head.weight", {c.vocabSize, c.hiddenSize});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        expectShape(ckpt, p + "input_layernorm.weight", {c.hiddenSize});
        expectShape(ckpt, p + "post_attention_layernorm.weight", {c.hiddenSize});
        if (c.qkNorm) {
            expectShape(ckpt, p + "self_attn.q_norm.weight", {c.headDim});
            expectShape(ckpt, p + "self_attn.k_norm.weight", {c.headDim});
        }
        for (ModuleKind kind : kAllModuleKinds) {
            const std::string name = moduleName(i, kind);
            const auto s = moduleShape(c, kind);
            if (ckpt.find(name + ".weight") || !ckpt.find(name + ".qweight")) expectShape(ckpt, name + ".weight", {s.out, s.in});
            if (const TensorInfo* b = ckpt.find(name + ".bias"); b && b->shape != std::vector<std::int64_t>{s.out})
                throw Error(ckpt.fileOf(name + ".bias").string() + ": tensor '" + name + ".bias' has shape " +
                            b->shapeString() + ", expected [" + std::to_string(s.out) + "]");
        }
        if (c.attentionBias)
            for (ModuleKind kind : {ModuleKind::Q, ModuleKind::K, ModuleKind::V})
                (void)ckpt.get(moduleName(i, kind) + ".bias");  // throws, naming the file, when it is missing
    }
}

}  // namespace

LinearPtr makeDenseLinear(const Checkpoint& ckpt, const std::string& name, Index out, Index in) {
    MatrixRM W = ckpt.loadMatrix(name + ".weight", out, in);
    std::optional<VectorF> bias;
    if (ckpt.find(name + ".bias")) bias = ckpt.loadVector(name + ".bias", out);
    ckpt.release(name + ".weight");
    return std::make_shared<DenseLinear>(std::move(W), std::move(bias));
}

std::shared_ptr<const DecoderLayer> loadDecoderLayer(const Checkpoint& ckpt, int i, const LinearFactory& factory) {
    const ModelConfig& c = ckpt.config();
    auto layer = std::make_shared<DecoderLayer>();
    layer->index = i;
    const std::string p = "model.layers." + std::to_string(i) + ".";
    layer->inputNorm = ckpt.loadVector(p + "input_layernorm.weight", c.hiddenSize);
    layer->postAttentionNorm = ckpt.loadVector(p + "post_attention_layernorm.weight", c.hiddenSize);
    if (c.qkNorm) {
        layer->qNorm = ckpt.loadVector(p + "self_attn.q_norm.weight", c.headDim);
        layer->kNorm = ckpt.loadVector(p + "self_attn.k_norm.weight", c.headDim);
    }
    for (ModuleKind kind : kAllModuleKinds) {
        const auto s = moduleShape(c, kind);
        layer->linear(kind) = factory ? factory(ckpt, moduleName(i, kind), s.out, s.in)
                                      : makeDenseLinear(ckpt, moduleName(i, kind), s.out, s.in);
    }
    return layer;
}

std::shared_ptr<LlamaModel> LlamaModel::load(std::shared_ptr<const Checkpoint> ckpt, const ModelLoadOptions& options) {
    validateTensors(*ckpt);
    std::shared_ptr<LlamaModel> m(new LlamaModel());
    m->m_config = ckpt->config();
    m->m_checkpoint = ckpt;
    m->m_linearFactory = options.linearFactory;
    const ModelConfig& c = m->m_config;
    m->m_embedding = EmbeddingTable::load(ckpt, "model.embed_tokens.weight", c.vocabSize, c.hiddenSize);
    ckpt->release("model.embed_tokens.weight");  // converted: its mapped pages may leave the resident set
    m->m_finalNorm = ckpt->loadVector("model.norm.weight", c.hiddenSize);
    if (options.skipLmHead)
        m->m_lmHead = nullptr;
    else if (c.tieWordEmbeddings)  // 16-bit tables are read in place; each forward releases the pages it read
        m->m_lmHead = makeEmbeddingHead(m->m_embedding, ckpt, "model.embed_tokens.weight");
    else
        m->m_lmHead = makeEmbeddingHead(EmbeddingTable::load(ckpt, "lm_head.weight", c.vocabSize, c.hiddenSize), ckpt, "lm_head.weight");
    ckpt->release("lm_head.weight");
    m->m_layers.resize(std::size_t(c.numLayers));
    const double floatBytes = double(m->parameterCount()) * 4.0;
    m->m_resident = options.resident.value_or(floatBytes <= double(2ull << 30));
    // A streamed model reads its F16/BF16 linears in place (HalfLinear) instead of converting
    // each layer to float32 as the forward reaches it.
    if (!m->m_resident && !m->m_linearFactory)
        m->m_linearFactory = [ckpt](const Checkpoint&, const std::string& name, Index out, Index in) {
            return makeStreamedLinear(ckpt, name, out, in);
        };
    if (m->m_resident)
        for (int i = 0; i < c.numLayers; ++i)
            m->m_layers[std::size_t(i)] = withErrorContext("loading layer " + std::to_string(i), [&] { return loadDecoderLayer(*ckpt, i, m->m_linearFactory); });
    return m;
}

std::shared_ptr<LlamaModel> LlamaModel::fromParts(ModelConfig config, MatrixRM embedding,
                                                  std::vector<std::shared_ptr<const DecoderLayer>> layers,
                                                  VectorF finalNorm, LinearPtr lmHead) {
    return fromParts(std::move(config), std::make_shared<const EmbeddingTable>(std::move(embedding)), std::move(layers),
                     std::move(finalNorm), std::move(lmHead));
}

std::shared_ptr<LlamaModel> LlamaModel::fromParts(ModelConfig config, std::shared_ptr<const EmbeddingTable> embedding,
                                                  std::vector<std::shared_ptr<const DecoderLayer>> layers,
                                                  VectorF finalNorm, LinearPtr lmHead) {
    if (int(layers.size()) != config.numLayers) throw Error("model: layer count differs from the config");
    if (!embedding || embedding->rows() != config.vocabSize || embedding->cols() != config.hiddenSize)
        throw Error("model: the embedding table does not match the config's [vocab, hidden]");
    std::shared_ptr<LlamaModel> m(new LlamaModel());
    m->m_config = std::move(config);
    m->m_embedding = std::move(embedding);
    m->m_layers = std::move(layers);
    m->m_finalNorm = std::move(finalNorm);
    m->m_lmHead = lmHead ? std::move(lmHead) : makeEmbeddingHead(m->m_embedding);
    return m;
}

std::shared_ptr<const DecoderLayer> LlamaModel::layer(int i) const {
    if (i < 0 || i >= int(m_layers.size())) throw Error("model: no layer " + std::to_string(i));
    if (auto l = m_layers[std::size_t(i)]) return l;
    if (!m_checkpoint) throw Error("model: layer " + std::to_string(i) + " is not loaded");
    return withErrorContext("loading layer " + std::to_string(i), [&] { return loadDecoderLayer(*m_checkpoint, i, m_linearFactory); });
}

void LlamaModel::setLayer(int i, std::shared_ptr<const DecoderLayer> layer) {
    if (i < 0 || i >= int(m_layers.size())) throw Error("model: no layer " + std::to_string(i));
    m_layers[std::size_t(i)] = std::move(layer);
}

MatrixRM LlamaModel::embed(const std::vector<int>& tokens) const {
    MatrixRM h(Index(tokens.size()), m_config.hiddenSize);
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        if (tokens[t] < 0 || tokens[t] >= m_config.vocabSize)
            throw Error("model: token id " + std::to_string(tokens[t]) + " is outside the vocabulary of " +
                        std::to_string(m_config.vocabSize));
        m_embedding->row(tokens[t], h.row(Index(t)).data());
    }
    return h;
}

const LinearPtr& LlamaModel::lmHeadPtr() const {
    if (!m_lmHead) throw Error("model: the output projection (lm_head) was not loaded");
    return m_lmHead;
}

void LlamaModel::runLayer(int i, MatrixRM& hidden, Index T, ActivationTap* tap) const {
    const auto l = layer(i);
    runDecoderLayer(m_config, *l, hidden, T, tap);
}

MatrixRM LlamaModel::logits(const ConstMatrixRef& hidden) const {
    MatrixRM xn, out;
    const Linear& head = lmHead();
    rmsNorm(hidden, m_finalNorm, m_config.rmsNormEps, xn);
    head.forward(xn, out);
    return out;
}

MatrixRM LlamaModel::forwardHidden(const std::vector<int>& tokens, Index T, ActivationTap* tap, const RunContext* ctx) const {
    MatrixRM hidden = embed(tokens);
    for (int i = 0; i < m_config.numLayers; ++i) {
        if (ctx) ctx->throwIfStopped();
        runLayer(i, hidden, T, tap);
    }
    return hidden;
}

MatrixRM LlamaModel::forward(const std::vector<int>& tokens, Index T, ActivationTap* tap) const {
    return logits(forwardHidden(tokens, T, tap));
}

std::uint64_t LlamaModel::parameterCount() const {
    const ModelConfig& c = m_config;
    std::uint64_t perLayer = 2ull * std::uint64_t(c.hiddenSize) + (c.qkNorm ? 2ull * std::uint64_t(c.headDim) : 0ull);
    for (ModuleKind kind : kAllModuleKinds) {
        const auto s = moduleShape(c, kind);
        perLayer += std::uint64_t(s.out * s.in);
        if (c.attentionBias && (kind == ModuleKind::Q || kind == ModuleKind::K || kind == ModuleKind::V)) perLayer += std::uint64_t(s.out);
    }
    std::uint64_t n = std::uint64_t(c.vocabSize) * std::uint64_t(c.hiddenSize) + std::uint64_t(c.hiddenSize) +
                      perLayer * std::uint64_t(c.numLayers);
    if (!c.tieWordEmbeddings) n += std::uint64_t(c.vocabSize) * std::uint64_t(c.hiddenSize);
    return n;
}

}  // namespace qb::core
