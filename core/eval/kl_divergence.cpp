#include "core/eval/kl_divergence.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

// One scored position: P = softmax(p) of the baseline, Q = softmax(q) of the model.
struct PositionScore {
    double kld = 0.0;          // KL(P‖Q)
    double deltaP = 0.0;       // Q(top) − P(top), top = argmax P
    bool sameTop = false;      // argmax P = argmax Q
    double nll = 0.0;          // −log Q(target)
    double baselineNll = 0.0;  // −log P(target)
};

// The definitions of kl_divergence.h, row by row in double. p, q: V logits each.
PositionScore scorePosition(const float* p, const float* q, Index V, int target) {
    // Phase 1: the arg-maxes (first index on ties) double as the log-sum-exp shifts.
    Index topP = 0, topQ = 0;
    for (Index v = 1; v < V; ++v) {
        if (p[v] > p[topP]) topP = v;
        if (q[v] > q[topQ]) topQ = v;
    }
    // Phase 2: log Σ_v exp(x_v) = m + log Σ_v exp(x_v − m), m = max_v x_v (no overflow).
    const double mP = p[topP], mQ = q[topQ];
    double zP = 0.0, zQ = 0.0;
    for (Index v = 0; v < V; ++v) {
        zP += std::exp(double(p[v]) - mP);
        zQ += std::exp(double(q[v]) - mQ);
    }
    const double lseP = mP + std::log(zP), lseQ = mQ + std::log(zQ);
    // Phase 3: KL(P‖Q) = Σ_v P_v (log P_v − log Q_v), with log P_v = p_v − lse(p).
    double kld = 0.0;
    for (Index v = 0; v < V; ++v) {
        const double logP = double(p[v]) - lseP, logQ = double(q[v]) - lseQ;
        kld += std::exp(logP) * (logP - logQ);
    }
    PositionScore s;
    // KL ≥ 0 (Gibbs); for logits equal up to float rounding the sum can land a few ulps below
    // zero, which would print as "-0.000000".
    s.kld = std::max(kld, 0.0);
    s.deltaP = std::exp(double(q[topP]) - lseQ) - std::exp(double(p[topP]) - lseP);
    s.sameTop = topP == topQ;
    s.nll = lseQ - double(q[target]);
    s.baselineNll = lseP - double(p[target]);
    return s;
}

// Logit rows per block: at most 32 MiB of floats per model (a 128k-entry vocabulary would
// need 262 MB for one window of 512).
Index blockRows(Index vocab) { return std::max<Index>(1, (Index(32) << 20) / (Index(sizeof(float)) * vocab)); }

// Where the baseline's logits come from: a second model (computed per batch) or a file.
struct BaselineSource {
    std::function<void(const std::vector<int>& batchTokens)> beginBatch;  // the batch's windows × ctx tokens
    // Rows [r0, r0 + n) of window w (global index; wInBatch within the batch): [n, vocab].
    std::function<Eigen::Map<const MatrixRM>(int w, int wInBatch, Index r0, Index n)> rows;
    std::function<void(int w)> windowDone;
};

// The shared driver: the model's logits block by block against the baseline's, window by window.
BaselineEvalResult compareWindows(const LlamaModel& model, const std::vector<int>& stream, const PerplexityOptions& options,
                                  int windows, const BaselineSource& baseline, const RunContext& ctx) {
    const Index T = options.ctx;
    const Index block = blockRows(model.config().vocabSize);
    const int batch = std::max(1, options.batchWindows);
    const auto start = std::chrono::steady_clock::now();
    KldAccumulator acc;
    for (int w0 = 0; w0 < windows; w0 += batch) {
        ctx.throwIfStopped();
        const int nw = std::min(batch, windows - w0);
        const std::vector<int> tokens(stream.begin() + std::ptrdiff_t(w0) * T, stream.begin() + std::ptrdiff_t(w0 + nw) * T);
        const MatrixRM hidden = model.forwardHidden(tokens, T, nullptr, &ctx);  // [nw·T, hidden]
        baseline.beginBatch(tokens);
        for (int w = 0; w < nw; ++w) {
            // The T − 1 predicting positions: row r is scored on token r + 1 of the window.
            for (Index r0 = 0; r0 < T - 1; r0 += block) {
                const Index n = std::min(block, T - 1 - r0);
                const MatrixRM q = model.logits(hidden.middleRows(Index(w) * T + r0, n));  // [n, vocab]
                const auto p = baseline.rows(w0 + w, w, r0, n);                           // [n, vocab]
                acc.add(p, q, std::span<const int>(tokens).subspan(std::size_t(Index(w) * T + r0 + 1), std::size_t(n)));
            }
            baseline.windowDone(w0 + w);
        }
        ctx.progress(double(w0 + nw) / windows, "KL divergence");
    }
    BaselineEvalResult r;
    r.stats = acc.statistics();
    r.tokenKld = acc.kld();
    r.windows = windows;
    r.ctx = int(T);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

int windowsOrThrow(const std::vector<int>& stream, const PerplexityOptions& options) {
    if (options.ctx < 2) throw Error("KL divergence: context must be at least 2 tokens");
    const int windows = perplexityWindowCount(stream.size(), options);
    if (windows == 0)
        throw Error("KL divergence: the text holds " + std::to_string(stream.size()) + " tokens, fewer than one window of " +
                    std::to_string(options.ctx));
    return windows;
}

}  // namespace

