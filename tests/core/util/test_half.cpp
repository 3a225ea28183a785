// core/util/half.h: F16 and BF16 conversions against IEEE 754 semantics
// (round to nearest, ties to even; overflow to infinity; subnormals kept; NaN stays NaN).
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/util/half.h"

using namespace qb::core;

namespace {

float fromBits(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

bool isF16Nan(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0; }
bool isBf16Nan(std::uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x007fu) != 0; }

}  // namespace

class TestHalf : public QObject {
    Q_OBJECT
private slots:
    void f16DecodesKnownValues_data() {
        QTest::addColumn<quint16>("bits");
        QTest::addColumn<float>("value");
        QTest::newRow("one") << quint16(0x3c00) << 1.0f;
        QTest::newRow("minus two") << quint16(0xc000) << -2.0f;
        QTest::newRow("largest normal") << quint16(0x7bff) << 65504.0f;
        QTest::newRow("smallest normal") << quint16(0x0400) << std::ldexp(1.0f, -14);
        QTest::newRow("smallest subnormal") << quint16(0x0001) << std::ldexp(1.0f, -24);
        QTest::newRow("largest subnormal") << quint16(0x03ff) << std::ldexp(1023.0f, -24);
        QTest::newRow("negative zero") << quint16(0x8000) << -0.0f;
        QTest::newRow("infinity") << quint16(0x7c00) << std::numeric_limits<float>::infinity();
        QTest::newRow("minus infinity") << quint16(0xfc00) << -std::numeric_limits<float>::infinity();
    }
    void f16DecodesKnownValues() {
        QFETCH(quint16, bits);
        QFETCH(float, value);
        const float f = f16ToFloat(bits);
        QCOMPARE(f, value);
        QCOMPARE(std::signbit(f), std::signbit(value));
    }

    void f16EncodesWithRoundToNearestEven_data() {
        QTest::addColumn<float>("value");
        QTest::addColumn<quint16>("bits");
        QTest::newRow("one") << 1.0f << quint16(0x3c00);
        QTest::newRow("0.1 rounds down") << 0.1f << quint16(0x2e66);
        QTest::newRow("tie 1+2^-11 to even (down)") << 1.0f + std::ldexp(1.0f, -11) << quint16(0x3c00);
        QTest::newRow("tie 1+3·2^-11 to even (up)") << 1.0f + 3 * std::ldexp(1.0f, -11) << quint16(0x3c02);
        QTest::newRow("just above tie rounds up") << fromBits(0x3f801001) << quint16(0x3c01);
        QTest::newRow("65504 exact") << 65504.0f << quint16(0x7bff);
        QTest::newRow("65519 rounds to max") << 65519.0f << quint16(0x7bff);
        QTest::newRow("65520 overflows to inf") << 65520.0f << quint16(0x7c00);
        QTest::newRow("1e6 overflows to -inf") << -1e6f << quint16(0xfc00);
        QTest::newRow("infinity") << std::numeric_limits<float>::infinity() << quint16(0x7c00);
        QTest::newRow("negative zero") << -0.0f << quint16(0x8000);
        QTest::newRow("smallest subnormal") << std::ldexp(1.0f, -24) << quint16(0x0001);
        QTest::newRow("2^-25 tie to zero") << std::ldexp(1.0f, -25) << quint16(0x0000);
        QTest::newRow("just above 2^-25 rounds up") << std::ldexp(1.0f, -25) * 1.0001f << quint16(0x0001);
        QTest::newRow("3·2^-25 tie to even 2") << 3 * std::ldexp(1.0f, -25) << quint16(0x0002);
        QTest::newRow("5·2^-25 tie to even 2") << 5 * std::ldexp(1.0f, -25) << quint16(0x0002);
        QTest::newRow("-2^-15 subnormal") << -std::ldexp(1.0f, -15) << quint16(0x8200);
        QTest::newRow("below 2^-14 rounds up to normal") << fromBits(0x387fffff) << quint16(0x0400);
        QTest::newRow("float subnormal to zero") << fromBits(0x00000001) << quint16(0x0000);
    }
    void f16EncodesWithRoundToNearestEven() {
        QFETCH(float, value);
        QFETCH(quint16, bits);
        QCOMPARE(floatToF16(value), std::uint16_t(bits));
    }

