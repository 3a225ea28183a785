#include "core/model/decoder_layer.h"

#include <cmath>

#include "core/backend/backend.h"
#include "core/model/attention.h"
#include "core/util/error.h"

namespace qb::core {

std::string moduleSuffix(ModuleKind kind) {
    switch (kind) {
        case ModuleKind::Q: return "self_attn.q_proj";
        case ModuleKind::K: return "self_attn.k_proj";
        case ModuleKind::V: return "self_attn.v_proj";
        case ModuleKind::O: return "self_attn.o_proj";
        case ModuleKind::Gate: return "mlp.gate_proj";
        case ModuleKind::Up: return "mlp.up_proj";
        case ModuleKind::Down: return "mlp.down_proj";
    }
    return "?";
}

std::string moduleName(int layer, ModuleKind kind) {
    return "model.layers." + std::to_string(layer) + "." + moduleSuffix(kind);
}

std::size_t DecoderLayer::storageBytes() const {
    std::size_t n = std::size_t(inputNorm.size() + postAttentionNorm.size() + qNorm.size() + kNorm.size()) * sizeof(float);
    for (const auto& l : linears)
        if (l) n += l->storageBytes();
    return n;
}

void rmsNorm(const ConstMatrixRef& x, const VectorF& weight, double eps, MatrixRM& y) {
    const Index n = x.rows();
    y.resize(n, x.cols());
    const float invDim = 1.0f / float(x.cols());
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) {
        const float meanSq = x.row(r).squaredNorm() * invDim;
        const float inv = 1.0f / std::sqrt(meanSq + float(eps));
        y.row(r) = (x.row(r) * inv).cwiseProduct(weight.transpose());
    }
}

namespace {

void offer(ActivationTap* tap, int layer, ModuleKind kind, const MatrixRM& X) {
    if (!tap) return;
    const std::string name = moduleName(layer, kind);
    if (tap->wants(name)) tap->observe(name, X);
}

}  // namespace

MatrixRM attentionInput(const ModelConfig& c, const DecoderLayer& layer, const ConstMatrixRef& hidden) {
    MatrixRM xn;
    rmsNorm(hidden, layer.inputNorm, c.rmsNormEps, xn);
    return xn;
}

MatrixRM attentionMixer(const ModelConfig& c, const DecoderLayer& layer, const ConstMatrixRef& hidden, Index T,
                        ActivationTap* tap) {
    const Index n = hidden.rows();
    if (T <= 0 || n % T != 0)
        throw Error("forward: " + std::to_string(n) + " rows are not whole windows of " + std::to_string(T));
    if (hidden.cols() != c.hiddenSize) throw Error("forward: hidden state has the wrong width");
    const MatrixRM xn = attentionInput(c, layer, hidden);
    offer(tap, layer.index, ModuleKind::Q, xn);
    offer(tap, layer.index, ModuleKind::K, xn);
    offer(tap, layer.index, ModuleKind::V, xn);
    MatrixRM q, k, v;
    attentionQkv(c, layer, xn, T, q, k, v);
    MatrixRM attn = causalAttention(q, k, v, c.numHeads, c.numKvHeads, c.headDim, T, c.windowOfLayer(layer.index));  // [n, H·d]
    offer(tap, layer.index, ModuleKind::O, attn);
    return attn;
}

void attentionQkv(const ModelConfig& c, const DecoderLayer& layer, const MatrixRM& xn, Index T, MatrixRM& q, MatrixRM& k,
                  MatrixRM& v) {
    layer.linear(ModuleKind::Q)->forward(xn, q);  // [n, H·d]
    layer.linear(ModuleKind::K)->forward(xn, k);  // [n, Hkv·d]
    layer.linear(ModuleKind::V)->forward(xn, v);  // [n, Hkv·d]
    if (layer.qNorm.size() > 0) headRmsNorm(q, c.numHeads, c.headDim, layer.qNorm, c.rmsNormEps);
    if (layer.kNorm.size() > 0) headRmsNorm(k, c.numKvHeads, c.headDim, layer.kNorm, c.rmsNormEps);
    const RopeFrequencies rope = ropeFrequencies(c, T);
    applyRope(q, c.numHeads, c.headDim, T, rope);
    applyRope(k, c.numKvHeads, c.headDim, T, rope);
}

void addAttentionOutput(const DecoderLayer& layer, const ConstMatrixRef& attn, MatrixRM& hidden) {
    MatrixRM o;
    layer.linear(ModuleKind::O)->forward(attn, o);  // [n, hidden]
    hidden += o;
}

MatrixRM mlpInput(const ModelConfig& c, const DecoderLayer& layer, const ConstMatrixRef& hidden) {
    MatrixRM xn;
    rmsNorm(hidden, layer.postAttentionNorm, c.rmsNormEps, xn);
    return xn;
}

MatrixRM mlpMixer(const ModelConfig& c, const DecoderLayer& layer, const ConstMatrixRef& hidden, ActivationTap* tap) {
    const Index n = hidden.rows();
    const MatrixRM xn = mlpInput(c, layer, hidden);
    offer(tap, layer.index, ModuleKind::Gate, xn);
    offer(tap, layer.index, ModuleKind::Up, xn);
    MatrixRM gate, up;
    layer.linear(ModuleKind::Gate)->forward(xn, gate);  // [n, I]
    layer.linear(ModuleKind::Up)->forward(xn, up);      // [n, I]
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) {
        auto g = gate.row(r).array();
        g = g / (1.0f + (-g).exp()) * up.row(r).array();  // silu(g) ⊙ u
    }
    return gate;
}

void runMlpBlock(const ModelConfig& c, const DecoderLayer& layer, MatrixRM& hidden, ActivationTap* tap) {
    const MatrixRM m = mlpMixer(c, layer, hidden, tap);
    offer(tap, layer.index, ModuleKind::Down, m);
    MatrixRM down;
    layer.linear(ModuleKind::Down)->forward(m, down);  // [n, hidden]
    hidden += down;
}

void runDecoderLayer(const ModelConfig& c, const DecoderLayer& layer, MatrixRM& hidden, Index T, ActivationTap* tap) {
    // --- attention block: h = x + o_proj(Attn(RoPE(q), RoPE(k), v)) on RMSNorm₁(x)
    const MatrixRM attn = attentionMixer(c, layer, hidden, T, tap);
    addAttentionOutput(layer, attn, hidden);
    // --- MLP block: out = h + down(silu(gate(RMSNorm₂(h))) ⊙ up(RMSNorm₂(h)))
    runMlpBlock(c, layer, hidden, tap);
}

}  // namespace qb::core
