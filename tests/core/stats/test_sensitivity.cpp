// RTN sensitivity through the Gram matrix against the direct ‖W Xᵀ − Ŵ Xᵀ‖² / ‖W Xᵀ‖².
#include <QtTest>

#include <cmath>

#include "core/backend/backend.h"
#include "core/quant/rtn.h"
#include "core/stats/sensitivity.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

// The CPU Gram backend sums ≤ 2048-row blocks in float before adding them in double.
constexpr double kGramTolerance = 1e-5;

/// ‖A Xᵀ‖²_F in double, straight from the definition. A: [out, in], X: [tokens, in].
double directEnergy(const MatrixRMd& A, const MatrixRM& X) {
    const MatrixRMd Y = A * X.cast<double>().transpose();
    return Y.squaredNorm();
}

/// Calibration-like inputs: N(0,1) with a few loud channels.
MatrixRM calibrationInputs(Index tokens, Index in, unsigned seed) {
    MatrixRM X = qb::test::randomMatrix(tokens, in, seed);
    for (Index c = 0; c < in; c += 17) X.col(c) *= 8.0f;
    return X;
}

}  // namespace

class TestSensitivity : public QObject {
    Q_OBJECT
private slots:
    void gramAccumulatesXtXOverChunks() {
        const MatrixRM X = calibrationInputs(700, 24, 1);
        GramAccumulator acc(24);
        acc.add(X.topRows(300));
        acc.add(X.bottomRows(400));
        QCOMPARE(acc.tokens(), std::uint64_t(700));
        const MatrixRMd expected = X.cast<double>().transpose() * X.cast<double>();
        QVERIFY((acc.gram() - expected).norm() <= kGramTolerance * expected.norm());
    }

    void quadraticFormEqualsDirectNorm() {
        const MatrixRM X = calibrationInputs(500, 30, 2);
        const MatrixRM D = qb::test::randomMatrix(1100, 30, 3, 0.01f);  // row blocks of 512, 512 and 76
        GramAccumulator acc(30);
        acc.add(X);
        const double viaGram = gramQuadraticForm(D, acc.gram());
        const double direct = directEnergy(D.cast<double>(), X);
        QVERIFY2(std::abs(viaGram - direct) <= kGramTolerance * direct, qPrintable(QString("%1 vs %2").arg(viaGram).arg(direct)));
    }

    void rtnTableEqualsDirectRelativeError_data() {
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("in");
        QTest::newRow("in 96 (g128 > in)") << 40 << 96;
        QTest::newRow("in 172 (partial groups, like stories260K down_proj)") << 24 << 172;
    }
    void rtnTableEqualsDirectRelativeError() {
        QFETCH(int, out);
        QFETCH(int, in);
        const MatrixRM W = qb::test::randomMatrix(out, in, 4, 0.05f);
        const MatrixRM X = calibrationInputs(600, in, 5);
        GramAccumulator acc(in);
        acc.add(X);
        const SensitivityTable table = computeSensitivity(W, acc.gram());
        QCOMPARE(table.entries.size(), std::size_t(12));  // {2,3,4,8} × {32, 128, per-channel}
        const double reference = directEnergy(W.cast<double>(), X);
        for (const SensitivityEntry& e : table.entries) {
            QVERIFY2(e.relativeError.has_value(), e.note.c_str());
            const MatrixRM What = quantizeRtn(W, {e.bits, e.groupSize, false}).dequantize();
            const double direct = directEnergy((W - What).cast<double>(), X) / reference;
            QVERIFY2(std::abs(*e.relativeError - direct) <= kGramTolerance * direct,
                     qPrintable(QString("%1: %2 vs %3").arg(QString::fromStdString(sensitivityLabel(e.bits, e.groupSize)))
                                    .arg(*e.relativeError).arg(direct)));
        }
    }

    void errorFallsWithBitsAndGroupSize() {
        const MatrixRM W = qb::test::randomMatrix(64, 256, 6, 0.05f);
        GramAccumulator acc(256);
        acc.add(calibrationInputs(512, 256, 7));
        const SensitivityTable t = computeSensitivity(W, acc.gram());
        auto e = [&](int bits, std::optional<int> g) { return *t.find(bits, g)->relativeError; };
        QVERIFY(e(2, 128) > e(3, 128) && e(3, 128) > e(4, 128) && e(4, 128) > e(8, 128));
        QVERIFY(e(4, 32) < e(4, 128) && e(4, 128) < e(4, std::nullopt));
        // 4-bit asymmetric RTN of Gaussian weights: about 1 % relative output error (step²/12 over σ²).
        QVERIFY(e(4, 128) > 0.003 && e(4, 128) < 0.03);
        QVERIFY(e(8, 128) < 1e-4);
    }