    void f16NanStaysNan() {
        QVERIFY(isF16Nan(floatToF16(std::numeric_limits<float>::quiet_NaN())));
        QVERIFY(isF16Nan(floatToF16(fromBits(0x7f800001))));  // signalling NaN with a low payload
        QVERIFY(isF16Nan(floatToF16(-std::numeric_limits<float>::quiet_NaN())));
        QVERIFY(std::isnan(f16ToFloat(0x7e00)));
        QVERIFY(std::isnan(f16ToFloat(0x7c01)));
    }

    void everyF16RoundTripsThroughFloat() {
        int nans = 0;
        for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
            const float f = f16ToFloat(std::uint16_t(h));
            if (isF16Nan(std::uint16_t(h))) {
                QVERIFY(std::isnan(f));
                QVERIFY(isF16Nan(floatToF16(f)));
                ++nans;
                continue;
            }
            if (floatToF16(f) != h) QFAIL(qPrintable(QString("0x%1 does not round-trip").arg(h, 4, 16, QChar('0'))));
        }
        QCOMPARE(nans, 2 * 1023);
    }

    void f16MidpointsBetweenNeighboursRoundToEven() {
        // The float halfway between two neighbouring finite F16 values goes to the even one.
        for (std::uint16_t h = 0; h < 0x7bff; ++h) {
            const float lo = f16ToFloat(h), hi = f16ToFloat(std::uint16_t(h + 1));
            const float mid = 0.5f * (lo + hi);
            const std::uint16_t even = (h & 1u) ? std::uint16_t(h + 1) : h;
            if (floatToF16(mid) != even) QFAIL(qPrintable(QString("midpoint above 0x%1 not rounded to even").arg(h, 4, 16)));
        }
    }

    void bf16EncodesWithRoundToNearestEven_data() {
        QTest::addColumn<float>("value");
        QTest::addColumn<quint16>("bits");
        QTest::newRow("one") << 1.0f << quint16(0x3f80);
        QTest::newRow("0.1") << 0.1f << quint16(0x3dcd);
        QTest::newRow("tie 1+2^-8 to even (down)") << 1.0f + std::ldexp(1.0f, -8) << quint16(0x3f80);
        QTest::newRow("tie 1+3·2^-8 to even (up)") << 1.0f + 3 * std::ldexp(1.0f, -8) << quint16(0x3f82);
        QTest::newRow("FLT_MAX overflows to inf") << std::numeric_limits<float>::max() << quint16(0x7f80);
        QTest::newRow("-inf") << -std::numeric_limits<float>::infinity() << quint16(0xff80);
        QTest::newRow("negative zero") << -0.0f << quint16(0x8000);
        QTest::newRow("float subnormal kept") << fromBits(0x00010000) << quint16(0x0001);
        QTest::newRow("float subnormal tie to zero") << fromBits(0x00008000) << quint16(0x0000);
    }
    void bf16EncodesWithRoundToNearestEven() {
        QFETCH(float, value);
        QFETCH(quint16, bits);
        QCOMPARE(floatToBf16(value), std::uint16_t(bits));
    }

    void bf16NanStaysNan() {
        QVERIFY(isBf16Nan(floatToBf16(std::numeric_limits<float>::quiet_NaN())));
        // Payload only in the low 16 bits: plain truncation would give infinity.
        QVERIFY(isBf16Nan(floatToBf16(fromBits(0x7f800001))));
        QVERIFY(isBf16Nan(floatToBf16(fromBits(0xff800001))));
    }

    void everyBf16RoundTripsThroughFloat() {
        for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
            const float f = bf16ToFloat(std::uint16_t(h));
            if (isBf16Nan(std::uint16_t(h))) {
                QVERIFY(std::isnan(f));
                QVERIFY(isBf16Nan(floatToBf16(f)));
                continue;
            }
            if (floatToBf16(f) != h) QFAIL(qPrintable(QString("0x%1 does not round-trip").arg(h, 4, 16, QChar('0'))));
        }
    }

    void bf16DecodingIsTheTopHalfOfTheFloat() {
        QCOMPARE(bf16ToFloat(0x3f80), 1.0f);
        QCOMPARE(bf16ToFloat(0xc2f7), -123.5f);
        QCOMPARE(bf16ToFloat(0x0001), fromBits(0x00010000));
    }
};

QTEST_APPLESS_MAIN(TestHalf)
#include "test_half.moc"
