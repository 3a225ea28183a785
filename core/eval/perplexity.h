#pragma once
// Perplexity over non-overlapping windows (the GPTQ/AWQ protocol, adapted to story data;
// see resources/data/tinystories/README.md): the token stream is cut into windows of ctx
// tokens, the tail is dropped, and the ctx−1 next-token predictions of every window are scored.

#include <functional>
#include <optional>
#include <vector>

#include "core/model/llama_model.h"
#include "core/util/run_context.h"

namespace qb::core {

struct PerplexityOptions {
    int ctx = 512;                   ///< window length in tokens
    std::optional<int> maxWindows;   ///< score only the first N windows
    int batchWindows = 8;            ///< windows per forward batch (memory ∝ batch × ctx)
    /// When set, receives every scored window in order: its ctx tokens and the logits at every
    /// position [ctx, vocab] (eval --save-logits). Unset: the last position's logits are skipped.
    std::function<void(const std::vector<int>& windowTokens, const MatrixRM& logits)> logitsSink;
};

/// The number of windows evaluatePerplexity scores on a stream of `tokens` (0 when shorter than one window).
[[nodiscard]] int perplexityWindowCount(std::size_t tokens, const PerplexityOptions& options);

struct PerplexityResult {
    double perplexity = 0.0;      ///< exp(meanLoss)
    double meanLoss = 0.0;        ///< mean negative log-likelihood, nats
    std::int64_t predictions = 0; ///< windows × (ctx − 1)
    int windows = 0;
    int ctx = 0;
    double seconds = 0.0;         ///< wall time of the forward passes and scoring
    double tokensPerSecond = 0.0; ///< windows × ctx / seconds
};

/// Scores model on stream. Throws Error when the stream is shorter than one window.
/// Progress per batch; obeys cancel between batches.
[[nodiscard]] PerplexityResult evaluatePerplexity(const LlamaModel& model, const std::vector<int>& stream,
                                                  const PerplexityOptions& options, const RunContext& ctx = {});

/// Sum of −log softmax(logits[r])[targets[r]] over rows r, in double. logits: [n, vocab].
[[nodiscard]] double negativeLogLikelihood(const ConstMatrixRef& logits, const std::vector<int>& targets);

}  // namespace qb::core
