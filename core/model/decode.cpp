#include "core/model/decode.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/backend/backend.h"
#include "core/model/attention.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// out = down(silu(gate(x)) ⊙ up(x)) on the post-attention norm of hidden, added to hidden
// (the MLP block of runDecoderLayer, same expressions).
void mlpBlock(const ModelConfig& c, const DecoderLayer& L, MatrixRM& hidden) {
    MatrixRM xn, gate, up, down;
    rmsNorm(hidden, L.postAttentionNorm, c.rmsNormEps, xn);
    L.linear(ModuleKind::Gate)->forward(xn, gate);  // [n, I]
    L.linear(ModuleKind::Up)->forward(xn, up);      // [n, I]
    for (Index r = 0; r < gate.rows(); ++r) {
        auto g = gate.row(r).array();
        g = g / (1.0f + (-g).exp()) * up.row(r).array();  // silu(g) ⊙ u
    }
    L.linear(ModuleKind::Down)->forward(gate, down);  // [n, hidden]
    hidden += down;
}

int argmax(const VectorF& logits) {
    Index best = 0;
    logits.maxCoeff(&best);
    return int(best);
}

}  // namespace

KvDecoder::KvDecoder(const LlamaModel& model, Index capacity) : m_model(model), m_capacity(capacity) {
    const ModelConfig& c = model.config();
    if (capacity < 1 || (c.maxPositions > 0 && capacity > c.maxPositions))
        throw Error("decode: a cache of " + std::to_string(capacity) + " positions does not fit the model's context of " +
                    std::to_string(c.maxPositions));
    const Index kvDim = Index(c.numKvHeads) * c.headDim;
    for (int i = 0; i < c.numLayers; ++i) {
        m_layers.push_back(model.layer(i));
        m_K.emplace_back(capacity, kvDim);
        m_V.emplace_back(capacity, kvDim);
    }
}

std::size_t KvDecoder::cacheBytes() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < m_K.size(); ++i) n += std::size_t(m_K[i].size() + m_V[i].size()) * sizeof(float);
    return n;
}

VectorF KvDecoder::prefill(const std::vector<int>& prompt) {
    const ModelConfig& c = m_model.config();
    const Index n = Index(prompt.size());
    if (n == 0) throw Error("decode: the prompt is empty");
    if (m_length != 0) throw Error("decode: prefill needs an empty cache (call reset())");
    if (n > m_capacity)
        throw Error("decode: a prompt of " + std::to_string(n) + " tokens does not fit a cache of " + std::to_string(m_capacity));
    MatrixRM hidden = m_model.embed(prompt);  // [n, hidden]
    MatrixRM xn, q, k, v, o;
    for (int i = 0; i < c.numLayers; ++i) {
        const DecoderLayer& L = *m_layers[std::size_t(i)];
        // attention block of runDecoderLayer with T = n, keeping K (after RoPE) and V
        rmsNorm(hidden, L.inputNorm, c.rmsNormEps, xn);
        attentionQkv(c, L, xn, n, q, k, v);  // [n, H·d], [n, Hkv·d] ×2, after q/k norm and RoPE
        m_K[std::size_t(i)].topRows(n) = k;
        m_V[std::size_t(i)].topRows(n) = v;
        const MatrixRM attn = causalAttention(q, k, v, c.numHeads, c.numKvHeads, c.headDim, n, c.windowOfLayer(i));  // [n, H·d]
        L.linear(ModuleKind::O)->forward(attn, o);
        hidden += o;
        mlpBlock(c, L, hidden);
    }
    m_length = n;
    return m_model.logits(hidden.bottomRows(1)).row(0).transpose();
}

void KvDecoder::attentionStep(int layer, const MatrixRM& q, MatrixRM& out) const {
    // One query row against cache rows first..m_length (the new token's K/V already stored);
    // a sliding window W keeps the last W positions.
    const ModelConfig& c = m_model.config();
    const int d = c.headDim, group = c.numHeads / c.numKvHeads;
    const int window = c.windowOfLayer(layer);
    const Index first = window > 0 ? std::max<Index>(0, m_length - window + 1) : 0;
    const Index keys = m_length + 1 - first;
    const float scale = 1.0f / std::sqrt(float(d));
    const MatrixRM& K = m_K[std::size_t(layer)];
    const MatrixRM& V = m_V[std::size_t(layer)];
    out.resize(1, Index(c.numHeads) * d);
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (keys * c.numHeads * d > (1 << 17))
    for (int h = 0; h < c.numHeads; ++h) {
        const Index g = h / group;
        const Eigen::RowVectorXf qs = q.block(0, Index(h) * d, 1, d) * scale;
        Eigen::RowVectorXf s = qs * K.block(first, g * d, keys, d).transpose();  // scores [keys]
        s = (s.array() - s.maxCoeff()).exp();
        s /= s.sum();
        out.block(0, Index(h) * d, 1, d).noalias() = s * V.block(first, g * d, keys, d);
    }
}

