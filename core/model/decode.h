#pragma once
// KV-cache decoding: prefill (the prompt as one causal window, positions 0..n−1, filling a
// per-layer key/value cache) and then one token at a time, each step attending to the cache
// instead of recomputing the prefix. Uses the model's Linear modules, so a quantized model
// decodes through its packed kernels (one matrix–vector product per linear and token).
//
// The prefill runs exactly the operations of runDecoderLayer() (rmsNorm, applyRope with
// T = n, causalAttention); a step uses the same formulas at one position, so greedy tokens
// equal generateGreedy()'s full recompute (core/eval/generate.h) up to float rounding.
//
// Cache per layer l:  K_l, V_l : [capacity, numKvHeads · headDim] (K after RoPE), rows 0..length−1.
// Thread-safety: a KvDecoder is one sequence; use one per thread. The model is shared (const).

#include <memory>
#include <optional>
#include <vector>

#include "core/model/llama_model.h"

namespace qb::core {

class KvDecoder {
public:
    /// Holds every decoder layer of model (loaded now when the model streams) and a cache of
    /// `capacity` positions. Throws Error if capacity < 1 or exceeds max_position_embeddings.
    KvDecoder(const LlamaModel& model, Index capacity);

    /// Runs prompt at positions [0, n) as one window and fills the cache; returns the logits
    /// [vocab] of its last token. Throws Error if the prompt is empty, the cache is not empty
    /// (call reset()), or n > capacity.
    VectorF prefill(const std::vector<int>& prompt);
    /// Runs token at position length() and appends it to the cache; returns its logits
    /// [vocab]. Throws Error when the cache is full or nothing was prefilled.
    VectorF step(int token);
    /// Forgets the cached sequence (keeps the memory).
    void reset() { m_length = 0; }

    [[nodiscard]] Index length() const { return m_length; }
    [[nodiscard]] Index capacity() const { return m_capacity; }
    /// Bytes of the K/V cache (all layers, full capacity).
    [[nodiscard]] std::size_t cacheBytes() const;

private:
    void attentionStep(int layer, const MatrixRM& q, MatrixRM& out) const;

    const LlamaModel& m_model;
    std::vector<std::shared_ptr<const DecoderLayer>> m_layers;
    std::vector<MatrixRM> m_K, m_V;  // per layer: [capacity, kvHeads · headDim]
    Index m_capacity = 0;
    Index m_length = 0;
};

/// Greedy decoding with a KV cache: the argmax token of every step, up to maxNewTokens (or
/// until eos, inclusive, or max_position_embeddings). Returns the new tokens only. Throws
/// Error when the prompt is empty.
[[nodiscard]] std::vector<int> generateGreedyCached(const LlamaModel& model, const std::vector<int>& prompt, int maxNewTokens,
                                                    std::optional<int> eos = std::nullopt);

/// Wall-clock timing of greedy KV-cache decoding of one prompt.
struct DecodeTiming {
    int promptTokens = 0;
    int generatedTokens = 0;
    double prefillSeconds = 0.0;       ///< median over the prefill repeats
    std::vector<double> stepSeconds;   ///< one entry per generated token after the first
    std::vector<int> tokens;           ///< the generated tokens
    [[nodiscard]] double prefillTokensPerSecond() const { return prefillSeconds > 0 ? promptTokens / prefillSeconds : 0.0; }
    /// Median step time in milliseconds (robust to a descheduled step on a shared machine).
    [[nodiscard]] double decodeMsPerTokenMedian() const;
    /// Mean step time in milliseconds.
    [[nodiscard]] double decodeMsPerTokenMean() const;
};

/// Prefills prompt `prefillRepeats` times (median kept), then generates genTokens greedily
/// (no eos stop), timing every step. Throws Error if prompt + genTokens exceeds the context.
[[nodiscard]] DecodeTiming timeGreedyDecode(const LlamaModel& model, const std::vector<int>& prompt, int genTokens,
                                            int prefillRepeats = 1);

}  // namespace qb::core
