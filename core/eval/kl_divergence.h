#pragma once
// KL divergence of a model's next-token distributions from a baseline's (a quantized model
// against its FP16/FP32 original; the statistics llama.cpp's perplexity tool prints with
// --kl-divergence).
//
// At every scored position t (the ctx − 1 predicting positions of each perplexity window,
// core/eval/perplexity.h), with baseline logits p and model logits q over the vocabulary V:
//   P = softmax(p), Q = softmax(q)                         (the two next-token distributions)
//   KLD_t = KL(P‖Q) = Σ_v P_v (log P_v − log Q_v)          nats, ≥ 0, 0 iff P = Q
//   top_t = argmax_v P_v, top'_t = argmax_v Q_v            (ties: the lowest token id)
//   Δp_t  = Q(top_t) − P(top_t)                            (the model's change to the baseline's favourite)
// Everything is computed in double with log-sum-exp, from float logits.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/eval/logits_file.h"
#include "core/eval/perplexity.h"
#include "core/model/llama_model.h"
#include "core/util/matrix.h"
#include "core/util/run_context.h"

namespace qb::core {

/// The statistics over N scored positions. Percentiles are nearest-rank (see kldPercentile()).
struct KldStatistics {
    std::int64_t positions = 0;        ///< N
    double kldMean = 0.0;              ///< (1/N) Σ_t KLD_t, nats
    double kldMedian = 0.0;            ///< kldMedianOfSorted() of the KLD_t
    double kldP90 = 0.0;               ///< kldPercentile(90) of the KLD_t
    double kldP99 = 0.0;               ///< kldPercentile(99) of the KLD_t
    double kldMax = 0.0;               ///< max_t KLD_t
    double top1AgreementPercent = 0.0; ///< 100 · |{t : top_t = top'_t}| / N
    double deltaPRmsPercent = 0.0;     ///< 100 · sqrt((1/N) Σ_t Δp_t²), percentage points
    /// 100 · |{t ∈ S : top_t = top'_t}| / |S| over the worst 1 %: S = the ⌈N/100⌉ positions of
    /// highest KLD (ties: the earlier position).
    double worstPercentTop1Percent = 0.0;
    std::int64_t worstPercentPositions = 0;  ///< |S|
    double perplexity = 0.0;           ///< the model's: exp((1/N) Σ_t −log Q_t(x_{t+1}))
    double baselinePerplexity = 0.0;   ///< the baseline's: exp((1/N) Σ_t −log P_t(x_{t+1}))
    double perplexityDeltaPercent = 0.0;  ///< 100 · (perplexity / baselinePerplexity − 1)
};

/// The p-th percentile (0 < p ≤ 100) of N ≥ 1 values sorted ascending, by nearest rank: the
/// value of rank ⌈p·N/100⌉ (1-based), so at least p % of the values are ≤ it and it is one of
/// them. Throws Error for an empty set or p outside (0, 100].
[[nodiscard]] double kldPercentile(std::span<const double> sortedAscending, double p);
/// The median of N ≥ 1 values sorted ascending: the middle value for odd N, the mean of the
/// two middle values for even N. Throws Error for an empty set.
[[nodiscard]] double kldMedianOfSorted(std::span<const double> sortedAscending);

/// Collects the per-position comparison block by block, so that the logits of one row block
/// of one window are all that is ever held; keeps 17 bytes per position. Not thread-safe (add()
/// itself runs its rows in parallel on the core thread pool).
class KldAccumulator {
public:
    /// Scores rows r of a block: baseline logits p [n, vocab], model logits q [n, vocab] and
    /// the tokens that followed, targets[r] (n ids). Throws Error on mismatched shapes.
    void add(const ConstMatrixRef& baselineLogits, const ConstMatrixRef& modelLogits, std::span<const int> targets);

    [[nodiscard]] std::int64_t positions() const { return std::int64_t(m_kld.size()); }
    /// KLD_t in the order added (a per-token strip).
    [[nodiscard]] const std::vector<double>& kld() const { return m_kld; }
    /// The statistics so far. Throws Error when no position was added.
    [[nodiscard]] KldStatistics statistics() const;

private:
    std::vector<double> m_kld;
    std::vector<double> m_deltaP;
    std::vector<char> m_sameTop;
    double m_nll = 0.0;          // Σ −log Q_t(x_{t+1})
    double m_baselineNll = 0.0;  // Σ −log P_t(x_{t+1})
};

struct BaselineEvalResult {
    KldStatistics stats;
    /// KLD_t of every scored position in scoring order: window by window, ctx − 1 positions
    /// each (position r of window w predicts stream[w·ctx + r + 1]); stats.positions values, nats.
    std::vector<double> tokenKld;
    int windows = 0;
    int ctx = 0;
    double seconds = 0.0;  ///< wall time of the forward passes and scoring
};

/// The statistics under the metric names a session stores them by (docs/session-format.md):
/// kld_mean, kld_median, kld_p90, kld_p99, kld_max, top1_agreement_percent,
/// delta_p_rms_percent, worst_1pct_top1_percent, worst_1pct_positions, baseline_perplexity,
/// perplexity_delta_percent. The model's own perplexity and the position count are left to the
/// caller (they are the run's "perplexity" and "predictions"). One spelling for the CLI's
/// `eval --baseline` and the workbench.
[[nodiscard]] std::map<std::string, double> kldMetrics(const KldStatistics& stats);
/// The statistics back from a run's metrics (kldMetrics' names, plus "perplexity" and
/// "predictions" when present); empty when the run has no kld_mean.
[[nodiscard]] std::optional<KldStatistics> kldStatisticsFromMetrics(const std::map<std::string, double>& metrics);

/// Runs `model` and `baseline` over the same windows of `stream` (options.ctx, maxWindows,
/// batchWindows as evaluatePerplexity; logitsSink is not called) and compares them at every
/// scored position. Both models must share the vocabulary. Memory: the hidden states of one
/// batch per model plus two row blocks of at most 32 MiB of logits. Progress per batch;
/// cancel between batches. Throws Error (text shorter than a window, vocabularies differ).
[[nodiscard]] BaselineEvalResult evaluateAgainstBaseline(const LlamaModel& model, const LlamaModel& baseline,
                                                         const std::vector<int>& stream, const PerplexityOptions& options,
                                                         const RunContext& ctx = {});

/// The same with the baseline's logits read from an `eval --save-logits` file. The file must
/// have been made on these windows: the text (textSha256 = SHA-256 of the text's bytes), ctx,
/// window count and tokens are checked before any forward (LogitsFile::checkMatches()).
[[nodiscard]] BaselineEvalResult evaluateAgainstBaseline(const LlamaModel& model, const LogitsFile& baseline,
                                                         const std::vector<int>& stream, const std::string& textSha256,
                                                         const PerplexityOptions& options, const RunContext& ctx = {});

}  // namespace qb::core