double kldPercentile(std::span<const double> sortedAscending, double p) {
    if (sortedAscending.empty()) throw Error("percentile of an empty set");
    if (!(p > 0.0 && p <= 100.0)) throw Error("percentile " + std::to_string(p) + " outside (0, 100]");
    const double N = double(sortedAscending.size());
    // rank = ⌈p·N/100⌉; p·N first, so that integral p and N give the exact quotient.
    const auto rank = std::size_t(std::ceil(p * N / 100.0));
    return sortedAscending[std::clamp<std::size_t>(rank, 1, sortedAscending.size()) - 1];
}

double kldMedianOfSorted(std::span<const double> sortedAscending) {
    const std::size_t N = sortedAscending.size();
    if (N == 0) throw Error("median of an empty set");
    return N % 2 == 1 ? sortedAscending[N / 2] : 0.5 * (sortedAscending[N / 2 - 1] + sortedAscending[N / 2]);
}

void KldAccumulator::add(const ConstMatrixRef& baselineLogits, const ConstMatrixRef& modelLogits,
                         std::span<const int> targets) {
    const Index n = baselineLogits.rows(), V = baselineLogits.cols();
    if (modelLogits.rows() != n || modelLogits.cols() != V || Index(targets.size()) != n)
        throw Error("KL divergence: baseline logits [" + std::to_string(n) + ", " + std::to_string(V) + "], model logits [" +
                    std::to_string(modelLogits.rows()) + ", " + std::to_string(modelLogits.cols()) + "] and " +
                    std::to_string(targets.size()) + " targets do not match");
    for (const int t : targets)
        if (t < 0 || Index(t) >= V) throw Error("KL divergence: target token " + std::to_string(t) + " outside the vocabulary");
    const std::size_t first = m_kld.size();
    m_kld.resize(first + std::size_t(n));
    m_deltaP.resize(first + std::size_t(n));
    m_sameTop.resize(first + std::size_t(n));
    double nll = 0.0, baselineNll = 0.0;
#pragma omp parallel for num_threads(threadCount()) reduction(+ : nll, baselineNll) schedule(static) if (n * V > (1 << 16))
    for (Index r = 0; r < n; ++r) {
        const PositionScore s = scorePosition(baselineLogits.row(r).data(), modelLogits.row(r).data(), V, targets[std::size_t(r)]);
        m_kld[first + std::size_t(r)] = s.kld;
        m_deltaP[first + std::size_t(r)] = s.deltaP;
        m_sameTop[first + std::size_t(r)] = s.sameTop;
        nll += s.nll;
        baselineNll += s.baselineNll;
    }
    m_nll += nll;
    m_baselineNll += baselineNll;
}

KldStatistics KldAccumulator::statistics() const {
    const std::size_t N = m_kld.size();
    if (N == 0) throw Error("KL divergence: no position was scored");
    KldStatistics s;
    s.positions = std::int64_t(N);
    std::vector<double> sorted = m_kld;
    std::sort(sorted.begin(), sorted.end());
    s.kldMean = std::accumulate(m_kld.begin(), m_kld.end(), 0.0) / double(N);
    s.kldMedian = kldMedianOfSorted(sorted);
    s.kldP90 = kldPercentile(sorted, 90.0);
    s.kldP99 = kldPercentile(sorted, 99.0);
    s.kldMax = sorted.back();
    s.top1AgreementPercent = 100.0 * double(std::count(m_sameTop.begin(), m_sameTop.end(), char(1))) / double(N);
    const double sumSquares = std::inner_product(m_deltaP.begin(), m_deltaP.end(), m_deltaP.begin(), 0.0);
    s.deltaPRmsPercent = 100.0 * std::sqrt(sumSquares / double(N));
    // The worst 1 %: the ⌈N/100⌉ positions of highest KLD, ties to the earlier position.
    const std::size_t k = (N + 99) / 100;
    std::vector<std::size_t> order(N);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::nth_element(order.begin(), order.begin() + std::ptrdiff_t(k - 1), order.end(), [&](std::size_t a, std::size_t b) {
        return m_kld[a] != m_kld[b] ? m_kld[a] > m_kld[b] : a < b;
    });
    std::size_t same = 0;
    for (std::size_t i = 0; i < k; ++i) same += m_sameTop[order[i]] ? 1 : 0;
    s.worstPercentPositions = std::int64_t(k);
    s.worstPercentTop1Percent = 100.0 * double(same) / double(k);
    s.perplexity = std::exp(m_nll / double(N));
    s.baselinePerplexity = std::exp(m_baselineNll / double(N));
    s.perplexityDeltaPercent = 100.0 * (s.perplexity / s.baselinePerplexity - 1.0);
    return s;
}

