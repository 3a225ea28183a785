// GGUF block formats byte by byte: the writer's packing of a known block of 32 values against
// bytes worked out by hand from ggml-common.h's layouts and ggml-quants.c's reference rounding,
// the reader's decoding of hand-built blocks (K formats included), and K round trips within
// the bound each format guarantees.
#include <QtTest>

#include <cstring>
#include <random>
#include <vector>

#include "core/export/gguf_check.h"
#include "core/export/gguf_pack.h"
#include "core/export/gguf_reader.h"
#include "core/util/half.h"

using namespace qb;
using core::GgmlType;

namespace {

// The test block: x_j = (j − 16)/4, with x5 = −2.6, x8 = −2.1, x20 = 1.3, x24 = 2.1, x31 = 3.7
// (no value lands on a rounding tie in any format). absmax 4 at j = 0 (negative); min −4, max 3.75.
std::vector<float> testBlock() {
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[std::size_t(j)] = float(j - 16) / 4.0f;
    x[5] = -2.6f;
    x[8] = -2.1f;
    x[20] = 1.3f;
    x[24] = 2.1f;
    x[31] = 3.7f;
    return x;
}

std::vector<std::uint8_t> pack(GgmlType type, const std::vector<float>& x) {
    std::vector<std::uint8_t> out(core::ggufPackedRowBytes(type, std::int64_t(x.size())));
    core::ggufPackRow(type, x.data(), std::int64_t(x.size()), out.data());
    return out;
}

std::vector<float> unpack(GgmlType type, const std::vector<std::uint8_t>& bytes, int n) {
    std::vector<float> y(static_cast<std::size_t>(n));
    core::ggufUnpackRow(type, bytes.data(), n, y.data());
    return y;
}

void compareBytes(const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want) {
    QCOMPARE(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i]) QFAIL(qPrintable(QString("byte %1: 0x%2, expected 0x%3").arg(i).arg(got[i], 2, 16, QChar('0')).arg(want[i], 2, 16, QChar('0'))));
}

}  // namespace

class TestGgufBlocks : public QObject {
    Q_OBJECT
private slots:
    void geometryMatchesGgmlCommon() {
        // ggml-common.h: sizeof(block_q8_0) 34, q4_0 18, q4_1 20, q5_0 22, q5_1 24, q4_K 144, q6_K 210.
        const std::vector<std::tuple<GgmlType, int, int>> want = {
            {GgmlType::F32, 1, 4},      {GgmlType::F16, 1, 2},      {GgmlType::BF16, 1, 2},   {GgmlType::Q8_0, 32, 34},
            {GgmlType::Q4_0, 32, 18},   {GgmlType::Q4_1, 32, 20},   {GgmlType::Q5_0, 32, 22}, {GgmlType::Q5_1, 32, 24},
            {GgmlType::Q4_K, 256, 144}, {GgmlType::Q6_K, 256, 210}};
        for (const auto& [type, block, bytes] : want) {
            QCOMPARE(core::ggufPackBlockSize(type), block);
            QCOMPARE(int(core::ggufPackBlockBytes(type)), bytes);
            QCOMPARE(core::ggufReadBlockGeometry(type)->first, block);
            QCOMPARE(core::ggufReadBlockGeometry(type)->second, bytes);
        }
        QVERIFY(!core::ggufReadBlockGeometry(GgmlType(9)));  // Q8_1: not a storage type here
    }

    void q8_0PacksTheHandWorkedBlock() {
        // d = 4/127 → F16 0x2808 (1.0078125·2⁻⁵); q_j = round(x_j/d): −127, −119, −111, ...
        compareBytes(pack(GgmlType::Q8_0, testBlock()),
                     {0x08, 0x28, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xad, 0xb1, 0xb9, 0xbd, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00,
                      0x08, 0x10, 0x18, 0x29, 0x28, 0x30, 0x38, 0x43, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x75});
    }

    void q4_0PacksTheHandWorkedBlock() {
        // The extreme is −4, so d = −4/−8 = 0.5 (F16 0x3800); q = min(15, ⌊2x + 8.5⌋): x = 3.75 → 16 → 15.
        // Byte j: q_j in the low nibble, q_{j+16} in the high one.
        compareBytes(pack(GgmlType::Q4_0, testBlock()),
                     {0x00, 0x38, 0x80, 0x91, 0x91, 0xa2, 0xb2, 0xb3, 0xb3, 0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8});
    }

    void q4_1PacksTheHandWorkedBlock() {
        // d = (3.7 − (−4))/15 = 0.51333 → F16 0x381b; m = −4 → F16 0xc400; q = ⌊(x + 4)/d + 0.5⌋.
        compareBytes(pack(GgmlType::Q4_1, testBlock()), {0x1b, 0x38, 0x00, 0xc4, 0x80, 0x80, 0x91, 0x91, 0xa2, 0xa3,
                                                         0xb3, 0xb3, 0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7});
    }