VectorF KvDecoder::step(int token) {
    const ModelConfig& c = m_model.config();
    if (m_length == 0) throw Error("decode: step() before prefill()");
    if (m_length >= m_capacity) throw Error("decode: the cache of " + std::to_string(m_capacity) + " positions is full");
    const Index p = m_length;  // position of this token
    MatrixRM hidden = m_model.embed({token});  // [1, hidden]
    MatrixRM xn, q, k, v, attn, o;
    // Dynamic NTK scaling sees the sequence as long as its last position (transformers'
    // dynamic update); the other RoPE variants do not depend on the length.
    const RopeFrequencies rope = ropeFrequencies(c, p + 1);
    for (int i = 0; i < c.numLayers; ++i) {
        const DecoderLayer& L = *m_layers[std::size_t(i)];
        rmsNorm(hidden, L.inputNorm, c.rmsNormEps, xn);
        L.linear(ModuleKind::Q)->forward(xn, q);  // [1, H·d]
        L.linear(ModuleKind::K)->forward(xn, k);  // [1, Hkv·d]
        L.linear(ModuleKind::V)->forward(xn, v);
        if (L.qNorm.size() > 0) headRmsNormRow(q.data(), c.numHeads, c.headDim, L.qNorm, c.rmsNormEps);
        if (L.kNorm.size() > 0) headRmsNormRow(k.data(), c.numKvHeads, c.headDim, L.kNorm, c.rmsNormEps);
        applyRopeAt(q.data(), c.numHeads, c.headDim, p, rope);
        applyRopeAt(k.data(), c.numKvHeads, c.headDim, p, rope);
        m_K[std::size_t(i)].row(p) = k.row(0);
        m_V[std::size_t(i)].row(p) = v.row(0);
        attentionStep(i, q, attn);
        L.linear(ModuleKind::O)->forward(attn, o);
        hidden += o;
        mlpBlock(c, L, hidden);
    }
    m_length = p + 1;
    return m_model.logits(hidden).row(0).transpose();
}

std::vector<int> generateGreedyCached(const LlamaModel& model, const std::vector<int>& prompt, int maxNewTokens,
                                      std::optional<int> eos) {
    if (prompt.empty()) throw Error("generate: the prompt is empty");
    const Index context = model.config().maxPositions > 0 ? model.config().maxPositions : Index(prompt.size()) + maxNewTokens;
    // generateGreedy() stops once the sequence reaches the context; the last token it emits
    // is computed from a prefix of context − 1 tokens, so the cache never needs more.
    const Index room = std::max<Index>(0, context - Index(prompt.size()));
    const int steps = int(std::min<Index>(maxNewTokens, room));
    std::vector<int> out;
    if (steps <= 0) return out;
    KvDecoder decoder(model, Index(prompt.size()) + steps - 1 > 0 ? Index(prompt.size()) + steps - 1 : 1);
    VectorF logits = decoder.prefill(prompt);
    for (int s = 0; s < steps; ++s) {
        const int next = argmax(logits);
        out.push_back(next);
        if ((eos && next == *eos) || s + 1 == steps) break;
        logits = decoder.step(next);
    }
    return out;
}

double DecodeTiming::decodeMsPerTokenMedian() const { return 1e3 * median(stepSeconds); }

double DecodeTiming::decodeMsPerTokenMean() const {
    if (stepSeconds.empty()) return 0.0;
    double s = 0.0;
    for (double t : stepSeconds) s += t;
    return 1e3 * s / double(stepSeconds.size());
}

DecodeTiming timeGreedyDecode(const LlamaModel& model, const std::vector<int>& prompt, int genTokens, int prefillRepeats) {
    if (prompt.empty()) throw Error("bench: the prompt is empty");
    if (genTokens < 1) throw Error("bench: at least one token must be generated");
    const Index total = Index(prompt.size()) + genTokens;
    KvDecoder decoder(model, total);  // throws when prompt + generated exceed the context
    DecodeTiming t;
    t.promptTokens = int(prompt.size());
    std::vector<double> prefills;
    VectorF logits;
    for (int r = 0; r < std::max(1, prefillRepeats); ++r) {
        decoder.reset();
        const auto t0 = Clock::now();
        logits = decoder.prefill(prompt);
        prefills.push_back(secondsSince(t0));
    }
    t.prefillSeconds = median(prefills);
    for (int s = 0; s < genTokens; ++s) {
        const int next = argmax(logits);
        t.tokens.push_back(next);
        if (s + 1 == genTokens) break;
        const auto t0 = Clock::now();
        logits = decoder.step(next);
        t.stepSeconds.push_back(secondsSince(t0));
    }
    t.generatedTokens = int(t.tokens.size());
    return t;
}

}  // namespace qb::core
