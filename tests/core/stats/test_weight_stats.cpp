// Weight statistics against hand-computed numbers and a direct double-loop reference.
#include <QtTest>

#include <cmath>

#include "core/backend/backend.h"
#include "core/stats/weight_stats.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

constexpr double kExact = 1e-12;  // double sums over a handful of values

MatrixRM handMatrix() {
    // W: [3, 4]
    MatrixRM W(3, 4);
    W << 1.0f, -2.0f, 3.0f, 0.0f,  //
        0.5f, -0.5f, 4.0f, -4.0f,  //
        2.0f, 1.0f, -1.0f, -3.0f;
    return W;
}

}  // namespace

class TestWeightStats : public QObject {
    Q_OBJECT
private slots:
    void momentsOfHandMatrix() {
        const WeightStats s = computeWeightStats(handMatrix());
        QCOMPARE(s.count, std::uint64_t(12));
        QVERIFY(std::abs(s.mean - 1.0 / 12.0) < kExact);
        QVERIFY(std::abs(s.std - 2.2623119934163713) < kExact);  // population σ
        QVERIFY(std::abs(s.excessKurtosis - (-0.7369529557099175)) < kExact);
        QCOMPARE(s.min, -4.0);
        QCOMPARE(s.max, 4.0);
        QCOMPARE(s.absmax, 4.0);
        QCOMPARE(s.fracBeyond3Sigma, 0.0);
        QCOMPARE(s.fracBeyond6Sigma, 0.0);
    }

    void histogramCountsOfHandMatrixAreExact() {
        // 5 bins over [-4, 4]: edges -4, -2.4, -0.8, 0.8, 2.4, 4; 4 lands in the closed last bin.
        const WeightStats s = computeWeightStats(handMatrix(), WeightStatsOptions{5});
        QCOMPARE(s.histogram.edges.size(), std::size_t(6));
        QCOMPARE(s.histogram.edges.front(), -4.0);
        QCOMPARE(s.histogram.edges.back(), 4.0);
        QVERIFY(std::abs(s.histogram.edges[1] - (-2.4)) < kExact);
        QVERIFY(std::abs(s.histogram.edges[3] - 0.8) < kExact);
        const std::vector<std::uint64_t> expected = {2, 2, 3, 3, 2};
        QCOMPARE(s.histogram.counts, expected);
    }

    void defaultHistogramPutsZeroInTheMiddleBin() {
        const WeightStats s = computeWeightStats(handMatrix());
        QCOMPARE(s.histogram.bins(), 101);
        QVERIFY(s.histogram.edges[50] < 0.0 && s.histogram.edges[51] > 0.0);
        QCOMPARE(s.histogram.counts[50], std::uint64_t(1));  // the single 0 (±0.0396 holds nothing else)
        QCOMPARE(s.histogram.counts[0], std::uint64_t(1));   // -4
        QCOMPARE(s.histogram.counts[100], std::uint64_t(1));  // +4
        QCOMPARE(s.histogram.total(), std::uint64_t(12));
    }

    void rowAndColumnAbsmaxOfHandMatrix() {
        const WeightStats s = computeWeightStats(handMatrix());
        QCOMPARE(s.rowAbsmax.size(), Index(3));
        QCOMPARE(s.colAbsmax.size(), Index(4));
        QCOMPARE(s.rowAbsmax[0], 3.0);
        QCOMPARE(s.rowAbsmax[1], 4.0);
        QCOMPARE(s.rowAbsmax[2], 3.0);
        QCOMPARE(s.colAbsmax[0], 2.0);
        QCOMPARE(s.colAbsmax[1], 2.0);
        QCOMPARE(s.colAbsmax[2], 4.0);
        QCOMPARE(s.colAbsmax[3], 4.0);
    }

    void sigmaTailsMatchDirectCountOnPlantedOutliers() {
        MatrixRM W = qb::test::randomMatrix(64, 96, 7, 0.02f);
        W(3, 5) = 0.5f;    // ≈ 25σ
        W(10, 90) = -0.3f;  // ≈ 15σ
        W(40, 1) = 0.1f;   // ≈ 5σ: beyond 3σ, not 6σ
        const WeightStats s = computeWeightStats(W);
        double mean = 0.0;
        for (Index i = 0; i < W.size(); ++i) mean += W.data()[i];
        mean /= double(W.size());
        double m2 = 0.0;
        for (Index i = 0; i < W.size(); ++i) m2 += (W.data()[i] - mean) * (W.data()[i] - mean);
        const double sigma = std::sqrt(m2 / double(W.size()));
        std::uint64_t n3 = 0, n6 = 0;
        for (Index i = 0; i < W.size(); ++i) {
            n3 += std::abs(W.data()[i] - mean) > 3 * sigma;
            n6 += std::abs(W.data()[i] - mean) > 6 * sigma;
        }
        QCOMPARE(n6, std::uint64_t(2));
        QVERIFY(n3 > 3);  // the planted ones plus Gaussian tail values
        QCOMPARE(s.fracBeyond3Sigma, double(n3) / double(W.size()));
        QCOMPARE(s.fracBeyond6Sigma, 2.0 / double(W.size()));
        QVERIFY(std::abs(s.std - sigma) < 1e-12);
        QCOMPARE(s.histogram.total(), std::uint64_t(W.size()));
    }

    void gaussianKurtosisIsNearZero() {
        const WeightStats s = computeWeightStats(qb::test::randomMatrix(256, 256, 11, 1.0f));
        QVERIFY(std::abs(s.excessKurtosis) < 0.05);  // 65536 samples: SE ≈ sqrt(24/n) ≈ 0.019
        QVERIFY(std::abs(s.std - 1.0) < 0.01);
    }

    void resultDoesNotDependOnThreadCount() {
        const MatrixRM W = qb::test::randomMatrix(300, 170, 3, 0.05f);
        const int before = threadCount();
        setThreadCount(1);
        const WeightStats one = computeWeightStats(W);
        setThreadCount(4);
        const WeightStats four = computeWeightStats(W);
        setThreadCount(before);
        QCOMPARE(one.mean, four.mean);
        QCOMPARE(one.std, four.std);
        QCOMPARE(one.excessKurtosis, four.excessKurtosis);
        QCOMPARE(one.histogram.counts, four.histogram.counts);
        QVERIFY(one.colAbsmax == four.colAbsmax);
    }

    void zeroMatrixUsesUnitRange() {
        const WeightStats s = computeWeightStats(MatrixRM::Zero(2, 3), WeightStatsOptions{3});
        QCOMPARE(s.absmax, 0.0);
        QCOMPARE(s.std, 0.0);
        QCOMPARE(s.excessKurtosis, 0.0);
        QCOMPARE(s.histogram.edges.front(), -1.0);
        QCOMPARE(s.histogram.counts, (std::vector<std::uint64_t>{0, 6, 0}));
    }

    void rejectsNonFiniteWeights() {
        MatrixRM W = handMatrix();
        W(1, 2) = std::nanf("");
        QVERIFY_THROWS_EXCEPTION(Error, (void)computeWeightStats(W));
    }

    void rejectsZeroBins() { QVERIFY_THROWS_EXCEPTION(Error, (void)computeWeightStats(handMatrix(), WeightStatsOptions{0})); }
};

QTEST_APPLESS_MAIN(TestWeightStats)
#include "test_weight_stats.moc"
