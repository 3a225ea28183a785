#include "core/plan/knapsack.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Σ_g min_x (cost + λ·bytes): the inner minimisation of D(λ), with the bytes it picks.
std::pair<double, double> lagrangianInner(const std::vector<std::vector<KnapsackItem>>& groups, double lambda) {
    double value = 0.0, bytes = 0.0;
    for (const auto& g : groups) {
        const KnapsackItem* best = &g.front();
        double bestValue = best->cost + lambda * double(best->bytes);
        for (const auto& item : g) {
            const double v = item.cost + lambda * double(item.bytes);
            if (v < bestValue || (v == bestValue && item.bytes < best->bytes)) best = &item, bestValue = v;
        }
        value += bestValue;
        bytes += double(best->bytes);
    }
    return {value, bytes};
}

}  // namespace

double knapsackLagrangianBound(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t budget) {
    const double B = double(budget);
    double minBytes = 0.0;
    for (const auto& g : groups) {
        if (g.empty()) throw Error("knapsack: a group has no item");
        minBytes += double(std::min_element(g.begin(), g.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes);
    }
    if (minBytes > B) return -kInf;
    // D(λ) is concave; its subgradient at λ is Σ bytes(λ) − B. Find λ_hi where the bytes fit.
    auto D = [&](double lambda) { return lagrangianInner(groups, lambda).first - lambda * B; };
    double lo = 0.0, hi = 1e-12;
    if (lagrangianInner(groups, 0.0).second <= B) return D(0.0);  // the unconstrained optimum fits
    while (lagrangianInner(groups, hi).second > B && hi < 1e300) hi *= 4.0;
    double best = std::max(D(lo), D(hi));
    for (int it = 0; it < 200; ++it) {
        const double mid = 0.5 * (lo + hi);
        const auto [value, bytes] = lagrangianInner(groups, mid);
        best = std::max(best, value - mid * B);
        (bytes > B ? lo : hi) = mid;
    }
    return best;
}

KnapsackSolution solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t budget,
                                             std::uint64_t maxCells) {
    KnapsackSolution s;
    std::uint64_t gcd = 0;
    for (const auto& g : groups) {
        if (g.empty()) throw Error("knapsack: a group has no item");
        if (g.size() > 65535) throw Error("knapsack: a group has more than 65535 items");
        for (const auto& item : g) gcd = std::gcd(gcd, item.bytes);
    }
    s.lowerBound = knapsackLagrangianBound(groups, budget);
    if (groups.empty()) return s.feasible = true, s;
    if (s.lowerBound == -kInf) return s;

    // u: exact (the gcd) when the table fits, else coarse with sizes rounded up.
    const std::uint64_t unitExact = std::max<std::uint64_t>(gcd, 1);
    s.exact = budget / unitExact <= maxCells;
    s.unit = s.exact ? unitExact : (budget + maxCells - 1) / maxCells;
    const std::size_t W = std::size_t(budget / s.unit);  // capacity in units
    auto units = [&](std::uint64_t bytes) { return std::size_t((bytes + s.unit - 1) / s.unit); };

    // best[w]: the least cost of the groups so far with at most w units; pick[g][w] its choice.
    std::vector<double> best(W + 1, 0.0), next(W + 1);
    std::vector<std::vector<std::uint16_t>> pick(groups.size(), std::vector<std::uint16_t>(W + 1, 0));
    for (std::size_t g = 0; g < groups.size(); ++g) {
        std::fill(next.begin(), next.end(), kInf);
        for (std::size_t x = 0; x < groups[g].size(); ++x) {
            const std::size_t wx = units(groups[g][x].bytes);
            const double cx = groups[g][x].cost;
            for (std::size_t w = wx; w <= W; ++w) {
                const double c = best[w - wx] + cx;
                if (c < next[w]) next[w] = c, pick[g][w] = std::uint16_t(x);
            }
        }
        best.swap(next);
    }
    if (!(best[W] < kInf)) return s;  // rounding up made it infeasible at this resolution

    s.feasible = true;
    s.choice.assign(groups.size(), 0);
    std::size_t w = W;
    for (std::size_t g = groups.size(); g-- > 0;) {
        const int x = pick[g][w];
        s.choice[g] = x;
        s.cost += groups[g][std::size_t(x)].cost;
        s.bytes += groups[g][std::size_t(x)].bytes;
        w -= units(groups[g][std::size_t(x)].bytes);
    }
    return s;
}

}  // namespace qb::core
