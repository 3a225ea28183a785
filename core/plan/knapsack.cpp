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

namespace {

// The DP of the header over capacities 0 … W units: best[w] = the least cost of all groups
// with at most w units (non-increasing in w), pick[g][w] the choice of group g there.
struct DpTable {
    std::uint64_t unit = 1;
    bool exact = false;
    std::vector<double> best;
    std::vector<std::vector<std::uint16_t>> pick;
    [[nodiscard]] std::size_t units(std::uint64_t bytes) const { return std::size_t((bytes + unit - 1) / unit); }
};

// Throws on an empty or oversized group; returns the gcd of every item size (≥ 1).
std::uint64_t checkGroups(const std::vector<std::vector<KnapsackItem>>& groups) {
    std::uint64_t gcd = 0;
    for (const auto& g : groups) {
        if (g.empty()) throw Error("knapsack: a group has no item");
        if (g.size() > 65535) throw Error("knapsack: a group has more than 65535 items");
        for (const auto& item : g) gcd = std::gcd(gcd, item.bytes);
    }
    return std::max<std::uint64_t>(gcd, 1);
}

// u: exact (the gcd) when capacity/gcd fits maxCells, else ⌈capacity / maxCells⌉ with sizes rounded up.
DpTable runDp(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t capacity, std::uint64_t gcd, std::uint64_t maxCells) {
    DpTable t;
    t.exact = capacity / gcd <= maxCells;
    t.unit = t.exact ? gcd : (capacity + maxCells - 1) / maxCells;
    const std::size_t W = std::size_t(capacity / t.unit);
    t.best.assign(W + 1, 0.0);
    std::vector<double> next(W + 1);
    t.pick.assign(groups.size(), std::vector<std::uint16_t>(W + 1, 0));
    for (std::size_t g = 0; g < groups.size(); ++g) {
        std::fill(next.begin(), next.end(), kInf);
        for (std::size_t x = 0; x < groups[g].size(); ++x) {
            const std::size_t wx = t.units(groups[g][x].bytes);
            const double cx = groups[g][x].cost;
            for (std::size_t w = wx; w <= W; ++w) {
                const double c = t.best[w - wx] + cx;
                if (c < next[w]) next[w] = c, t.pick[g][w] = std::uint16_t(x);
            }
        }
        t.best.swap(next);
    }
    return t;
}

// The choice behind best[w], walked back group by group.
void backtrack(const std::vector<std::vector<KnapsackItem>>& groups, const DpTable& t, std::size_t w, KnapsackSolution& s) {
    s.feasible = true;
    s.choice.assign(groups.size(), 0);
    for (std::size_t g = groups.size(); g-- > 0;) {
        s.choice[g] = t.pick[g][w];
        w -= t.units(groups[g][std::size_t(s.choice[g])].bytes);
    }
    // Summed in group order, as the DP summed best[]: the cost compared with a bound is the DP's to the last bit.
    for (std::size_t g = 0; g < groups.size(); ++g) {
        s.cost += groups[g][std::size_t(s.choice[g])].cost;
        s.bytes += groups[g][std::size_t(s.choice[g])].bytes;
    }
}

}  // namespace

KnapsackSolution solveMultipleChoiceKnapsack(const std::vector<std::vector<KnapsackItem>>& groups, std::uint64_t budget,
                                             std::uint64_t maxCells) {
    KnapsackSolution s;
    const std::uint64_t gcd = checkGroups(groups);
    s.lowerBound = knapsackLagrangianBound(groups, budget);
    if (groups.empty()) return s.feasible = true, s;
    if (s.lowerBound == -kInf) return s;
    const DpTable t = runDp(groups, budget, gcd, maxCells);
    s.exact = t.exact;
    s.unit = t.unit;
    if (!(t.best.back() < kInf)) return s;  // rounding up made it infeasible at this resolution
    backtrack(groups, t, t.best.size() - 1, s);
    return s;
}

KnapsackSolution solveMultipleChoiceKnapsackMinBytes(const std::vector<std::vector<KnapsackItem>>& groups, double costBound,
                                                     std::uint64_t maxCells) {
    KnapsackSolution s;
    const std::uint64_t gcd = checkGroups(groups);
    if (groups.empty()) return s.feasible = costBound >= 0.0, s;
    // The largest plan bounds the capacity: beyond it best[] no longer changes.
    std::uint64_t capacity = 0;
    for (const auto& g : groups)
        capacity += std::max_element(g.begin(), g.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes;
    const DpTable t = runDp(groups, capacity, gcd, maxCells);
    s.exact = t.exact;
    s.unit = t.unit;
    // best[] is non-increasing: the first w whose least cost is within the bound is the smallest size.
    const auto it = std::find_if(t.best.begin(), t.best.end(), [&](double c) { return c <= costBound; });
    if (it == t.best.end()) return s;
    backtrack(groups, t, std::size_t(it - t.best.begin()), s);
    s.lowerBound = s.cost;  // no Lagrangian bound for this problem: the reported cost is the one achieved
    return s;
}

}  // namespace qb::core
