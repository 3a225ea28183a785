#include "core/plan/rank_correlation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/util/error.h"

namespace qb::core {

std::vector<double> averageRanks(std::span<const double> x) {
    std::vector<std::size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
    std::vector<double> rank(x.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
        const double r = 0.5 * double(i + j) + 1.0;  // the mean of ranks i+1 … j+1
        for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
        i = j + 1;
    }
    return rank;
}

double spearmanRankCorrelation(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size()) throw Error("rank correlation: " + std::to_string(x.size()) + " values against " + std::to_string(y.size()));
    if (x.size() < 2) return 0.0;
    const std::vector<double> rx = averageRanks(x), ry = averageRanks(y);
    const double n = double(rx.size()), mean = (n + 1.0) / 2.0;  // both rank sets have this mean
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        const double dx = rx[i] - mean, dy = ry[i] - mean;
        sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
    }
    return sxx > 0.0 && syy > 0.0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

}  // namespace qb::core
