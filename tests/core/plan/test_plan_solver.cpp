// The autopilot's solver and helpers without a model: the multiple-choice knapsack against
// brute force on small random instances (fixed seeds), its coarse mode's guarantees, Spearman's
// ρ with ties against a value worked out by hand, the candidate space and the --bits parser.
#include <QtTest>

#include <numeric>
#include <optional>
#include <random>

#include "core/plan/knapsack.h"
#include "core/plan/plan_candidates.h"
#include "core/plan/rank_correlation.h"
#include "core/quant/scheme_size.h"
#include "core/util/error.h"

using namespace qb::core;

namespace {

using Groups = std::vector<std::vector<KnapsackItem>>;

Groups randomInstance(std::mt19937& rng, int groups, int maxItems) {
    std::uniform_int_distribution<int> items(1, maxItems);
    std::uniform_int_distribution<std::uint64_t> bytes(1, 60);
    std::uniform_real_distribution<double> cost(0.0, 10.0);
    Groups g(static_cast<std::size_t>(groups));
    for (auto& group : g)
        for (int i = items(rng); i > 0; --i) group.push_back({cost(rng), 4 * bytes(rng)});  // sizes share the factor 4
    return g;
}

// The least cost over every choice within budget, by enumeration; +∞ when none fits.
double bruteForce(const Groups& g, std::uint64_t budget) {
    double best = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> x(g.size(), 0);
    while (true) {
        double c = 0.0;
        std::uint64_t b = 0;
        for (std::size_t i = 0; i < g.size(); ++i) c += g[i][x[i]].cost, b += g[i][x[i]].bytes;
        if (b <= budget) best = std::min(best, c);
        std::size_t i = 0;
        while (i < g.size() && ++x[i] == g[i].size()) x[i++] = 0;
        if (i == g.size()) return best;
    }
}

// The least size over every choice whose cost is within bound (+ the least cost at that size);
// nullopt when none is.
std::optional<std::pair<std::uint64_t, double>> bruteForceMinBytes(const Groups& g, double bound) {
    std::optional<std::pair<std::uint64_t, double>> best;
    std::vector<std::size_t> x(g.size(), 0);
    while (true) {
        double c = 0.0;
        std::uint64_t b = 0;
        for (std::size_t i = 0; i < g.size(); ++i) c += g[i][x[i]].cost, b += g[i][x[i]].bytes;
        if (c <= bound && (!best || std::make_pair(b, c) < *best)) best = std::make_pair(b, c);
        std::size_t i = 0;
        while (i < g.size() && ++x[i] == g[i].size()) x[i++] = 0;
        if (i == g.size()) return best;
    }
}

void checkChoice(const Groups& g, const KnapsackSolution& s, std::uint64_t budget) {
    QCOMPARE(s.choice.size(), g.size());
    double c = 0.0;
    std::uint64_t b = 0;
    for (std::size_t i = 0; i < g.size(); ++i) c += g[i][std::size_t(s.choice[i])].cost, b += g[i][std::size_t(s.choice[i])].bytes;
    QCOMPARE(b, s.bytes);
    QVERIFY(qAbs(c - s.cost) < 1e-9);
    QVERIFY(b <= budget);
}

}  // namespace

class TestPlanSolver : public QObject {
    Q_OBJECT
private slots:
    // The dual problem (a KLD bound, the smallest size within it) read off the same DP equals
    // enumeration: the same least size, and the least cost among choices of that size.
    void minBytesEqualsBruteForce_data() {
        QTest::addColumn<unsigned>("seed");
        for (unsigned seed = 1; seed <= 40; ++seed) QTest::newRow(qPrintable(QString("seed %1").arg(seed))) << seed;
    }
    void minBytesEqualsBruteForce() {
        QFETCH(unsigned, seed);
        std::mt19937 rng(seed + 1000);
        const Groups g = randomInstance(rng, 2 + int(seed % 5), 5);
        double least = 0.0, most = 0.0;
        for (const auto& group : g) {
            least += std::min_element(group.begin(), group.end(), [](auto& a, auto& b) { return a.cost < b.cost; })->cost;
            most += std::max_element(group.begin(), group.end(), [](auto& a, auto& b) { return a.cost < b.cost; })->cost;
        }
        // Bounds from infeasible (below the least cost) through tight to loose.
        for (double bound : {least - 0.5, least, least + 0.1 * (most - least), 0.5 * (least + most), most + 1.0}) {
            const auto opt = bruteForceMinBytes(g, bound);
            const KnapsackSolution s = solveMultipleChoiceKnapsackMinBytes(g, bound);
            QCOMPARE(s.feasible, opt.has_value());
            if (!s.feasible) continue;
            QVERIFY(s.exact);
            checkChoice(g, s, opt->first);
            QVERIFY(s.cost <= bound);
            QCOMPARE(s.bytes, opt->first);
            QVERIFY2(qAbs(s.cost - opt->second) < 1e-9, qPrintable(QString("bound %1: dp %2, brute force %3").arg(bound).arg(s.cost).arg(opt->second)));
        }
    }

