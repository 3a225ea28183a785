#pragma once
// The multiple-choice knapsack behind the plan autopilot: pick exactly one item from every
// group (one candidate scheme per module) so that the total cost is smallest and the total
// bytes stay within a budget:
//
//   minimise Σ_g cost[g][x_g]   subject to   Σ_g bytes[g][x_g] ≤ B,   x_g ∈ {0 … |group g| − 1}.
//
// Solver: dynamic programming over a byte budget counted in units of u bytes. u is the
// greatest common divisor of every item size when the table fits (then the DP is exact:
// `exact` is true); otherwise u = ⌈B / maxCells⌉ and every size is rounded UP to whole units,
// so the solution still fits B in true bytes but may be slightly worse than the optimum. The
// Lagrangian dual bound
//   D(λ) = Σ_g min_x (cost[g][x] + λ·bytes[g][x]) − λ·B ≤ optimum   for every λ ≥ 0
// (maximised over λ by bisection on its subgradient) is reported either way, so the
// optimality gap cost − lowerBound is known. Pure; thread-safe.

#include <cstdint>
#include <vector>

namespace qb::core {

struct KnapsackItem {
    double cost = 0.0;        ///< what choosing it costs (e.g. ΔKLD in nats); any finite value
    std::uint64_t bytes = 0;  ///< what it occupies
};

struct KnapsackSolution {
    bool feasible = false;       ///< some choice fits the budget (else choice is empty)
    std::vector<int> choice;     ///< [groups]: the chosen item of each group
    double cost = 0.0;           ///< Σ cost of the choice
    std::uint64_t bytes = 0;     ///< Σ bytes of the choice (≤ budget)
    double lowerBound = 0.0;     ///< the Lagrangian dual bound: no choice within the budget costs less
    std::uint64_t unit = 1;      ///< u: the byte resolution of the DP
    bool exact = false;          ///< u divides every size: cost is the optimum
    [[nodiscard]] double gap() const { return cost - lowerBound; }  ///< ≥ 0 (up to rounding)
};

/// Solves the problem above. groups: every group non-empty, at most 65535 items. maxCells caps
/// the DP table at groups × (maxCells + 1) 16-bit choices. Infeasible (even the smallest item
/// of every group exceeds the budget together): feasible = false. Throws Error on an empty group.
[[nodiscard]] KnapsackSolution solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t budget,
                                                           std::uint64_t maxCells = std::uint64_t(1) << 20);

/// The other side of the same problem (a cost bound instead of a size budget): the choice of
/// least total bytes whose total cost is at most costBound,
///
///   minimise Σ_g bytes[g][x_g]   subject to   Σ_g cost[g][x_g] ≤ costBound,
///
/// read off the same DP table, run up to the size of the largest choice: best[w] is the least
/// cost within w units and does not increase with w, so the first w with best[w] ≤ costBound is
/// the smallest size (exact when u is the gcd of the sizes, as above; otherwise sizes are
/// rounded up to units and the size found may exceed the optimum by less than one unit per
/// group). Ties in size are broken by the least cost. lowerBound is set to cost (no dual bound).
/// Infeasible (even the least-cost choice exceeds costBound): feasible = false.
[[nodiscard]] KnapsackSolution solveMultipleChoiceKnapsackMinBytes(const std::vector<std::vector<KnapsackItem>>& groups, double costBound,
                                                                   std::uint64_t maxCells = std::uint64_t(1) << 20);

/// The Lagrangian dual bound D(λ*) of the problem (see above); −∞ when infeasible.
[[nodiscard]] double knapsackLagrangianBound(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t budget);

}  // namespace qb::core
