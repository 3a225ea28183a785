#pragma once
// Activation statistics of one linear module's input X: [tokens, in_features], row-major,
// streamed chunk by chunk as an ActivationTap delivers them (core/model/activation_tap.h).
//
// Per input channel j (over all tokens t seen):
//   absmax_j = max_t |x_tj|            meanAbs_j = mean_t |x_tj|        rms_j = sqrt(mean_t x_tj²)
//   hessianDiag_j = mean_t x_tj²  (the diagonal of H = XᵀX / tokens that GPTQ weighs errors with)
//   percentileAbs_j ≈ the p-th quantile of |x_tj| (p = 0.999 by default; method below)
//   int8Fraction_j = fraction of tokens with |x_tj| >= llmInt8Threshold
// Outlier channels by two rules:
//   llm_int8  — any |x_tj| >= llmInt8Threshold (6.0; Dettmers et al. 2022, LLM.int8() §3.2)
//   relative  — absmax_j >= relativeFactor × median_j(absmax_j)   (factor 20 by default)
//
// Percentile method (memory-bounded, ≤ 0.79 % relative error): a per-channel logarithmic
// histogram keyed by the top bits of the float: key = bits(|x|) >> 17, i.e. the exponent and
// the 6 leading mantissa bits, so each bucket spans [a, a·(1 + 1/64)). The quantile is the
// nearest-rank value (the ⌈p·n⌉-th smallest of n); its bucket is found exactly and reported as
// the bucket midpoint, hence a relative error ≤ 1/128 (the top bucket ends at absmax; when the
// quantile is the maximum itself, absmax is reported exactly). Each channel keeps a
// window of `percentileOctaves` octaves (20 by default: values down to absmax / 2^19) that
// follows the channel's running maximum; smaller values are only counted. If the quantile
// falls below the window (the top 0.1 % spans more than 2^19×), the window floor is reported,
// an upper bound. Memory: in × octaves × 64 × 4 bytes (5 KiB per channel by default),
// independent of the number of tokens (uint32 bucket counts: at most 2^32 − 1 tokens).

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

struct ActivationStatsOptions {
    double llmInt8Threshold = 6.0;  ///< |x| at or above which a channel is an LLM.int8() outlier
    double relativeFactor = 20.0;   ///< relative rule: absmax >= factor × median channel absmax
    double percentile = 0.999;      ///< quantile of |x| reported per channel, in (0, 1]
    int percentileOctaves = 20;     ///< dynamic range of the quantile histogram below the channel max, >= 2
    Index sampleTokens = 256;       ///< rows of the token × channel |x| sample kept (the first tokens seen)
};

/// Which rule flagged an outlier channel.
enum class OutlierRule { LlmInt8, Relative, Both };
/// "llm_int8", "relative", "both"
[[nodiscard]] std::string outlierRuleName(OutlierRule rule);

struct OutlierChannel {
    Index index = 0;           ///< input channel
    double absmax = 0.0;       ///< max |x| of the channel
    OutlierRule rule = OutlierRule::Relative;
    double int8Fraction = 0.0;  ///< fraction of tokens with |x| >= llmInt8Threshold
};

struct ActivationStats {
    ActivationStatsOptions options;  ///< the thresholds these numbers were computed with
    Index inFeatures = 0;
    std::uint64_t tokens = 0;        ///< rows seen
    std::uint64_t nonFinite = 0;     ///< NaN/Inf values seen (excluded from every statistic)
    VectorD absmax;         ///< [in]
    VectorD meanAbs;        ///< [in]
    VectorD rms;            ///< [in]
    VectorD hessianDiag;    ///< [in] mean x²
    VectorD percentileAbs;  ///< [in] ≈ options.percentile quantile of |x|
    VectorD int8Fraction;   ///< [in]
    double medianAbsmax = 0.0;  ///< median over channels of absmax (mean of the two middle ones for even in)
    /// Union of both rules, sorted by absmax (largest first, then by index). The relative rule
    /// flags nothing when medianAbsmax is 0.
    std::vector<OutlierChannel> outliers;
    /// [min(tokens, sampleTokens), in]: |x| of the first tokens seen, float.
    MatrixRM sample;
};

/// Streams X chunks into per-channel statistics. Feed with add(); call finish() at any time
/// (it does not consume the state). add() is parallel over channels and independent of the
/// thread count; one object must not be fed from two threads at once.
class ActivationStatsAccumulator {
public:
    /// Throws Error for inFeatures < 1 or invalid options.
    explicit ActivationStatsAccumulator(Index inFeatures, ActivationStatsOptions options = {});

    /// X: [tokens, in_features]. Throws Error when X has another column count or the total
    /// would exceed 2^32 − 1 tokens.
    void add(const ConstMatrixRef& X);
    [[nodiscard]] std::uint64_t tokens() const { return m_tokens; }
    [[nodiscard]] Index inFeatures() const { return m_in; }
    [[nodiscard]] ActivationStats finish() const;

private:
    void addChannels(const ConstMatrixRef& X, Index begin, Index end);
    void shiftWindow(Index channel, std::uint32_t key);
    [[nodiscard]] double percentileOf(Index channel) const;

    ActivationStatsOptions m_options;
    Index m_in = 0;
    std::uint32_t m_windowKeys = 0;          // keys per channel window = octaves × 64
    std::uint64_t m_tokens = 0;
    std::vector<float> m_absmax;             // [in]
    std::vector<double> m_sumAbs;            // [in]
    std::vector<double> m_sumSq;             // [in]
    std::vector<std::uint64_t> m_countInt8;  // [in]
    std::vector<std::uint64_t> m_finite;     // [in] finite values seen
    std::vector<std::uint64_t> m_below;      // [in] values below the histogram window
    std::vector<std::uint32_t> m_low;        // [in] lowest key of the window
    std::vector<std::uint32_t> m_hist;       // [in, windowKeys]
    MatrixRM m_sample;                       // [sampleTokens, in]
};

/// Convenience: the statistics of one whole X [tokens, in].
[[nodiscard]] ActivationStats computeActivationStats(const ConstMatrixRef& X, const ActivationStatsOptions& options = {});

}  // namespace qb::core
