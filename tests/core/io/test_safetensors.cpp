// SafetensorsFile and writeSafetensors: what the writer produces is what the reader maps.
#include <QtTest>

#include <cstring>
#include <fstream>

#include "checkpoint_fixtures.h"
#include "core/io/safetensors_file.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using core::DType;

namespace {

core::TensorBlob rawBlob(std::string name, DType dtype, std::vector<std::int64_t> shape, unsigned char seed) {
    core::TensorBlob b;
    b.name = std::move(name);
    b.dtype = dtype;
    b.shape = std::move(shape);
    std::int64_t n = 1;
    for (auto d : b.shape) n *= d;
    b.bytes.resize(std::size_t(n) * core::dtypeSize(dtype));
    for (std::size_t i = 0; i < b.bytes.size(); ++i) b.bytes[i] = std::byte((seed + 7 * i) & 0xffu);
    return b;
}

std::uint16_t halfAt(const core::TensorBlob& b, std::size_t i) {
    std::uint16_t h;
    std::memcpy(&h, b.bytes.data() + 2 * i, 2);
    return h;
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void writeThenOpenRoundTripsNamesDtypesShapesBytesAndMetadata() {
        const auto dir = test::freshScratchDir("st-roundtrip");
        // Given out of name order: the writer sorts them.
        const std::vector<core::TensorBlob> blobs = {rawBlob("z.weight", DType::F32, {2, 3}, 1),
                                                     rawBlob("a.half", DType::F16, {5}, 2),
                                                     rawBlob("m.brain", DType::BF16, {3, 1}, 3),
                                                     rawBlob("b.ids", DType::I32, {4}, 4),
                                                     rawBlob("c.flags", DType::U8, {3}, 5)};
        core::writeSafetensors(dir / "t.safetensors", blobs, {{"format", "pt"}, {"source", "quantbench test"}});

        const auto f = core::SafetensorsFile::open(dir / "t.safetensors");
        QCOMPARE(f->tensors().size(), blobs.size());
        const std::vector<std::string> fileOrder = {"a.half", "b.ids", "c.flags", "m.brain", "z.weight"};
        for (std::size_t i = 0; i < fileOrder.size(); ++i) QCOMPARE(f->tensors()[i].name, fileOrder[i]);
        for (const auto& b : blobs) {
            const core::TensorInfo* t = f->find(b.name);
            QVERIFY(t != nullptr);
            QCOMPARE(t->dtype, b.dtype);
            QCOMPARE(t->shape, b.shape);
            QCOMPARE(t->nbytes, b.bytes.size());
            QVERIFY(std::memcmp(t->data, b.bytes.data(), t->nbytes) == 0);
        }
        QCOMPARE(f->metadata().size(), std::size_t(2));
        QCOMPARE(f->metadata().at("format"), std::string("pt"));
        QCOMPARE(f->metadata().at("source"), std::string("quantbench test"));
        QVERIFY(f->find("missing") == nullptr);
    }
    void writerAlignsTheDataSectionTo8Bytes() {
        const auto dir = test::freshScratchDir("st-align");
        core::writeSafetensors(dir / "t.safetensors", {rawBlob("x", DType::U8, {3}, 9)});
        const auto f = core::SafetensorsFile::open(dir / "t.safetensors");
        QCOMPARE(f->tensors()[0].fileOffset % 8, std::size_t(0));
        QCOMPARE(f->fileSize(), f->tensors()[0].fileOffset + 3);
        QCOMPARE(f->headerText().size() + 8, f->tensors()[0].fileOffset);
    }
    void writerLeavesOnlyTheFinishedFile() {
        const auto dir = test::freshScratchDir("st-tmp");
        core::writeSafetensors(dir / "t.safetensors", {rawBlob("x", DType::F32, {2}, 1)});
        int entries = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            QCOMPARE(e.path().filename().string(), std::string("t.safetensors"));
            ++entries;
        }
        QCOMPARE(entries, 1);
    }
    void writerRejectsABlobWhoseBytesDoNotMatchItsShape() {
        const auto dir = test::freshScratchDir("st-badblob");
        auto b = rawBlob("x", DType::F32, {2, 2}, 1);
        b.bytes.resize(12);
        try {
            core::writeSafetensors(dir / "t.safetensors", {b});
            QFAIL("a 12-byte [2, 2] F32 blob was written");
        } catch (const core::Error& e) {
            QVERIFY(std::string(e.what()).find("t.safetensors: tensor 'x' has 12 bytes for its shape") != std::string::npos);
        }
        QVERIFY(!std::filesystem::exists(dir / "t.safetensors"));
    }
    void makeFloatBlobConvertsToF16AndBf16() {
        const float values[] = {1.0f, -2.5f, 65504.0f, 0.1f};
        const auto h = core::makeFloatBlob("h", {4}, values, DType::F16);
        QCOMPARE(h.bytes.size(), std::size_t(8));
        QCOMPARE(halfAt(h, 0), std::uint16_t(0x3c00));
        QCOMPARE(halfAt(h, 1), std::uint16_t(0xc100));
        QCOMPARE(halfAt(h, 2), std::uint16_t(0x7bff));
        QCOMPARE(halfAt(h, 3), std::uint16_t(0x2e66));  // 0.1 → 0.0999755859375
        const auto b = core::makeFloatBlob("b", {4}, values, DType::BF16);
        QCOMPARE(halfAt(b, 0), std::uint16_t(0x3f80));
        QCOMPARE(halfAt(b, 1), std::uint16_t(0xc020));
        QCOMPARE(halfAt(b, 2), std::uint16_t(0x4780));  // 65504 → 65536
        QCOMPARE(halfAt(b, 3), std::uint16_t(0x3dcd));  // 0.1 → 0.10009765625
    }
    void makeFloatBlobRejectsAnIntegerDtype() {
        const float values[] = {1.0f};
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::makeFloatBlob("i", {1}, values, DType::I32));
    }
    void fileShorterThanTheLengthFieldIsTruncated() {
        const auto dir = test::freshScratchDir("st-short");
        {
            std::ofstream out(dir / "t.safetensors", std::ios::binary);
            out.write("abc", 3);
        }
        try {
            (void)core::SafetensorsFile::open(dir / "t.safetensors");
            QFAIL("a 3-byte file opened");
        } catch (const core::Error& e) {
            QVERIFY(std::string(e.what()).find("t.safetensors: truncated: 3 bytes") != std::string::npos);
        }
    }
    void dataOffsetsThatEndBeforeTheyBeginAreRejected() {
        const auto dir = test::freshScratchDir("st-reversed");
        test::writeRawSafetensors(dir / "t.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 16);
        try {
            (void)core::SafetensorsFile::open(dir / "t.safetensors");
            QFAIL("reversed offsets accepted");
        } catch (const core::Error& e) {
            QVERIFY(std::string(e.what()).find("t.safetensors: tensor 'w': data_offsets end before they begin") != std::string::npos);
        }
    }
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
