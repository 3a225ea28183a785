// The GPTQ-reference grid on hand-computed values.
#include <QtTest>

#include "core/quant/quant_grid.h"
#include "core/util/error.h"

using namespace qb::core;

class TestQuantGrid : public QObject {
    Q_OBJECT
private slots:
    void asymmetricHandValues() {
        // 2 bits, range [-1, 2]: scale = 3/3 = 1 (F16-exact), zero = round(1/1) = 1.
        const QuantGrid grid(2, false);
        const float x[] = {-1.0f, -0.4f, 0.6f, 2.0f};
        const GroupParams p = grid.fit(x, 4);
        QCOMPARE(p.scale, 1.0f);
        QCOMPARE(p.zero, 1.0f);
        QCOMPARE(int(grid.code(-1.0f, p)), 0);
        QCOMPARE(int(grid.code(-0.4f, p)), 1);
        QCOMPARE(int(grid.code(0.6f, p)), 2);
        QCOMPARE(int(grid.code(2.0f, p)), 3);
        QCOMPARE(grid.quantize(0.6f, p), 1.0f);
        QCOMPARE(grid.quantize(5.0f, p), 2.0f);    // clamped to maxq
        QCOMPARE(grid.quantize(-7.0f, p), -1.0f);  // clamped to 0
    }
    void asymmetricScaleIsRoundedToF16() {
        // 4 bits, range [-1, 2]: scale = 3/15 = 0.2 → F16 0.199951171875; zero = round(5.0012) = 5.
        const QuantGrid grid(4, false);
        const GroupParams p = grid.paramsForRange(-1.0f, 2.0f);
        QCOMPARE(p.scale, 0.199951171875f);
        QCOMPARE(p.zero, 5.0f);
        QCOMPARE(int(grid.code(0.5f, p)), 8);    // round(2.5006) + 5
        QCOMPARE(int(grid.code(2.0f, p)), 15);   // round(10.0024) + 5
        QCOMPARE(grid.quantize(2.0f, p), 1.99951171875f);
    }
    void rangeAlwaysContainsZero() {
        // All positive: xmin = min(1, 0) = 0 → zero point 0, scale = 3/3.
        const QuantGrid grid(2, false);
        const GroupParams p = grid.paramsForRange(1.0f, 3.0f);
        QCOMPARE(p.scale, 1.0f);
        QCOMPARE(p.zero, 0.0f);
        QCOMPARE(grid.quantize(0.0f, p), 0.0f);
    }
    void symmetricHandValues() {
        // 4 bits, values {-3, 1, 2}: xmax = 3, scale = 6/15 = 0.4 → F16 0.39990234375, zero = 8.
        const QuantGrid grid(4, true);
        const float x[] = {-3.0f, 1.0f, 2.0f};
        const GroupParams p = grid.fit(x, 3);
        QCOMPARE(p.scale, 0.39990234375f);
        QCOMPARE(p.zero, 8.0f);
        QCOMPARE(int(grid.code(-3.0f, p)), 0);   // round(-7.5018) = -8
        QCOMPARE(int(grid.code(1.0f, p)), 11);   // round(2.5006) = 3
        QCOMPARE(int(grid.code(2.0f, p)), 13);   // round(5.0012) = 5
        // Symmetric even when no weight is negative (the reference would halve the scale).
        const GroupParams q = grid.paramsForRange(0.5f, 3.0f);
        QCOMPARE(q.scale, 0.39990234375f);
    }
    void allZeroGroupUsesUnitRange() {
        // Reference: xmin = -1, xmax = +1 → scale = 2/15 → F16 0.13330078125, zero = round(7.5018) = 8.
        const QuantGrid grid(4, false);
        const float x[] = {0.0f, 0.0f, 0.0f};
        const GroupParams p = grid.fit(x, 3);
        QCOMPARE(p.scale, 0.13330078125f);
        QCOMPARE(p.zero, 8.0f);
        QCOMPARE(grid.quantize(0.0f, p), 0.0f);
    }
    void roundsHalfToEven() {
        // torch.round semantics: 0.5 → 0 and 1.5 → 2 (std::round would give 1 and 2).
        const QuantGrid grid(2, false);
        const GroupParams p = grid.paramsForRange(-1.0f, 2.0f);  // scale 1, zero 1
        QCOMPARE(int(grid.code(0.5f, p)), 1);
        QCOMPARE(int(grid.code(1.5f, p)), 3);
        QCOMPARE(int(grid.code(-0.5f, p)), 1);
    }
    void tinyScaleStaysPositive() {
        // 1e-9 underflows F16; the smallest subnormal 2^-24 keeps the grid usable.
        QCOMPARE(roundScaleToF16(1e-9f), 5.9604644775390625e-08f);
        QCOMPARE(roundScaleToF16(1e6f), 65504.0f);
    }
    void rejectsBadBitWidths() {
        QVERIFY_THROWS_EXCEPTION(Error, QuantGrid(0, false));
        QVERIFY_THROWS_EXCEPTION(Error, QuantGrid(9, true));
        QCOMPARE(QuantGrid(3, false).maxq(), 7);
    }
};

QTEST_APPLESS_MAIN(TestQuantGrid)
#include "test_quant_grid.moc"
