#include "core/stats/activation_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {
namespace {

constexpr int kMantissaBits = 6;                     // bucket width: 1/64 of an octave
constexpr int kKeyShift = 23 - kMantissaBits;        // float bits -> bucket key
constexpr std::uint32_t kKeysPerOctave = 1u << kMantissaBits;
constexpr std::uint32_t kAbsMask = 0x7FFFFFFFu;
constexpr std::uint32_t kExponentMask = 0x7F800000u;

float floatOfKey(std::uint32_t key) { return std::bit_cast<float>(key << kKeyShift); }

void validate(Index in, const ActivationStatsOptions& o) {
    const char* problem = nullptr;
    if (in < 1) problem = "needs at least one input channel";
    else if (!(o.llmInt8Threshold > 0.0)) problem = "the LLM.int8() threshold must be positive";
    else if (!(o.relativeFactor > 0.0)) problem = "the relative outlier factor must be positive";
    else if (!(o.percentile > 0.0 && o.percentile <= 1.0)) problem = "the percentile must lie in (0, 1]";
    else if (o.percentileOctaves < 2 || o.percentileOctaves > 64) problem = "percentileOctaves must lie in [2, 64]";
    else if (o.sampleTokens < 0) problem = "sampleTokens must not be negative";
    if (problem) throw Error(std::string("activation statistics: ") + problem);
}

double medianOf(std::vector<double> v) {
    if (v.empty()) return 0.0;
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(mid), v.end());
    const double upper = v[mid];
    if (v.size() % 2 == 1) return upper;
    const double lower = *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(mid));
    return 0.5 * (lower + upper);
}

}  // namespace

std::string outlierRuleName(OutlierRule rule) {
    switch (rule) {
        case OutlierRule::LlmInt8: return "llm_int8";
        case OutlierRule::Relative: return "relative";
        case OutlierRule::Both: return "both";
    }
    return "relative";
}

ActivationStatsAccumulator::ActivationStatsAccumulator(Index inFeatures, ActivationStatsOptions options)
    : m_options(options), m_in(inFeatures) {
    validate(inFeatures, options);
    m_windowKeys = std::uint32_t(options.percentileOctaves) * kKeysPerOctave;
    const auto n = std::size_t(inFeatures);
    m_absmax.assign(n, 0.0f);
    m_sumAbs.assign(n, 0.0);
    m_sumSq.assign(n, 0.0);
    m_countInt8.assign(n, 0);
    m_finite.assign(n, 0);
    m_below.assign(n, 0);
    m_low.assign(n, 0);
    m_hist.assign(n * m_windowKeys, 0);
    m_sample.resize(options.sampleTokens, inFeatures);
}

void ActivationStatsAccumulator::shiftWindow(Index channel, std::uint32_t key) {
    // Move the window up so that `key` sits one octave below its top (headroom, so a slowly
    // growing maximum does not shift on every value); keys that fall out are only counted.
    std::uint32_t* hist = m_hist.data() + std::size_t(channel) * m_windowKeys;
    const std::uint32_t oldLow = m_low[std::size_t(channel)];
    const std::uint32_t newLow = key + kKeysPerOctave + 1 - m_windowKeys;
    const std::uint32_t shift = newLow - oldLow;
    std::uint64_t dropped = 0;
    for (std::uint32_t i = 0; i < std::min(shift, m_windowKeys); ++i) dropped += hist[i];
    if (shift < m_windowKeys) {
        std::copy(hist + shift, hist + m_windowKeys, hist);
        std::fill(hist + (m_windowKeys - shift), hist + m_windowKeys, 0u);
    } else {
        std::fill(hist, hist + m_windowKeys, 0u);
    }
    m_below[std::size_t(channel)] += dropped;
    m_low[std::size_t(channel)] = newLow;
}

void ActivationStatsAccumulator::addChannels(const ConstMatrixRef& X, Index begin, Index end) {
    const float threshold = float(m_options.llmInt8Threshold);
    const Index sampleRows = std::max<Index>(0, std::min<Index>(X.rows(), m_sample.rows() - Index(m_tokens)));
    for (Index t = 0; t < X.rows(); ++t) {
        for (Index c = begin; c < end; ++c) {
            const float a = std::abs(X(t, c));
            if (t < sampleRows) m_sample(Index(m_tokens) + t, c) = a;
            const std::uint32_t bits = std::bit_cast<std::uint32_t>(a) & kAbsMask;
            if ((bits & kExponentMask) == kExponentMask) continue;  // NaN or Inf
            const auto j = std::size_t(c);
            ++m_finite[j];
            m_absmax[j] = std::max(m_absmax[j], a);
            m_sumAbs[j] += a;
            m_sumSq[j] += double(a) * double(a);
            m_countInt8[j] += a >= threshold;
            const std::uint32_t key = bits >> kKeyShift;
            if (key < m_low[j]) {
                ++m_below[j];
                continue;
            }
            if (key - m_low[j] >= m_windowKeys) shiftWindow(c, key);
            ++m_hist[j * m_windowKeys + (key - m_low[j])];
        }
    }
}

