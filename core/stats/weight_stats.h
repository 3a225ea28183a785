#pragma once
// Weight statistics of one linear module: moments, tails, a histogram and per-row/per-column
// absolute maxima — the numbers behind the GUI's weight views and the inspect report.
//
// W: [out, in], row-major (core/util/matrix.h). All sums are in double.

#include <cstdint>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

/// A histogram with explicit bin edges. Bin i holds the values v with edges[i] <= v < edges[i+1];
/// the last bin also holds v == edges.back(). counts are exact.
struct Histogram {
    std::vector<double> edges;          ///< [bins + 1], strictly increasing
    std::vector<std::uint64_t> counts;  ///< [bins]

    [[nodiscard]] int bins() const { return int(counts.size()); }
    [[nodiscard]] std::uint64_t total() const;
};

struct WeightStatsOptions {
    /// Number of histogram bins over [-absmax, +absmax]. Odd keeps 0 in the middle of the
    /// middle bin (an even count puts 0 on an edge). Must be >= 1.
    int histogramBins = 101;
};

struct WeightStats {
    std::uint64_t count = 0;    ///< out × in
    double mean = 0.0;
    double std = 0.0;           ///< population standard deviation σ = sqrt(Σ(w−mean)²/count)
    double min = 0.0;
    double max = 0.0;
    double absmax = 0.0;        ///< max |w|
    double excessKurtosis = 0.0;  ///< m4/m2² − 3 with central moments m_k = Σ(w−mean)^k/count; 0 when σ = 0
    double fracBeyond3Sigma = 0.0;  ///< fraction of w with |w − mean| > 3σ (0 when σ = 0)
    double fracBeyond6Sigma = 0.0;  ///< fraction of w with |w − mean| > 6σ (0 when σ = 0)
    /// Histogram of w over [−absmax, +absmax] (over [−1, 1] when absmax = 0, so edges stay increasing).
    Histogram histogram;
    VectorD rowAbsmax;  ///< [out]: max_j |W(i, j)|
    VectorD colAbsmax;  ///< [in]:  max_i |W(i, j)|
};

/// Computes the statistics of W [out, in]: one pass for sums and extrema, one for the central
/// moments and the histogram, and a compare-only sweep for the σ tails (they need σ). Parallel
/// over rows; per-row partial sums are combined in row order, so the result does not depend on
/// the thread count. Cost ≈ 3 reads of W; no copy is made. Throws Error when histogramBins < 1 or W has a non-finite value.
[[nodiscard]] WeightStats computeWeightStats(const ConstMatrixRef& W, const WeightStatsOptions& options = {});

}  // namespace qb::core
