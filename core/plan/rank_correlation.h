#pragma once
// Spearman's rank correlation ρ of two samples: the Pearson correlation of their ranks, ties
// given the average of the ranks they span (so ρ is exact with ties, not the 1 − 6Σd²/… form).

#include <span>
#include <vector>

namespace qb::core {

/// Ranks 1..n of x, ties averaged: {10, 20, 20, 5} → {2, 3.5, 3.5, 1}.
[[nodiscard]] std::vector<double> averageRanks(std::span<const double> x);
/// ρ of x and y (same size ≥ 2); 0 when either is constant. Throws Error on different sizes.
[[nodiscard]] double spearmanRankCorrelation(std::span<const double> x, std::span<const double> y);

}  // namespace qb::core
