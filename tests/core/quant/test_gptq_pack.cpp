// The GPTQ checkpoint layout: hand-checked bit positions, v1 zero points, round trips with
// partial groups and act-order g_idx, and size validation.
#include <QtTest>

#include <random>

#include "core/backend/backend.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// A QuantizedWeight with random codes, zeros (0 included) and F16-exact scales.
QuantizedWeight randomQuantized(Index out, Index in, const WeightGridSpec& spec, bool shuffledGroups, unsigned seed) {
    std::mt19937 rng(seed);
    QuantizedWeight Q = QuantizedWeight::allocate(out, in, spec);
    const int maxq = (1 << spec.bits) - 1;
    std::uniform_int_distribution<int> code(0, maxq);
    std::uniform_real_distribution<float> scale(1e-3f, 0.1f);
    for (Index i = 0; i < Q.codes.size(); ++i) Q.codes.data()[i] = std::uint8_t(code(rng));
    for (Index i = 0; i < Q.zeros.size(); ++i) Q.zeros.data()[i] = code(rng);
    for (Index i = 0; i < Q.scales.size(); ++i) Q.scales.data()[i] = f16ToFloat(floatToF16(scale(rng)));
    if (shuffledGroups) std::shuffle(Q.gIdx.begin(), Q.gIdx.end(), rng);  // an act-order style g_idx
    return Q;
}

}  // namespace

class TestGptqPack : public QObject {
    Q_OBJECT
private slots:
    void fourBitWordsHoldEightRowsLowBitsFirst() {
        QuantizedWeight Q = QuantizedWeight::allocate(1, 32, {4, 32, false});
        for (int k = 0; k < 32; ++k) Q.codes(0, k) = std::uint8_t(k % 16);
        Q.zeros(0, 0) = 8;
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qweightShape, (std::array<Index, 2>{4, 1}));
        QCOMPARE(std::uint32_t(t.qweight[0]), 0x76543210u);
        QCOMPARE(std::uint32_t(t.qweight[1]), 0xFEDCBA98u);
        QCOMPARE(std::uint32_t(t.qweight[2]), 0x76543210u);
        // qzeros [1, 4]: zero − 1 = 7 in the first nibble.
        QCOMPARE(t.qzerosShape, (std::array<Index, 2>{1, 4}));
        QCOMPARE(t.qzeros[0], 7);
    }
    void threeBitValuesStraddleWordsAsAutoGptq() {
        // 32 rows in 3 words: value 10 is split 2 + 1 bits over words 0/1, value 21 1 + 2 over words 1/2.
        QuantizedWeight Q = QuantizedWeight::allocate(1, 32, {3, std::nullopt, false});
        Q.codes(0, 10) = 7;  // 0b111
        Q.codes(0, 21) = 5;  // 0b101
        Q.codes(0, 11) = 1;  // bit 1 of word 1
        Q.codes(0, 31) = 4;  // 0b100 at bits 29..31 of word 2
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qweightShape, (std::array<Index, 2>{3, 1}));
        QCOMPARE(std::uint32_t(t.qweight[0]), 0xC0000000u);
        QCOMPARE(std::uint32_t(t.qweight[1]), 0x80000003u);  // bit 0 (value 10), bit 1 (value 11), bit 31 (value 21)
        QCOMPARE(std::uint32_t(t.qweight[2]), 0x80000002u);  // value 21's high bits 0b10, value 31 at bit 31
    }
    void zeroPointsAreStoredMinusOne() {
        QuantizedWeight Q = QuantizedWeight::allocate(32, 64, {4, 32, true});
        Q.zeros.setConstant(8);  // symmetric 4-bit
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qzerosShape, (std::array<Index, 2>{2, 4}));
        for (std::int32_t word : t.qzeros) QCOMPARE(std::uint32_t(word), 0x77777777u);
        QCOMPARE(t.wrappedZeros, 0);
        Q.zeros(3, 1) = 0;  // an asymmetric group without negative weights wraps in v1
        QCOMPARE(packGptq(Q).wrappedZeros, 1);
    }
    void roundTrip_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("group");  // 0 = one group per row
        QTest::addColumn<bool>("shuffled");
        for (int bits : {2, 3, 4, 8}) {
            const QByteArray b = QByteArray::number(bits) + "-bit";
            QTest::newRow(b + " 172x172 g32 (partial groups, padding)") << bits << 172 << 172 << 32 << false;
            QTest::newRow(b + " 172x172 g32 act-order g_idx") << bits << 172 << 172 << 32 << true;
            QTest::newRow(b + " in 64 out 96 per-row") << bits << 64 << 96 << 0 << false;
            QTest::newRow(b + " in 256 out 64 g128") << bits << 256 << 64 << 128 << false;
        }
    }
    void roundTrip() {
        QFETCH(int, bits);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(int, group);
        QFETCH(bool, shuffled);
        const std::optional<int> g = group ? std::optional<int>(group) : std::nullopt;
        const QuantizedWeight Q = randomQuantized(out, in, {bits, g, false}, shuffled, unsigned(bits * 1000 + in + group));
        const GptqTensors t = packGptq(Q);
        const QuantizedWeight R = unpackGptq(t, bits, g, false, in, out);
        QCOMPARE(R.codes, Q.codes);
        QCOMPARE(R.zeros, Q.zeros);
        QCOMPARE(R.scales, Q.scales);
        QCOMPARE(R.gIdx, Q.gIdx);
        QCOMPARE(R.dequantize(), Q.dequantize());
    }
    void gptqResultSurvivesExport() {
        setThreadCount(2);
        const MatrixRM W = test::randomMatrix(64, 172, 3, 0.05f);
        const MatrixRM X = test::randomMatrix(256, 172, 4);
        MatrixRMd H;
        long n = 0;
        accumulateHessian(X, H, n);
        GptqOptions o;
        o.actOrder = true;
        const QuantizedWeight Q = quantizeGptq(W, H, {4, 32, false}, o).weight;
        const QuantizedWeight R = unpackGptq(packGptq(Q), 4, 32, false, 172, 64);
        QCOMPARE(R.dequantize(), Q.dequantize());  // bit-exact: the scales were F16 all along
    }
    void sizeErrorsNameTheTensor() {
        const QuantizedWeight Q = QuantizedWeight::allocate(32, 64, {4, 32, false});
        GptqTensors t = packGptq(Q);
        t.qweight.pop_back();
        QVERIFY_THROWS_EXCEPTION(Error, unpackGptq(t, 4, 32, false, 64, 32));
        t = packGptq(Q);
        t.g_idx[5] = 2;  // only groups 0 and 1
        QVERIFY_THROWS_EXCEPTION(Error, unpackGptq(t, 4, 32, false, 64, 32));
        try {
            t = packGptq(Q);
            t.scalesF16.resize(10);
            (void)unpackGptq(t, 4, 32, false, 64, 32);
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("scales") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(Error, packGptq(QuantizedWeight::allocate(4, 32, {5, 32, false})));
    }
};

QTEST_APPLESS_MAIN(TestGptqPack)
#include "test_gptq_pack.moc"
