// Activation statistics streamed in chunks against a direct computation over the whole X,
// the percentile estimate against exact order statistics, and both outlier rules.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/stats/activation_stats.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

constexpr double kSumTolerance = 1e-12;        // relative, double sums of float values
constexpr double kPercentileTolerance = 0.0079;  // the method's bound: half a 1/64-octave bucket

/// Nearest-rank quantile: the ⌈p·n⌉-th smallest.
double nearestRank(std::vector<float> v, double p) {
    std::sort(v.begin(), v.end());
    const auto k = std::size_t(std::ceil(p * double(v.size()) - 1e-9));
    return v[std::max<std::size_t>(k, 1) - 1];
}

bool relClose(double a, double b, double tol) { return std::abs(a - b) <= tol * std::max(std::abs(b), 1e-300); }

}  // namespace

class TestActivationStats : public QObject {
    Q_OBJECT
private slots:
    void chunkedStatsEqualDirectComputation() {
        // X: [700, 40] fed as chunks of 1, 299, 150 and 250 rows.
        MatrixRM X = qb::test::randomMatrix(700, 40, 21, 2.0f);
        X(123, 7) = -9.5f;
        ActivationStatsAccumulator acc(40);
        const Index splits[] = {0, 1, 300, 450, 700};
        for (int i = 0; i < 4; ++i) acc.add(X.middleRows(splits[i], splits[i + 1] - splits[i]));
        const ActivationStats s = acc.finish();
        QCOMPARE(s.tokens, std::uint64_t(700));
        QCOMPARE(s.nonFinite, std::uint64_t(0));
        for (Index c = 0; c < 40; ++c) {
            double amax = 0, sumAbs = 0, sumSq = 0, int8 = 0;
            for (Index t = 0; t < 700; ++t) {
                const double a = std::abs(X(t, c));
                amax = std::max(amax, a);
                sumAbs += a;
                sumSq += a * a;
                int8 += a >= 6.0;
            }
            QCOMPARE(s.absmax[c], amax);
            QVERIFY(relClose(s.meanAbs[c], sumAbs / 700, kSumTolerance));
            QVERIFY(relClose(s.hessianDiag[c], sumSq / 700, kSumTolerance));
            QVERIFY(relClose(s.rms[c], std::sqrt(sumSq / 700), kSumTolerance));
            QCOMPARE(s.int8Fraction[c], int8 / 700);
        }
        QCOMPARE(s.absmax[7], 9.5);
    }

    void sampleHoldsTheFirst256Tokens() {
        const MatrixRM X = qb::test::randomMatrix(300, 12, 5);
        ActivationStatsAccumulator acc(12);
        acc.add(X.topRows(100));
        acc.add(X.middleRows(100, 100));
        acc.add(X.bottomRows(100));
        const ActivationStats s = acc.finish();
        QCOMPARE(s.sample.rows(), Index(256));
        QCOMPARE(s.sample.cols(), Index(12));
        QVERIFY(s.sample == X.topRows(256).cwiseAbs());
    }

    void sampleIsShortWhenFewTokens() {
        const MatrixRM X = qb::test::randomMatrix(10, 4, 5);
        const ActivationStats s = computeActivationStats(X);
        QCOMPARE(s.sample.rows(), Index(10));
        QVERIFY(s.sample == X.cwiseAbs());
    }

    void percentileIsWithinBoundOfExactQuantile() {
        // Channel c: |x| ~ Exponential(rate 1) × 10^c — the p99.9 of Exp(1) is ln(1000) ≈ 6.9078.
        constexpr Index kTokens = 200000, kChannels = 4;
        std::mt19937 rng(99);
        std::exponential_distribution<float> expo(1.0f);
        MatrixRM X(kTokens, kChannels);
        for (Index t = 0; t < kTokens; ++t)
            for (Index c = 0; c < kChannels; ++c) X(t, c) = (t % 2 ? -1.0f : 1.0f) * expo(rng) * std::pow(10.0f, float(c));
        ActivationStatsAccumulator acc(kChannels);
        for (Index b = 0; b < kTokens; b += 4096) acc.add(X.middleRows(b, std::min<Index>(4096, kTokens - b)));
        const ActivationStats s = acc.finish();
        for (Index c = 0; c < kChannels; ++c) {
            std::vector<float> col(kTokens);
            for (Index t = 0; t < kTokens; ++t) col[std::size_t(t)] = std::abs(X(t, c));
            const double exact = nearestRank(col, 0.999);
            QVERIFY2(relClose(s.percentileAbs[c], exact, kPercentileTolerance),
                     qPrintable(QString("channel %1: %2 vs exact %3").arg(c).arg(s.percentileAbs[c]).arg(exact)));
            QVERIFY(relClose(s.percentileAbs[c], std::log(1000.0) * std::pow(10.0, double(c)), 0.05));
        }
    }