    void relativeErrorEdgeCases() {
        const MatrixRM W = qb::test::randomMatrix(4, 8, 8);
        GramAccumulator acc(8);
        acc.add(qb::test::randomMatrix(20, 8, 9));
        QCOMPARE(relativeOutputError(W, W, acc.gram()), 0.0);
        const MatrixRMd zeroG = MatrixRMd::Zero(8, 8);
        QCOMPARE(relativeOutputError(W, MatrixRM::Zero(4, 8), zeroG), 0.0);  // no input energy at all
        QVERIFY(std::isinf(relativeOutputError(MatrixRM::Zero(4, 8), W, acc.gram())));
        QVERIFY_THROWS_EXCEPTION(Error, (void)relativeOutputError(W, MatrixRM::Zero(4, 7), acc.gram()));
        QVERIFY_THROWS_EXCEPTION(Error, (void)gramQuadraticForm(W, MatrixRMd::Zero(7, 7)));
    }

    void inputsAreKeptWhileTokensDoNotExceedChannels() {
        // 70 expected tokens ≤ 96 channels: X itself is kept, and with 70 < 0.8·96 tokens
        // ‖D Xᵀ‖² is computed from it.
        const MatrixRM X = calibrationInputs(70, 96, 10);
        SensitivityInputs inputs(96, 70);
        inputs.add(X.topRows(50));
        inputs.add(X.bottomRows(20));
        QVERIFY(inputs.keepsInputs());
        QCOMPARE(inputs.tokens(), std::uint64_t(70));
        const MatrixRM D = qb::test::randomMatrix(1100, 96, 11, 0.01f);  // row blocks of 512, 512 and 76
        const double direct = directEnergy(D.cast<double>(), X);
        QVERIFY2(std::abs(inputs.outputEnergy(D) - direct) <= kGramTolerance * direct,
                 qPrintable(QString("%1 vs %2").arg(inputs.outputEnergy(D)).arg(direct)));
    }

    // 90 kept tokens ≥ 0.8·96 channels: the forms run on G made from the kept X in float
    // (cheaper than X from the first form on); the figure is still ‖D Xᵀ‖².
    void keptInputsNearTheChannelCountGoThroughTheirGramMatrix() {
        const MatrixRM X = calibrationInputs(90, 96, 18);
        SensitivityInputs inputs(96, 90);
        inputs.add(X);
        QVERIFY(inputs.keepsInputs());
        const MatrixRM D = qb::test::randomMatrix(700, 96, 19, 0.01f);
        const double direct = directEnergy(D.cast<double>(), X);
        QVERIFY2(std::abs(inputs.outputEnergy(D) - direct) <= kGramTolerance * direct,
                 qPrintable(QString("%1 vs %2").arg(inputs.outputEnergy(D)).arg(direct)));
        bool isGram = true;
        QCOMPARE(inputs.floatInputs(isGram).rows(), Index(90));  // the device still gets X
        QVERIFY(!isGram);
    }

