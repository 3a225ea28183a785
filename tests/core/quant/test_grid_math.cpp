// The per-element math the CUDA kernels share with the CPU (core/quant/grid_math.h, QB_HD),
// tested on the CPU: what the device computes is this same code, so CI checks it here.
// Expected values are worked out by hand below each case.
#include <QtTest>

#include <cmath>

#include "core/quant/grid_math.h"
#include "core/util/half.h"

using namespace qb::core;

class TestGridMath : public QObject {
    Q_OBJECT
private slots:
    void asymmetricParamsByHand() {
        // [−1.3, 2.1], 4 bits: scale = 3.4/15 = 0.2266…; F16 spacing in [0.125, 0.25) is 2⁻¹³,
        // 0.2266…·8192 = 1856.85 → 1857·2⁻¹³ = 0.2266845703125; zero = rint(1.3/0.22668) = rint(5.73) = 6.
        const GroupParams p = gridParamsForRange(-1.3f, 2.1f, 15, false);
        QCOMPARE(p.scale, 0.2266845703125f);
        QCOMPARE(p.zero, 6.0f);
    }
    void symmetricParamsByHand() {
        // [−0.5, 0.25], 3 bits sym: xmax = 0.5, scale = 1/7 = 0.142857 → 1170·2⁻¹³ = 0.142822265625; zero = 4.
        const GroupParams p = gridParamsForRange(-0.5f, 0.25f, 7, true);
        QCOMPARE(p.scale, 0.142822265625f);
        QCOMPARE(p.zero, 4.0f);
    }
    void allZeroGroupUsesUnitRange() {
        // xmin = −1, xmax = 1: scale = 2/15 = 0.1333 → 1092·2⁻¹³ = 0.13330078125; zero = rint(7.5018) = 8.
        const GroupParams p = gridParamsForRange(0.0f, 0.0f, 15, false);
        QCOMPARE(p.scale, 0.13330078125f);
        QCOMPARE(p.zero, 8.0f);
    }
    void positiveOnlyRangeKeepsZeroInTheGrid() {
        // [0.5, 3], 2 bits: xmin = 0 (the grid contains 0), scale = 3/3 = 1, zero = 0.
        const GroupParams p = gridParamsForRange(0.5f, 3.0f, 3, false);
        QCOMPARE(p.scale, 1.0f);
        QCOMPARE(p.zero, 0.0f);
    }
    void codeRoundsHalfToEvenAndClamps() {
        QCOMPARE(gridCode(2.5f, 1.0f, 0.0f, 15.0f), 2.0f);   // rint(2.5) = 2 (torch.round)
        QCOMPARE(gridCode(3.5f, 1.0f, 0.0f, 15.0f), 4.0f);   // rint(3.5) = 4
        QCOMPARE(gridCode(-9.0f, 1.0f, 3.0f, 15.0f), 0.0f);  // −9 + 3 → clamped to 0
        QCOMPARE(gridCode(40.0f, 2.0f, 3.0f, 15.0f), 15.0f); // 20 + 3 → clamped to maxq
        QCOMPARE(gridValue(5.0f, 0.25f, 3.0f), 0.5f);
    }
    void gptqColumnStepIsEquationEight() {
        // w = 0.3, scale 0.25, zero 2, 2 bits, d = U_ii = 0.5: q = rint(1.2) + 2 = 3,
        // Q(w) = 0.25·(3 − 2) = 0.25, e = (0.3 − 0.25)/0.5.
        float code = -1.0f;
        const float e = gptqColumnStep(0.3f, 0.25f, 2.0f, 3.0f, 0.5f, code);
        QCOMPARE(code, 3.0f);
        QCOMPARE(e, (0.3f - 0.25f) / 0.5f);
        // A clamped weight carries its whole clipping error: w = 2, q = 3, e = (2 − 0.25)/0.5 = 3.5.
        QCOMPARE(gptqColumnStep(2.0f, 0.25f, 2.0f, 3.0f, 0.5f, code), 3.5f);
        QCOMPARE(code, 3.0f);
    }
    void scaleRoundingHandlesUnderflowAndOverflow() {
        QCOMPARE(roundScaleToF16(0.0f), 5.9604644775390625e-08f);  // 2⁻²⁴
        QCOMPARE(roundScaleToF16(1e9f), 65504.0f);
        QCOMPARE(roundScaleToF16(0.1f), 0.0999755859375f);           // 1638.4·2⁻¹⁴ → 1638·2⁻¹⁴
    }
    void halfConversionsRoundTripEveryF16() {
        // Every finite F16 converts to float and back unchanged (the bit casts of host_device.h).
        for (std::uint32_t h = 0; h < 0x10000u; ++h) {
            if ((h & 0x7c00u) == 0x7c00u) continue;  // Inf/NaN
            QCOMPARE(floatToF16(f16ToFloat(std::uint16_t(h))), std::uint16_t(h));
        }
        QCOMPARE(bf16ToFloat(floatToBf16(1.00390625f)), 1.0f);  // 1 + 2⁻⁸: a tie, rounds to even
    }
};

QTEST_APPLESS_MAIN(TestGridMath)
#include "test_grid_math.moc"