    void q5_0PacksTheHandWorkedBlock() {
        // d = −4/−16 = 0.25 (0x3400); q = min(31, ⌊4x + 16.5⌋) ∈ [0, 31]; bit 4 of q_j is bit j of
        // qh (u32 0xffff0000: exactly the upper half of the block is ≥ 16).
        compareBytes(pack(GgmlType::Q5_0, testBlock()), {0x00, 0x34, 0x00, 0x00, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x54,
                                                         0x56, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    }

    void q5_1PacksTheHandWorkedBlock() {
        // d = 7.7/31 → F16 0x33f3, m = −4 (0xc400), qh 0xffff0000.
        compareBytes(pack(GgmlType::Q5_1, testBlock()), {0xf3, 0x33, 0x00, 0xc4, 0x00, 0x00, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33,
                                                         0x54, 0x56, 0x66, 0x77, 0x98, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    }

    void f16AndBf16StoreTheRoundedBits() {
        const std::vector<float> x = {1.0f, -2.5f, 65504.0f, 1.0f / 3.0f};
        // F16: 1 → 0x3c00, −2.5 → 0xc100, 65504 → 0x7bff, 1/3 → 0x3555. BF16: the top 16 bits, rounded.
        compareBytes(pack(GgmlType::F16, x), {0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0x55, 0x35});
        compareBytes(pack(GgmlType::BF16, x), {0x80, 0x3f, 0x20, 0xc0, 0x80, 0x47, 0xab, 0x3e});
    }

    void readerDecodesHandBuiltLegacyBlocks() {
        // Q4_0 with d = 0.5 and byte j = j | (15 − j) << 4: y_j = 0.5(j − 8), y_{j+16} = 0.5(7 − j).
        std::vector<std::uint8_t> q4(18, 0);
        q4[1] = 0x38;
        for (int j = 0; j < 16; ++j) q4[std::size_t(2 + j)] = std::uint8_t(j | ((15 - j) << 4));
        const auto y4 = unpack(GgmlType::Q4_0, q4, 32);
        for (int j = 0; j < 16; ++j) {
            QCOMPARE(y4[std::size_t(j)], 0.5f * float(j - 8));
            QCOMPARE(y4[std::size_t(j + 16)], 0.5f * float(7 - j));
        }
        // Q5_1 with d = 0.25, m = −1 (0xbc00), qh = 0x80000001 (bit 4 set for values 0 and 31), nibbles 0x21.
        const std::vector<std::uint8_t> q5 = {0x00, 0x34, 0x00, 0xbc, 0x01, 0x00, 0x00, 0x80, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21,
                                              0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21};
        const auto y5 = unpack(GgmlType::Q5_1, q5, 32);
        QCOMPARE(y5[0], 0.25f * 17 - 1.0f);   // low nibble 1 + 16
        QCOMPARE(y5[1], 0.25f * 1 - 1.0f);
        QCOMPARE(y5[16], 0.25f * 2 - 1.0f);   // high nibble 2
        QCOMPARE(y5[31], 0.25f * 18 - 1.0f);  // high nibble 2 + 16
        // Q8_0 with d = 2 (0x4000) and q_j = j − 16.
        std::vector<std::uint8_t> q8(34, 0);
        q8[1] = 0x40;
        for (int j = 0; j < 32; ++j) q8[std::size_t(2 + j)] = std::uint8_t(std::int8_t(j - 16));
        const auto y8 = unpack(GgmlType::Q8_0, q8, 32);
        for (int j = 0; j < 32; ++j) QCOMPARE(y8[std::size_t(j)], 2.0f * float(j - 16));
    }

    void readerDecodesAHandBuiltQ4KBlock() {
        // d = 1 (0x3c00), dmin = 0.5 (0x3800). Scales 1, 2, 3, 4, 40, 6, 7, 8 and mins 0, 1, 2, 3, 4, 5, 6, 50:
        // scale/min s < 4 in the low 6 bits of bytes s and s+4; s ≥ 4: low 4 bits in byte s+4 (scale
        // low nibble, min high nibble), top 2 bits in the top of bytes s−4 (scale) and s (min).
        // 40 = 0b10'1000 → byte 8 low nibble 8, byte 0 top bits 0b10; 50 = 0b11'0010 → byte 11 high
        // nibble 2, byte 7 top bits 0b11. Every qs byte 0x21: q = 1 in even, 2 in odd sub-blocks.
        std::vector<std::uint8_t> b(144, 0x21);
        const std::uint8_t head[16] = {0x00, 0x3c, 0x00, 0x38, std::uint8_t(1 | (2 << 6)), 2, 3, 4, 0, 1, 2, std::uint8_t(3 | (3 << 6)),
                                       std::uint8_t(8 | (4 << 4)), std::uint8_t(6 | (5 << 4)), std::uint8_t(7 | (6 << 4)), std::uint8_t(8 | (2 << 4))};
        std::memcpy(b.data(), head, sizeof head);
        const auto y = unpack(GgmlType::Q4_K, b, 256);
        const int scale[8] = {1, 2, 3, 4, 40, 6, 7, 8}, mn[8] = {0, 1, 2, 3, 4, 5, 6, 50};
        for (int s = 0; s < 8; ++s)
            for (int l = 0; l < 32; ++l) QCOMPARE(y[std::size_t(32 * s + l)], float(scale[s] * (1 + s % 2)) - 0.5f * float(mn[s]));
    }

    void readerDecodesAHandBuiltQ6KBlock() {
        // Value i has 6-bit q_i = i mod 64 and scale (i/16) − 8; d = 0.25 (0x3400). Layout per half h
        // of 128: ql[64h + l] = q_l | q_{l+64} << 4, ql[64h + 32 + l] = q_{l+32} | q_{l+96} << 4 (low 4
        // bits), qh[32h + l] = the top 2 bits of q_l, q_{l+32}, q_{l+64}, q_{l+96} at bits 0, 2, 4, 6.
        std::vector<std::uint8_t> b(210, 0);
        auto q = [](int h, int i) { return (128 * h + i) % 64; };
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 32; ++l) {
                b[std::size_t(64 * h + l)] = std::uint8_t((q(h, l) & 15) | ((q(h, l + 64) & 15) << 4));
                b[std::size_t(64 * h + 32 + l)] = std::uint8_t((q(h, l + 32) & 15) | ((q(h, l + 96) & 15) << 4));
                b[std::size_t(128 + 32 * h + l)] = std::uint8_t((q(h, l) >> 4) | ((q(h, l + 32) >> 4) << 2) | ((q(h, l + 64) >> 4) << 4) |
                                                                ((q(h, l + 96) >> 4) << 6));
            }
        for (int s = 0; s < 16; ++s) b[std::size_t(192 + s)] = std::uint8_t(std::int8_t(s - 8));
        b[208] = 0x00;
        b[209] = 0x34;
        const auto y = unpack(GgmlType::Q6_K, b, 256);
        for (int i = 0; i < 256; ++i) QCOMPARE(y[std::size_t(i)], 0.25f * float(i / 16 - 8) * float(i % 64 - 32));
    }

    void roundTripsStayWithinEachTypesBound_data() {
        QTest::addColumn<int>("type");
        for (GgmlType t : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                           GgmlType::Q4_K, GgmlType::Q6_K})
            QTest::newRow(core::ggmlTypeName(t).c_str()) << int(t);
    }
    void roundTripsStayWithinEachTypesBound() {
        QFETCH(int, type);
        const GgmlType t = GgmlType(type);
        // 8 rows of 512: Gaussian, an outlier row, an all-positive row, a row with a zero block.
        std::mt19937 rng(7);
        std::normal_distribution<float> g(0.0f, 0.05f);
        constexpr int kCols = 512;
        for (int r = 0; r < 8; ++r) {
            std::vector<float> x(kCols);
            for (auto& v : x) v = g(rng);
            if (r == 1) x[100] = 3.0f;
            if (r == 2)
                for (auto& v : x) v = std::fabs(v) + 0.2f;
            if (r == 3) std::fill(x.begin(), x.begin() + 256, 0.0f);
            const auto y = unpack(t, pack(t, x), kCols);
            const int block = core::ggufPackBlockSize(t) == 1 ? kCols : core::ggufPackBlockSize(t);
            double worst = 0.0;
            for (int b0 = 0; b0 < kCols; b0 += block) {
                const auto [mnIt, mxIt] = std::minmax_element(x.begin() + b0, x.begin() + b0 + block);
                const double amax = std::max(std::fabs(*mnIt), std::fabs(*mxIt));
                for (int j = b0; j < b0 + block; ++j) {
                    const double bound = core::ggufErrorBound(t, x[std::size_t(j)], amax, *mnIt, *mxIt - *mnIt) + 1e-12;
                    worst = std::max(worst, std::fabs(double(y[std::size_t(j)]) - x[std::size_t(j)]) / bound);
                }
            }
            QVERIFY2(worst <= 1.0, qPrintable(QString("row %1: %2 of the bound").arg(r).arg(worst)));
            if (r == 3 && core::isQuantizedGgmlType(t))
                for (int j = 0; j < 256; ++j) QCOMPARE(y[std::size_t(j)], 0.0f);  // a zero block stays zero
        }
    }

    void rowsThatDoNotFillBlocksAreRefused() {
        std::vector<float> x(40, 1.0f);
        std::vector<std::uint8_t> out(100);
        QVERIFY_THROWS_EXCEPTION(core::Error, core::ggufPackRow(GgmlType::Q4_0, x.data(), 40, out.data()));
        QVERIFY_THROWS_EXCEPTION(core::Error, core::ggufUnpackRow(GgmlType::Q6_K, out.data(), 40, x.data()));
    }
};

QTEST_GUILESS_MAIN(TestGgufBlocks)
#include "test_gguf_blocks.moc"