void ActivationStatsAccumulator::add(const ConstMatrixRef& X) {
    if (X.cols() != m_in)
        throw Error("activation statistics: expected " + std::to_string(m_in) + " input channels, got " +
                    std::to_string(X.cols()));
    if (X.rows() == 0) return;
    if (m_tokens + std::uint64_t(X.rows()) > std::numeric_limits<std::uint32_t>::max())
        throw Error("activation statistics: more than 2^32 - 1 tokens per module are not supported");
    // Parallel over channel blocks: every channel is owned by one thread and sees the tokens in
    // order, so the sums do not depend on the thread count.
    // Small chunks stay on one thread: an OpenMP fork/join costs more than they do.
    constexpr Index kMinChannelsPerThread = 16;
    constexpr Index kMinValuesPerThread = Index(1) << 16;
    const int threads = std::max(1, int(std::min<Index>({Index(threadCount()), m_in / kMinChannelsPerThread,
                                                         X.size() / kMinValuesPerThread})));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int b = 0; b < threads; ++b) addChannels(X, m_in * b / threads, m_in * (b + 1) / threads);
    m_tokens += std::uint64_t(X.rows());
}

double ActivationStatsAccumulator::percentileOf(Index channel) const {
    // Nearest rank: the k-th smallest of n with k = ⌈p·n⌉, i.e. the value with m = n − k + 1
    // values at or above it. Walk the window from the top until m values are covered.
    const auto j = std::size_t(channel);
    const std::uint64_t n = m_finite[j];
    if (n == 0) return 0.0;
    const double pn = m_options.percentile * double(n);
    const auto k = std::clamp<std::uint64_t>(std::uint64_t(std::ceil(pn - 1e-9)), 1, n);
    const std::uint64_t m = n - k + 1;
    if (m == 1) return m_absmax[j];  // the quantile is the maximum, known exactly
    const std::uint32_t* hist = m_hist.data() + j * m_windowKeys;
    std::uint64_t covered = 0;
    for (std::uint32_t i = m_windowKeys; i-- > 0;) {
        covered += hist[i];
        if (covered >= m) {
            // The bucket [lo, hi) holds the quantile; in the top bucket hi is absmax itself.
            const std::uint32_t key = m_low[j] + i;
            const double lo = floatOfKey(key);
            const double hi = std::min(double(floatOfKey(key + 1)), double(m_absmax[j]));
            return 0.5 * (lo + hi);
        }
    }
    return std::min(double(floatOfKey(m_low[j])), double(m_absmax[j]));  // below the window: its floor bounds it
}

ActivationStats ActivationStatsAccumulator::finish() const {
    ActivationStats s;
    s.options = m_options;
    s.inFeatures = m_in;
    s.tokens = m_tokens;
    s.absmax.resize(m_in);
    s.meanAbs.resize(m_in);
    s.rms.resize(m_in);
    s.hessianDiag.resize(m_in);
    s.percentileAbs.resize(m_in);
    s.int8Fraction.resize(m_in);
    for (Index c = 0; c < m_in; ++c) {
        const auto j = std::size_t(c);
        const double n = double(m_finite[j]);
        s.nonFinite += m_tokens - m_finite[j];
        s.absmax[c] = m_absmax[j];
        s.meanAbs[c] = n > 0 ? m_sumAbs[j] / n : 0.0;
        s.hessianDiag[c] = n > 0 ? m_sumSq[j] / n : 0.0;
        s.rms[c] = std::sqrt(s.hessianDiag[c]);
        s.int8Fraction[c] = n > 0 ? double(m_countInt8[j]) / n : 0.0;
        s.percentileAbs[c] = percentileOf(c);
    }
    s.medianAbsmax = medianOf(std::vector<double>(s.absmax.data(), s.absmax.data() + m_in));
    const double relativeLimit = m_options.relativeFactor * s.medianAbsmax;
    for (Index c = 0; c < m_in; ++c) {
        const bool int8 = s.absmax[c] >= m_options.llmInt8Threshold;
        const bool relative = s.medianAbsmax > 0.0 && s.absmax[c] >= relativeLimit;
        if (!int8 && !relative) continue;
        const OutlierRule rule = int8 && relative ? OutlierRule::Both : int8 ? OutlierRule::LlmInt8 : OutlierRule::Relative;
        s.outliers.push_back({c, s.absmax[c], rule, s.int8Fraction[c]});
    }
    std::sort(s.outliers.begin(), s.outliers.end(), [](const OutlierChannel& a, const OutlierChannel& b) {
        return a.absmax != b.absmax ? a.absmax > b.absmax : a.index < b.index;
    });
    s.sample = m_sample.topRows(std::min<Index>(Index(m_tokens), m_sample.rows()));
    return s;
}

ActivationStats computeActivationStats(const ConstMatrixRef& X, const ActivationStatsOptions& options) {
    ActivationStatsAccumulator acc(X.cols(), options);
    acc.add(X);
    return acc.finish();
}

}  // namespace qb::core
