// RTN against the grid formula written out directly.
#include <QtTest>

#include <cmath>

#include "core/quant/rtn.h"
#include "core/util/half.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// x̂ for one group, spelled out from the GPTQ reference formulas (asymmetric).
std::vector<float> directAsymmetric(const float* w, int n, int bits) {
    const float maxq = float((1 << bits) - 1);
    float lo = 0.0f, hi = 0.0f;
    for (int i = 0; i < n; ++i) {
        lo = std::min(lo, w[i]);
        hi = std::max(hi, w[i]);
    }
    const float scale = f16ToFloat(floatToF16((hi - lo) / maxq));
    const float zero = std::nearbyint(-lo / scale);
    std::vector<float> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const float q = std::min(std::max(std::nearbyint(w[i] / scale) + zero, 0.0f), maxq);
        out[std::size_t(i)] = scale * (q - zero);
    }
    return out;
}

}  // namespace

class TestRtn : public QObject {
    Q_OBJECT
private slots:
    void equalsTheDirectFormula_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("group");
        QTest::newRow("int4 g32") << 4 << 32;
        QTest::newRow("int3 g16") << 3 << 16;
        QTest::newRow("int2 g64") << 2 << 64;
        QTest::newRow("int8 g128") << 8 << 128;
    }
    void equalsTheDirectFormula() {
        QFETCH(int, bits);
        QFETCH(int, group);
        const MatrixRM W = test::randomMatrix(33, 128, 5, 0.05f);
        const MatrixRM What = quantizeRtn(W, {bits, group, false}).dequantize();
        for (Index r = 0; r < W.rows(); ++r)
            for (Index c0 = 0; c0 < W.cols(); c0 += group) {
                const std::vector<float> ref = directAsymmetric(W.row(r).data() + c0, group, bits);
                for (int i = 0; i < group; ++i) QCOMPARE(What(r, c0 + i), ref[std::size_t(i)]);
            }
    }
    void partialTrailingGroupGetsItsOwnGrid() {
        // in = 172, g = 32: the 6th group holds columns 160..171 only.
        MatrixRM W = test::randomMatrix(4, 172, 6);
        W.block(0, 160, 4, 12) *= 100.0f;  // a large trailing group must not affect group 4
        const QuantizedWeight Q = quantizeRtn(W, {4, 32, false});
        QCOMPARE(Q.groups(), Index(6));
        QCOMPARE(Q.gIdx[171], 5);
        const std::vector<float> ref = directAsymmetric(W.row(2).data() + 128, 32, 4);
        QCOMPARE(Q.dequantize()(2, 140), ref[12]);
        QVERIFY(Q.scales(2, 5) > 10.0f * Q.scales(2, 4));
    }
    void perRowGroupWhenGroupSizeIsEmpty() {
        const MatrixRM W = test::randomMatrix(3, 50, 7);
        const QuantizedWeight Q = quantizeRtn(W, {4, std::nullopt, false});
        QCOMPARE(Q.groups(), Index(1));
        const std::vector<float> ref = directAsymmetric(W.row(1).data(), 50, 4);
        const MatrixRM What = Q.dequantize();
        for (int i = 0; i < 50; ++i) QCOMPARE(What(1, i), ref[std::size_t(i)]);
    }
    void symmetricGridKeepsZeroPointInTheMiddle() {
        const MatrixRM W = test::randomMatrix(5, 64, 8);
        const QuantizedWeight Q = quantizeRtn(W, {4, 32, true});
        QVERIFY((Q.zeros.array() == 8).all());
        // |ŵ| ≤ 8·scale and the error is at most half a step inside the range.
        const MatrixRM What = Q.dequantize();
        for (Index r = 0; r < 5; ++r)
            for (Index c = 0; c < 64; ++c) {
                const float s = Q.scales(r, c / 32);
                if (std::abs(W(r, c)) < 7.0f * s) QVERIFY(std::abs(W(r, c) - What(r, c)) <= 0.5f * s + 1e-6f);
            }
    }
};

QTEST_APPLESS_MAIN(TestRtn)
#include "test_rtn.moc"