    void percentileSurvivesALateSpike() {
        // 10000 values in [1, 2), then a spike of 1e4 moves the window up by 13 octaves.
        MatrixRM X(10001, 1);
        for (Index t = 0; t < 10000; ++t) X(t, 0) = 1.0f + float(t) / 10000.0f;
        X(10000, 0) = 1e4f;
        ActivationStatsAccumulator acc(1);
        acc.add(X.topRows(10000));
        acc.add(X.bottomRows(1));
        const ActivationStats s = acc.finish();
        std::vector<float> col(X.data(), X.data() + X.size());
        QVERIFY(relClose(s.percentileAbs[0], nearestRank(col, 0.999), kPercentileTolerance));
        QCOMPARE(s.absmax[0], 1e4);
    }

    void percentileOneIsAbsmax() {
        ActivationStatsOptions o;
        o.percentile = 1.0;
        const MatrixRM X = qb::test::randomMatrix(1000, 3, 8);
        const ActivationStats s = computeActivationStats(X, o);
        for (Index c = 0; c < 3; ++c) QCOMPARE(s.percentileAbs[c], s.absmax[c]);
    }

    void plantedChannelsAreFlaggedByTheirRules() {
        // 64 channels with |x| ≤ 0.25 (median absmax ≈ 0.15); channel 9 reaches 8 (both rules),
        // channel 30 reaches 5.5 (relative only: ≥ 20 × median, but < 6).
        MatrixRM X = qb::test::randomMatrix(500, 64, 4, 0.05f).cwiseMax(-0.25f).cwiseMin(0.25f);
        X(10, 9) = 7.0f;
        X(11, 9) = -8.0f;
        X(20, 30) = 5.5f;  // < 6: relative only (median absmax ≤ 0.25, 20 × 0.25 = 5)
        const ActivationStats s = computeActivationStats(X);
        QVERIFY(s.medianAbsmax <= 0.25 && s.medianAbsmax > 0.1);
        QCOMPARE(s.outliers.size(), std::size_t(2));
        QCOMPARE(s.outliers[0].index, Index(9));
        QCOMPARE(s.outliers[0].absmax, 8.0);
        QCOMPARE(s.outliers[0].rule, OutlierRule::Both);
        QCOMPARE(s.outliers[0].int8Fraction, 2.0 / 500.0);
        QCOMPARE(s.outliers[1].index, Index(30));
        QCOMPARE(s.outliers[1].rule, OutlierRule::Relative);
        QCOMPARE(s.outliers[1].int8Fraction, 0.0);
        QCOMPARE(outlierRuleName(s.outliers[1].rule), std::string("relative"));
    }

    void llmInt8RuleAloneWhenEveryChannelIsLarge() {
        // Every channel reaches 4; channel 2 reaches 6.5: not 20× the median, but ≥ 6.
        MatrixRM X = MatrixRM::Constant(50, 8, 1.0f);
        X.row(0).setConstant(4.0f);
        X(3, 2) = 6.5f;
        X(4, 2) = 6.0f;  // the rule is |x| >= 6
        const ActivationStats s = computeActivationStats(X);
        QCOMPARE(s.medianAbsmax, 4.0);
        QCOMPARE(s.outliers.size(), std::size_t(1));
        QCOMPARE(s.outliers[0].index, Index(2));
        QCOMPARE(s.outliers[0].rule, OutlierRule::LlmInt8);
        QCOMPARE(s.outliers[0].int8Fraction, 2.0 / 50.0);
    }

    void relativeFactorIsConfigurable() {
        MatrixRM X = MatrixRM::Constant(10, 5, 0.1f);
        X(0, 4) = 0.5f;  // 5 × median
        ActivationStatsOptions o;
        QVERIFY(computeActivationStats(X, o).outliers.empty());
        o.relativeFactor = 4.0;
        const ActivationStats s = computeActivationStats(X, o);
        QCOMPARE(s.outliers.size(), std::size_t(1));
        QCOMPARE(s.outliers[0].index, Index(4));
    }

    void nonFiniteValuesAreCountedAndSkipped() {
        MatrixRM X = MatrixRM::Constant(4, 2, 1.0f);
        X(1, 0) = std::numeric_limits<float>::infinity();
        X(2, 0) = std::nanf("");
        const ActivationStats s = computeActivationStats(X);
        QCOMPARE(s.nonFinite, std::uint64_t(2));
        QCOMPARE(s.absmax[0], 1.0);
        QCOMPARE(s.meanAbs[0], 1.0);
    }

    void rejectsWrongChannelCount() {
        ActivationStatsAccumulator acc(8);
        QVERIFY_THROWS_EXCEPTION(Error, acc.add(MatrixRM::Zero(3, 7)));
    }
};

QTEST_APPLESS_MAIN(TestActivationStats)
#include "test_activation_stats.moc"