BaselineEvalResult evaluateAgainstBaseline(const LlamaModel& model, const LlamaModel& baseline, const std::vector<int>& stream,
                                           const PerplexityOptions& options, const RunContext& ctx) {
    const int windows = windowsOrThrow(stream, options);
    const Index V = model.config().vocabSize;
    if (baseline.config().vocabSize != V)
        throw Error("KL divergence: the baseline's vocabulary has " + std::to_string(baseline.config().vocabSize) +
                    " tokens, the model's " + std::to_string(V));
    const Index T = options.ctx;
    MatrixRM hidden, logits;  // the baseline's hidden states of one batch, logits of one block
    BaselineSource source;
    source.beginBatch = [&](const std::vector<int>& tokens) { hidden = baseline.forwardHidden(tokens, T, nullptr, &ctx); };
    source.rows = [&](int, int wInBatch, Index r0, Index n) {
        logits = baseline.logits(hidden.middleRows(Index(wInBatch) * T + r0, n));
        return Eigen::Map<const MatrixRM>(logits.data(), logits.rows(), logits.cols());
    };
    source.windowDone = [](int) {};
    return compareWindows(model, stream, options, windows, source, ctx);
}

BaselineEvalResult evaluateAgainstBaseline(const LlamaModel& model, const LogitsFile& baseline, const std::vector<int>& stream,
                                           const std::string& textSha256, const PerplexityOptions& options,
                                           const RunContext& ctx) {
    const int windows = windowsOrThrow(stream, options);
    baseline.checkMatches(stream, options.ctx, windows, textSha256, model.config().vocabSize);
    BaselineSource source;
    source.beginBatch = [](const std::vector<int>&) {};
    source.rows = [&](int w, int, Index r0, Index n) {
        const auto all = baseline.logits(w);  // [ctx, vocab] in the mapping
        return Eigen::Map<const MatrixRM>(all.data() + r0 * all.cols(), n, all.cols());
    };
    source.windowDone = [&](int w) { baseline.release(w); };
    return compareWindows(model, stream, options, windows, source, ctx);
}

std::map<std::string, double> kldMetrics(const KldStatistics& s) {
    return {{"kld_mean", s.kldMean},
            {"kld_median", s.kldMedian},
            {"kld_p90", s.kldP90},
            {"kld_p99", s.kldP99},
            {"kld_max", s.kldMax},
            {"top1_agreement_percent", s.top1AgreementPercent},
            {"delta_p_rms_percent", s.deltaPRmsPercent},
            {"worst_1pct_top1_percent", s.worstPercentTop1Percent},
            {"worst_1pct_positions", double(s.worstPercentPositions)},
            {"baseline_perplexity", s.baselinePerplexity},
            {"perplexity_delta_percent", s.perplexityDeltaPercent}};
}

std::optional<KldStatistics> kldStatisticsFromMetrics(const std::map<std::string, double>& metrics) {
    const auto get = [&](const char* key) {
        const auto it = metrics.find(key);
        return it == metrics.end() ? 0.0 : it->second;
    };
    if (!metrics.contains("kld_mean")) return std::nullopt;
    KldStatistics s;
    s.positions = std::int64_t(get("predictions"));
    s.kldMean = get("kld_mean");
    s.kldMedian = get("kld_median");
    s.kldP90 = get("kld_p90");
    s.kldP99 = get("kld_p99");
    s.kldMax = get("kld_max");
    s.top1AgreementPercent = get("top1_agreement_percent");
    s.deltaPRmsPercent = get("delta_p_rms_percent");
    s.worstPercentTop1Percent = get("worst_1pct_top1_percent");
    s.worstPercentPositions = std::int64_t(get("worst_1pct_positions"));
    s.perplexity = get("perplexity");
    s.baselinePerplexity = get("baseline_perplexity");
    s.perplexityDeltaPercent = get("perplexity_delta_percent");
    return s;
}

}  // namespace qb::core