    void knapsackEqualsBruteForce_data() {
        QTest::addColumn<unsigned>("seed");
        for (unsigned seed = 1; seed <= 40; ++seed) QTest::newRow(qPrintable(QString("seed %1").arg(seed))) << seed;
    }
    void knapsackEqualsBruteForce() {
        QFETCH(unsigned, seed);
        std::mt19937 rng(seed);
        const Groups g = randomInstance(rng, 2 + int(seed % 5), 5);
        std::uint64_t lo = 0, hi = 0;
        for (const auto& group : g) {
            lo += std::min_element(group.begin(), group.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes;
            hi += std::max_element(group.begin(), group.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes;
        }
        // Budgets from infeasible through tight to loose.
        for (std::uint64_t budget : {lo - 1, lo, (lo + hi) / 3, (lo + hi) / 2, hi - 3, hi + 5}) {
            const double opt = bruteForce(g, budget);
            const KnapsackSolution s = solveMultipleChoiceKnapsack(g, budget);
            QCOMPARE(s.feasible, std::isfinite(opt));
            if (!s.feasible) continue;
            QVERIFY(s.exact);
            std::uint64_t gcd = 0;
            for (const auto& group : g)
                for (const auto& item : group) gcd = std::gcd(gcd, item.bytes);
            QCOMPARE(s.unit, gcd);  // sizes are multiples of 4, so the DP counts in units of at least 4
            checkChoice(g, s, budget);
            QVERIFY2(qAbs(s.cost - opt) < 1e-9, qPrintable(QString("budget %1: dp %2, brute force %3").arg(budget).arg(s.cost).arg(opt)));
            QVERIFY(s.lowerBound <= opt + 1e-9);
        }
    }

    // A table too small for the gcd: sizes are rounded up, so the choice still fits the budget in
    // true bytes, costs no less than the optimum, and the dual bound stays below the optimum.
    void coarseResolutionStaysFeasible() {
        std::mt19937 rng(7);
        for (int trial = 0; trial < 30; ++trial) {
            const Groups g = randomInstance(rng, 5, 4);
            std::uint64_t hi = 0;
            for (const auto& group : g) hi += std::max_element(group.begin(), group.end(), [](auto& a, auto& b) { return a.bytes < b.bytes; })->bytes;
            const std::uint64_t budget = hi * 2 / 3;
            const double opt = bruteForce(g, budget);
            const KnapsackSolution s = solveMultipleChoiceKnapsack(g, budget, 16);
            if (!s.feasible) continue;
            QVERIFY(!s.exact);
            QCOMPARE(s.unit, (budget + 15) / 16);
            checkChoice(g, s, budget);
            QVERIFY(s.cost >= opt - 1e-9);
            QVERIFY(s.lowerBound <= opt + 1e-9);
        }
    }

    // The cheapest choice ignores sizes when everything fits; an impossible budget is reported.
    void unconstrainedAndInfeasible() {
        const Groups g = {{{1.0, 8}, {0.5, 16}}, {{2.0, 4}, {0.0, 12}}};
        const auto loose = solveMultipleChoiceKnapsack(g, 1000);
        QCOMPARE(loose.choice, (std::vector<int>{1, 1}));
        QCOMPARE(loose.cost, 0.5);
        QCOMPARE(loose.lowerBound, 0.5);
        QVERIFY(!solveMultipleChoiceKnapsack(g, 11).feasible);
        const auto tight = solveMultipleChoiceKnapsack(g, 20);  // {8,12}: 1.0 beats {16,4}: 2.5
        QCOMPARE(tight.choice, (std::vector<int>{0, 1}));
        QCOMPARE(tight.bytes, std::uint64_t(20));
    }

    void spearmanWithTies() {
        const std::vector<double> x = {3, 1, 4, 1, 5, 9, 2, 6}, y = {2, 7, 1, 8, 2, 8, 1, 8};
        QCOMPARE(averageRanks(x), (std::vector<double>{4, 1.5, 5, 1.5, 6, 8, 3, 7}));
        QVERIFY(qAbs(spearmanRankCorrelation(x, y) - 0.19885368120992464) < 1e-12);  // worked out by hand (Pearson of the ranks)
        const std::vector<double> up = {1, 2, 3, 4}, squares = {1, 4, 9, 16}, down = {4, 3, 2, 1};
        QCOMPARE(spearmanRankCorrelation(up, squares), 1.0);
        QCOMPARE(spearmanRankCorrelation(up, down), -1.0);
    }

    void candidatesCarryTheirSizes() {
        CandidateSpace space;
        space.methods = {QuantMethod::Gptq, QuantMethod::Rtn};
        space.bits = {2, 4};
        space.groupSizes = {32, std::nullopt};
        const auto list = planCandidates(space, 64, 172);
        QCOMPARE(list.size(), std::size_t(2 * 2 * 2 + 1));
        for (const auto& c : list) QCOMPARE(c.bytes, schemeBytes(c.scheme, 64, 172));
        QCOMPARE(list.back().scheme.method, QuantMethod::Fp16);
        space.bits = {9};
        QVERIFY_THROWS_EXCEPTION(Error, (void)planCandidates(space, 64, 64));
        space.bits = {4};
        space.methods = {QuantMethod::W8A8};
        QVERIFY_THROWS_EXCEPTION(Error, (void)planCandidates(space, 64, 64));
    }

    void bitsSelection() {
        const auto range = parseBitsSelection("1-9");
        QCOMPARE(range.bits, (std::vector<int>{2, 3, 4, 5, 6, 7, 8}));
        QCOMPARE(range.leftOut, (std::vector<int>{1, 9}));
        QCOMPARE(parseBitsSelection("3,5").bits, (std::vector<int>{3, 5}));
        QVERIFY_THROWS_EXCEPTION(Error, (void)parseBitsSelection("4,9"));
        QVERIFY_THROWS_EXCEPTION(Error, (void)parseBitsSelection("9-12"));
        QVERIFY_THROWS_EXCEPTION(Error, (void)parseBitsSelection("four"));
    }
};

QTEST_APPLESS_MAIN(TestPlanSolver)
#include "test_plan_solver.moc"