    // The float form ⟨G, DᵀD⟩ over tiles of 256: in = 1,100 gives tiles of 256 (four) and 76 on
    // each side (five diagonal ssyrk tiles, ten sgemm ones below them). It equals
    // tr(D G Dᵀ) in double, and the same bits on one thread and on two.
    void floatFormOverTilesEqualsTheDoubleForm() {
        const MatrixRM X = calibrationInputs(1300, 1100, 20);
        GramAccumulator acc(1100);
        acc.add(X);
        const MatrixRM Gf = acc.gram().cast<float>();
        const MatrixRM D = qb::test::randomMatrix(37, 1100, 21, 0.01f);
        const double exact = gramQuadraticForm(D, acc.gram());
        const int saved = threadCount();
        setThreadCount(1);
        const double one = gramQuadraticFormFloat(D, Gf);
        setThreadCount(2);
        const double two = gramQuadraticFormFloat(D, Gf);
        setThreadCount(saved);
        QVERIFY2(std::abs(one - exact) <= kGramTolerance * exact, qPrintable(QString("%1 vs %2").arg(one).arg(exact)));
        QVERIFY2(one == two, qPrintable(QString("%1 vs %2").arg(one, 0, 'g', 17).arg(two, 0, 'g', 17)));
        const double gemmForm = gramQuadraticFormFloatRef(D, Gf);  // the D·G form it replaced
        QVERIFY(std::abs(gemmForm - exact) <= kGramTolerance * exact);
        const double oneRow = gramQuadraticForm(D.topRows(1), acc.gram());  // a single output row
        QVERIFY(std::abs(gramQuadraticFormFloat(D.topRows(1), Gf) - oneRow) <= kGramTolerance * oneRow);
        // A weight that sees only one tile pair: D nonzero in columns 600–699 (tile 2) and 1,050
        // (tile 4, the partial one) alone, so the form is the diagonal tile's plus twice the off-diagonal one's.
        MatrixRM sparse = MatrixRM::Zero(5, 1100);
        sparse.middleCols(600, 100) = qb::test::randomMatrix(5, 100, 22);
        sparse.col(1050) = qb::test::randomMatrix(5, 1, 23);
        const double sparseExact = gramQuadraticForm(sparse, acc.gram());
        QVERIFY(std::abs(gramQuadraticFormFloat(sparse, Gf) - sparseExact) <= kGramTolerance * sparseExact);
    }

    void keptInputsGiveTheSameTableAsTheGramMatrix() {
        const MatrixRM W = qb::test::randomMatrix(40, 172, 12, 0.05f);
        const MatrixRM X = calibrationInputs(128, 172, 13);
        SensitivityInputs kept(172, 128);
        kept.add(X);
        QVERIFY(kept.keepsInputs());
        GramAccumulator acc(172);
        acc.add(X);
        const SensitivityTable a = computeSensitivity(W, kept);
        const SensitivityTable b = computeSensitivity(W, acc.gram());
        QCOMPARE(a.entries.size(), b.entries.size());
        for (std::size_t i = 0; i < a.entries.size(); ++i)
            QVERIFY2(std::abs(*a.entries[i].relativeError - *b.entries[i].relativeError) <= 1e-4 * *b.entries[i].relativeError,
                     sensitivityLabel(a.entries[i].bits, a.entries[i].groupSize).c_str());
    }

    void moreTokensThanChannelsUseTheGramMatrix() {
        const MatrixRM X = calibrationInputs(200, 24, 14);
        SensitivityInputs inputs(24, 200);
        QVERIFY(!inputs.keepsInputs());
        inputs.add(X);
        const MatrixRM D = qb::test::randomMatrix(20, 24, 15, 0.01f);
        const double direct = directEnergy(D.cast<double>(), X);
        QVERIFY(std::abs(inputs.outputEnergy(D) - direct) <= kGramTolerance * direct);
    }

    void inputsBeyondTheExpectedCountFoldIntoTheGramMatrix() {
        const MatrixRM X = calibrationInputs(60, 48, 16);
        SensitivityInputs inputs(48, 40);
        inputs.add(X.topRows(30));
        QVERIFY(inputs.keepsInputs());
        inputs.add(X.bottomRows(30));  // 60 > 40 expected
        QVERIFY(!inputs.keepsInputs());
        QCOMPARE(inputs.tokens(), std::uint64_t(60));
        const MatrixRM D = qb::test::randomMatrix(20, 48, 17, 0.01f);
        const double direct = directEnergy(D.cast<double>(), X);
        QVERIFY(std::abs(inputs.outputEnergy(D) - direct) <= kGramTolerance * direct);
        QVERIFY_THROWS_EXCEPTION(Error, inputs.add(MatrixRM::Zero(2, 47)));
        QVERIFY_THROWS_EXCEPTION(Error, (void)inputs.outputEnergy(MatrixRM::Zero(2, 47)));
    }

    void labelsAndKeys() {
        QCOMPARE(sensitivityLabel(4, 128), std::string("w4 g128"));
        QCOMPARE(sensitivityLabel(3, std::nullopt), std::string("w3 per-channel"));
        QCOMPARE(sensitivityKey(4, 128), std::string("w4_g128"));
        QCOMPARE(sensitivityKey(8, std::nullopt), std::string("w8_per_channel"));
    }
};

QTEST_APPLESS_MAIN(TestSensitivity)
#include "test_sensitivity.moc"
