#include "core/stats/weight_stats.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

std::uint64_t Histogram::total() const { return std::accumulate(counts.begin(), counts.end(), std::uint64_t(0)); }

namespace {

/// Equal-width edges over [−range, +range]; the end points are set exactly.
std::vector<double> symmetricEdges(double range, int bins) {
    std::vector<double> edges(std::size_t(bins) + 1);
    const double width = 2.0 * range / bins;
    for (int i = 0; i <= bins; ++i) edges[std::size_t(i)] = -range + width * i;
    edges.front() = -range;
    edges.back() = range;
    return edges;
}

/// The bin of v: the arithmetic guess, corrected against the stored edges so that counts agree
/// exactly with edges[i] <= v < edges[i+1] whatever the rounding of the guess.
int binOf(double v, const std::vector<double>& edges) {
    const int bins = int(edges.size()) - 1;
    const double range = edges.back();
    int i = int(std::floor((v + range) / (2.0 * range) * bins));
    i = std::clamp(i, 0, bins - 1);
    while (i > 0 && v < edges[std::size_t(i)]) --i;
    while (i < bins - 1 && v >= edges[std::size_t(i) + 1]) ++i;
    return i;
}

}  // namespace

WeightStats computeWeightStats(const ConstMatrixRef& W, const WeightStatsOptions& options) {
    if (options.histogramBins < 1)
        throw Error("weight statistics: histogram needs at least 1 bin, got " + std::to_string(options.histogramBins));
    const Index out = W.rows();
    const Index in = W.cols();
    WeightStats s;
    s.count = std::uint64_t(out) * std::uint64_t(in);
    s.rowAbsmax = VectorD::Zero(out);
    s.colAbsmax = VectorD::Zero(in);
    // Small matrices stay on one thread: an OpenMP fork/join costs more than they do.
    constexpr std::uint64_t kMinValuesPerThread = std::uint64_t(1) << 16;
    const int threads = std::max(1, int(std::min<std::uint64_t>({std::uint64_t(threadCount()), std::uint64_t(out),
                                                                 s.count / kMinValuesPerThread})));

    // Pass 1: per-row sum, min, max, absmax; per-thread column absmax.
    VectorD rowSum(out), rowMin(out), rowMax(out);
    std::vector<VectorD> colAbsmaxPart(std::size_t(threads), VectorD::Zero(in));
    bool finite = true;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) reduction(&& : finite)
    for (Index i = 0; i < out; ++i) {
        VectorD& colMax = colAbsmaxPart[std::size_t(omp_get_thread_num())];
        double sum = 0.0, lo = std::numeric_limits<double>::infinity(), hi = -lo, amax = 0.0;
        for (Index j = 0; j < in; ++j) {
            const double v = W(i, j);
            finite = finite && std::isfinite(v);
            sum += v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            amax = std::max(amax, std::abs(v));
            colMax[j] = std::max(colMax[j], std::abs(v));
        }
        rowSum[i] = sum;
        rowMin[i] = lo;
        rowMax[i] = hi;
        s.rowAbsmax[i] = amax;
    }
    if (!finite) throw Error("weight statistics: the weight holds a NaN or infinite value");
    for (const VectorD& part : colAbsmaxPart) s.colAbsmax = s.colAbsmax.cwiseMax(part);
    if (s.count == 0) {
        s.histogram.edges = symmetricEdges(1.0, options.histogramBins);
        s.histogram.counts.assign(std::size_t(options.histogramBins), 0);
        return s;
    }
    s.mean = rowSum.sum() / double(s.count);
    s.min = rowMin.minCoeff();
    s.max = rowMax.maxCoeff();
    s.absmax = std::max(std::abs(s.min), std::abs(s.max));

    // Pass 2: central moments about the mean, tail counts, histogram (exact integer counts).
    const std::vector<double> edges = symmetricEdges(s.absmax > 0.0 ? s.absmax : 1.0, options.histogramBins);
    VectorD rowM2(out), rowM4(out);
    std::vector<std::vector<std::uint64_t>> countsPart(std::size_t(threads),
                                                        std::vector<std::uint64_t>(std::size_t(options.histogramBins), 0));
    const double mean = s.mean;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (Index i = 0; i < out; ++i) {
        std::vector<std::uint64_t>& counts = countsPart[std::size_t(omp_get_thread_num())];
        double m2 = 0.0, m4 = 0.0;
        for (Index j = 0; j < in; ++j) {
            const double v = W(i, j);
            const double d2 = (v - mean) * (v - mean);
            m2 += d2;
            m4 += d2 * d2;
            ++counts[std::size_t(binOf(v, edges))];
        }
        rowM2[i] = m2;
        rowM4[i] = m4;
    }
    const double m2 = rowM2.sum() / double(s.count);
    const double m4 = rowM4.sum() / double(s.count);
    s.std = std::sqrt(m2);
    s.excessKurtosis = m2 > 0.0 ? m4 / (m2 * m2) - 3.0 : 0.0;

    // Tail fractions need σ, hence a third sweep; it only compares, so it is cheap.
    if (s.std > 0.0) {
        const double t3 = 3.0 * s.std, t6 = 6.0 * s.std;
        std::uint64_t beyond3 = 0, beyond6 = 0;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) reduction(+ : beyond3, beyond6)
        for (Index i = 0; i < out; ++i)
            for (Index j = 0; j < in; ++j) {
                const double d = std::abs(double(W(i, j)) - mean);
                beyond3 += d > t3;
                beyond6 += d > t6;
            }
        s.fracBeyond3Sigma = double(beyond3) / double(s.count);
        s.fracBeyond6Sigma = double(beyond6) / double(s.count);
    }
    s.histogram.edges = edges;
    s.histogram.counts.assign(std::size_t(options.histogramBins), 0);
    for (const auto& part : countsPart)
        for (std::size_t b = 0; b < part.size(); ++b) s.histogram.counts[b] += part[b];
    return s;
}

}  // namespace qb::core
