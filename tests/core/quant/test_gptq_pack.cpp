// The GPTQ checkpoint layout: hand-checked bit positions, v1 and v2 zero points (a zero point of
// 0 refused in v1), act-order g_idx, which sizes the standard layout holds, round trips with
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
        Q.zeros.setConstant(4);
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qweightShape, (std::array<Index, 2>{3, 1}));
        QCOMPARE(std::uint32_t(t.qweight[0]), 0xC0000000u);
        QCOMPARE(std::uint32_t(t.qweight[1]), 0x80000003u);  // bit 0 (value 10), bit 1 (value 11), bit 31 (value 21)
        QCOMPARE(std::uint32_t(t.qweight[2]), 0x80000002u);  // value 21's high bits 0b10, value 31 at bit 31
    }
    void zeroPointsAreStoredMinusOneInV1() {
        QuantizedWeight Q = QuantizedWeight::allocate(32, 64, {4, 32, true});
        Q.zeros.setConstant(8);  // symmetric 4-bit
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qzerosShape, (std::array<Index, 2>{2, 4}));
        for (std::int32_t word : t.qzeros) QCOMPARE(std::uint32_t(word), 0x77777777u);
        for (std::int32_t word : packGptq(Q, GptqZeroFormat::V2).qzeros) QCOMPARE(std::uint32_t(word), 0x88888888u);
    }
    // A 32×8 int4 group (in 32, out 8) written by hand from the layout: code[o, i] = (i + o) mod 16,
    // zero[o] = o, so output 0 has a zero point of 0 (an asymmetric group without a negative weight).
    void int4GroupWithZeroPointZero() {
        QuantizedWeight Q = QuantizedWeight::allocate(8, 32, {4, 32, false});
        for (Index o = 0; o < 8; ++o) {
            for (Index i = 0; i < 32; ++i) Q.codes(o, i) = std::uint8_t((i + o) % 16);
            Q.zeros(o, 0) = std::int32_t(o);
            Q.scales(o, 0) = 0.25f;
        }
        QCOMPARE(gptqZeroPointsBelowOne(Q), Index(1));
        // v1 stores zero − 1: zero 0 has no encoding (AutoGPTQ's loader would add 1 to 15 and use 16).
        try {
            (void)packGptq(Q, GptqZeroFormat::V1);
            QFAIL("v1 accepted a zero point of 0");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("gptq_v2"), e.what());
        }
        const GptqTensors t = packGptq(Q, GptqZeroFormat::V2);
        // qweight [4, 8]: word w of output o holds rows 8w..8w+7, row 8w+j in bits 4j..4j+3.
        QCOMPARE(t.qweightShape, (std::array<Index, 2>{4, 8}));
        const std::uint32_t out0[4] = {0x76543210u, 0xFEDCBA98u, 0x76543210u, 0xFEDCBA98u};
        const std::uint32_t out1[4] = {0x87654321u, 0x0FEDCBA9u, 0x87654321u, 0x0FEDCBA9u};
        const std::uint32_t out7[4] = {0xEDCBA987u, 0x6543210Fu, 0xEDCBA987u, 0x6543210Fu};
        for (int w = 0; w < 4; ++w) {
            QCOMPARE(std::uint32_t(t.qweight[std::size_t(w * 8 + 0)]), out0[w]);
            QCOMPARE(std::uint32_t(t.qweight[std::size_t(w * 8 + 1)]), out1[w]);
            QCOMPARE(std::uint32_t(t.qweight[std::size_t(w * 8 + 7)]), out7[w]);
        }
        // qzeros [1, 4] (out padded to 32 here): v2 stores the zero points as they are.
        QCOMPARE(std::uint32_t(t.qzeros[0]), 0x76543210u);
        QCOMPARE(t.qzeros[1], 0);
        const QuantizedWeight R = unpackGptq(t, 4, 32, false, 32, 8, GptqZeroFormat::V2);
        QCOMPARE(R.zeros, Q.zeros);
        QCOMPARE(R.dequantize(), Q.dequantize());
        QCOMPARE(R.dequantize()(0, 5), 0.25f * 5.0f);  // zero 0: W = s · q
        // Zero points 1..8 fit v1: stored 0..7, and v2 stores 1..8.
        for (Index o = 0; o < 8; ++o) Q.zeros(o, 0) = std::int32_t(o + 1);
        QCOMPARE(std::uint32_t(packGptq(Q, GptqZeroFormat::V1).qzeros[0]), 0x76543210u);
        QCOMPARE(std::uint32_t(packGptq(Q, GptqZeroFormat::V2).qzeros[0]), 0x87654321u);
    }
    // Act-order: g_idx is written as the permutation of groups, scales stay [groups, out] by group.
    void actOrderGroupIndexIsWrittenAsIs() {
        QuantizedWeight Q = QuantizedWeight::allocate(32, 64, {4, 32, false});
        for (Index c = 0; c < 64; ++c) Q.gIdx[std::size_t(c)] = std::int32_t((c + 1) % 2);  // 1, 0, 1, 0, …
        for (Index o = 0; o < 32; ++o) {
            Q.zeros(o, 0) = 3, Q.zeros(o, 1) = 5;
            Q.scales(o, 0) = 0.5f, Q.scales(o, 1) = 2.0f;
            for (Index c = 0; c < 64; ++c) Q.codes(o, c) = std::uint8_t(c % 16);
        }
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.g_idx[0], 1);
        QCOMPARE(t.g_idx[1], 0);
        QCOMPARE(t.g_idx[63], 0);
        QCOMPARE(f16ToFloat(t.scalesF16[0]), 0.5f);        // scales[0, 0]
        QCOMPARE(f16ToFloat(t.scalesF16[32]), 2.0f);       // scales[1, 0]
        const QuantizedWeight R = unpackGptq(t, 4, 32, false, 64, 32);
        QCOMPARE(R.dequantize()(0, 0), 2.0f * (0.0f - 5.0f));  // column 0 is in group 1
        QCOMPARE(R.dequantize()(0, 1), 0.5f * (1.0f - 3.0f));  // column 1 in group 0
    }
    void standardLayoutNamesWhatDoesNotFit() {
        QCOMPARE(gptqStandardLayoutProblem(4, 32, 64, 64), std::string());
        QCOMPARE(gptqStandardLayoutProblem(3, std::nullopt, 96, 32), std::string());
        QVERIFY(gptqStandardLayoutProblem(4, 32, 172, 64).find("in_features 172") != std::string::npos);
        QVERIFY(gptqStandardLayoutProblem(4, 32, 64, 172).find("out_features 172") != std::string::npos);
        QVERIFY(gptqStandardLayoutProblem(4, 128, 96, 64).find("group size 128") != std::string::npos);
    }
    void fiveBitCodesFormOneStreamAcrossFiveWords() {
        // Codes 0..31 of 32 inputs, 5 bits each: value k at bits [5k, 5k + 5) of the 160-bit
        // stream. Word 0 holds values 0..5 and the low 2 bits of value 6 (6 = 0b110 → 0b10 at
        // bit 30); word 1 starts with its high bit (6 >> 2 = 1), then values 7..11 from bit 3,
        // then the low 4 bits of value 12 at bit 28.
        QuantizedWeight Q = QuantizedWeight::allocate(1, 32, {5, 32, false});
        for (int k = 0; k < 32; ++k) Q.codes(0, k) = std::uint8_t(k);
        Q.scales(0, 0) = 1.0f;
        Q.zeros(0, 0) = 16;
        const GptqTensors t = packGptq(Q);
        QCOMPARE(t.qweightShape, (std::array<Index, 2>{5, 1}));
        const std::uint32_t word0 = (1u << 5) | (2u << 10) | (3u << 15) | (4u << 20) | (5u << 25) | (2u << 30);
        const std::uint32_t word1 = 1u | (7u << 3) | (8u << 8) | (9u << 13) | (10u << 18) | (11u << 23) | (12u << 28);
        QCOMPARE(std::uint32_t(t.qweight[0]), word0);
        QCOMPARE(std::uint32_t(t.qweight[1]), word1);
        QCOMPARE(std::uint32_t(t.qweight[4]) >> 27, 31u);  // value 31 ends the stream at bit 159
        QCOMPARE(unpackGptq(t, 5, 32, false, 32, 1).codes, Q.codes);
    }
    void roundTrip_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("group");  // 0 = one group per row
        QTest::addColumn<bool>("shuffled");
        for (int bits : {2, 3, 4, 5, 6, 7, 8}) {  // every width, the odd ones spanning words included
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
        // v2 holds every zero point (0 included); v1 those ≥ 1.
        const QuantizedWeight R = unpackGptq(packGptq(Q, GptqZeroFormat::V2), bits, g, false, in, out, GptqZeroFormat::V2);
        QCOMPARE(R.codes, Q.codes);
        QCOMPARE(R.zeros, Q.zeros);
        QCOMPARE(R.scales, Q.scales);
        QCOMPARE(R.gIdx, Q.gIdx);
        QCOMPARE(R.dequantize(), Q.dequantize());
        QuantizedWeight Q1 = Q;
        Q1.zeros = Q.zeros.cwiseMax(1);
        QCOMPARE(unpackGptq(packGptq(Q1, GptqZeroFormat::V1), bits, g, false, in, out, GptqZeroFormat::V1).zeros, Q1.zeros);
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
        const GptqZeroFormat f = gptqZeroPointsBelowOne(Q) > 0 ? GptqZeroFormat::V2 : GptqZeroFormat::V1;
        const QuantizedWeight R = unpackGptq(packGptq(Q, f), 4, 32, false, 172, 64, f);
        QCOMPARE(R.dequantize(), Q.dequantize());  // bit-exact: the scales were F16 all along
    }
    void sizeErrorsNameTheTensor() {
        QuantizedWeight Q = QuantizedWeight::allocate(32, 64, {4, 32, false});
        Q.zeros.setConstant(1);
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
        QVERIFY_THROWS_EXCEPTION(Error, packGptq(QuantizedWeight::allocate(4, 32, {1, 32, false})));  // widths are 2..8
    }
    void standardLoadersReadOnlyTwoThreeFourAndEightBits() {
        for (int bits : {5, 6, 7})
            QVERIFY(gptqStandardLayoutProblem(bits, 32, 64, 64).find("read 2, 3, 4 or 8 bits") != std::string::npos);
    }
};

QTEST_APPLESS_MAIN(TestGptqPack)
#include "test_gptq_pack.moc"
