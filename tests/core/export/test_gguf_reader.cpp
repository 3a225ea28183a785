// GgufReader on files built byte by byte in this test from ggml's docs/gguf.md (not by the
// writer): a header with metadata of every kind parsed field by field, then one hostile file
// per check the reader makes, each refused with one line naming the file.
#include <QtTest>

#include <cstring>
#include <fstream>
#include <random>

#include "core/export/gguf_reader.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using core::GgmlType;

namespace {

// Little-endian bytes, appended by hand.
struct Bytes {
    std::vector<std::uint8_t> b;
    template <class T>
    Bytes& put(T v) {
        const auto at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
        return *this;
    }
    Bytes& str(const std::string& s) {
        put<std::uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& key(const std::string& k, std::uint32_t type) { return str(k).put<std::uint32_t>(type); }
    Bytes& padTo(std::size_t alignment) {
        while (b.size() % alignment) b.push_back(0);
        return *this;
    }
};

constexpr std::uint32_t kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9, kU64 = 10, kF64 = 12, kI8 = 1;

Bytes header(std::uint64_t tensors, std::uint64_t kvs) {
    Bytes h;
    h.put<std::uint32_t>(0x46554747u).put<std::uint32_t>(3).put<std::uint64_t>(tensors).put<std::uint64_t>(kvs);
    return h;
}

// A valid file: 6 key/value pairs and two tensors (Q8_0 [32, 2] and F32 [3]).
Bytes validFile() {
    Bytes f = header(2, 6);
    f.key("general.architecture", kString).str("llama");
    f.key("general.alignment", kU32).put<std::uint32_t>(32);
    f.key("llama.rope.freq_base", kF32).put<float>(10000.0f);
    f.key("tokenizer.ggml.add_bos_token", kBool).put<std::uint8_t>(1);
    f.key("tokenizer.ggml.tokens", kArray).put<std::uint32_t>(kString).put<std::uint64_t>(3).str("<s>").str("a").str("\xe2\x96\x81" "b");
    f.key("x.nested", kArray).put<std::uint32_t>(kArray).put<std::uint64_t>(2);
    f.put<std::uint32_t>(kI8).put<std::uint64_t>(2).put<std::int8_t>(-1).put<std::int8_t>(2);
    f.put<std::uint32_t>(kF64).put<std::uint64_t>(1).put<double>(0.5);
    f.str("blk.0.attn_q.weight").put<std::uint32_t>(2).put<std::uint64_t>(32).put<std::uint64_t>(2).put<std::uint32_t>(8).put<std::uint64_t>(0);
    f.str("output_norm.weight").put<std::uint32_t>(1).put<std::uint64_t>(3).put<std::uint32_t>(0).put<std::uint64_t>(96);
    f.padTo(32);
    // Two Q8_0 blocks: d = 0.5 (0x3800), q_j = j − 16; then d = 1 (0x3c00), q_j = 1. Padding to 96.
    f.put<std::uint16_t>(0x3800);
    for (int j = 0; j < 32; ++j) f.put<std::int8_t>(std::int8_t(j - 16));
    f.put<std::uint16_t>(0x3c00);
    for (int j = 0; j < 32; ++j) f.put<std::int8_t>(1);
    f.padTo(32);
    f.put<float>(1.5f).put<float>(-2.0f).put<float>(0.25f);
    return f;
}

std::filesystem::path writeFile(const std::string& tag, const Bytes& f) {
    const auto path = test::freshScratchDir("gguf-reader-" + tag) / "m.gguf";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.b.data()), std::streamsize(f.b.size()));
    return path;
}

// Opening must fail with one line that names the file and contains `words`.
void expectRefused(const std::string& tag, const Bytes& f, const QString& words) {
    const auto path = writeFile(tag, f);
    try {
        (void)core::GgufReader::open(path);
        QFAIL(qPrintable("accepted: " + QString::fromStdString(tag)));
    } catch (const core::Error& e) {
        const QString msg = e.what();
        QVERIFY2(msg.startsWith(QString::fromStdString(path.string()) + ": "), qPrintable(msg));
        QVERIFY2(msg.contains(words), qPrintable(msg + " lacks: " + words));
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));
    }
}

}  // namespace

class TestGgufReader : public QObject {
    Q_OBJECT
private slots:
    void parsesHeaderMetadataAndTensorsFieldByField() {
        const auto r = core::GgufReader::open(writeFile("valid", validFile()));
        QCOMPARE(r->version(), 3u);
        QCOMPARE(r->alignment(), 32u);
        QCOMPARE(r->metadata().size(), std::size_t(6));
        QCOMPARE(r->metadata()[0].first, std::string("general.architecture"));
        QCOMPARE(*r->find("general.architecture")->asString(), std::string("llama"));
        QCOMPARE(r->find("general.alignment")->type, core::GgufValueType::U32);
        QCOMPARE(*r->find("llama.rope.freq_base")->asNumber(), 10000.0);
        QCOMPARE(*r->find("tokenizer.ggml.add_bos_token")->asBool(), true);
        const auto* tokens = r->find("tokenizer.ggml.tokens")->asArray();
        QCOMPARE(tokens->size(), std::size_t(3));
        QCOMPARE(*(*tokens)[2].asString(), std::string("\xe2\x96\x81" "b"));
        const auto* nested = r->find("x.nested")->asArray();
        QCOMPARE(nested->size(), std::size_t(2));
        QCOMPARE((*nested)[0].arrayType, core::GgufValueType::I8);
        QCOMPARE(*(*(*nested)[0].asArray())[0].asNumber(), -1.0);
        QCOMPARE(*(*(*nested)[1].asArray())[0].asNumber(), 0.5);
        QVERIFY(!r->find("no.such.key"));

        QCOMPARE(r->tensors().size(), std::size_t(2));
        const auto& q = r->tensors()[0];
        QCOMPARE(q.name, std::string("blk.0.attn_q.weight"));
        QCOMPARE(q.ne, (std::vector<std::uint64_t>{32, 2}));
        QCOMPARE(q.type, GgmlType::Q8_0);
        QCOMPARE(q.bytes, std::uint64_t(68));
        QCOMPARE(q.fileOffset % 32, std::uint64_t(0));
        QCOMPARE(r->dataOffset(), q.fileOffset);
        const auto W = r->dequantize(q);
        QCOMPARE(W.rows(), core::Index(2));
        QCOMPARE(W.cols(), core::Index(32));
        for (int j = 0; j < 32; ++j) {
            QCOMPARE(W(0, j), 0.5f * float(j - 16));
            QCOMPARE(W(1, j), 1.0f);
        }
        const auto& n = *r->findTensor("output_norm.weight");
        QCOMPARE(n.fileOffset, r->dataOffset() + 96);
        const auto v = r->dequantize(n);
        QCOMPARE(v(0, 0), 1.5f);
        QCOMPARE(v(0, 1), -2.0f);
        QCOMPARE(v(0, 2), 0.25f);
    }

    void refusesHostileFiles() {
        expectRefused("magic", Bytes{{'G', 'G', 'M', 'L', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, "not a GGUF file");
        Bytes v1 = header(0, 0);
        v1.b[4] = 1;
        expectRefused("v1", v1, "version 1");
        Bytes big = header(0, 0);
        big.b[4] = 0;
        big.b[7] = 3;  // version 3 written big-endian
        expectRefused("bigendian", big, "big-endian");
        expectRefused("kvcount", header(0, std::uint64_t(1) << 40), "metadata pairs, more than the file can hold");
        expectRefused("tensorcount", header(std::uint64_t(1) << 50, 0), "tensors, more than the file can hold");
        Bytes longKey = header(0, 1);
        longKey.put<std::uint64_t>(std::uint64_t(1) << 60).padTo(64);
        expectRefused("keylength", longKey, "bytes long");
        Bytes longString = header(0, 1);
        longString.key("a.b", kString).put<std::uint64_t>(1000).str("x");
        expectRefused("stringpastend", longString, "is 1000 bytes long");
        Bytes cut = header(0, 1);
        cut.key("a.b", kU64).put<std::uint32_t>(7);  // half a u64
        cut.padTo(8);
        cut.b.resize(cut.b.size() - 4);
        expectRefused("valuepastend", cut, "runs past the end of the file");
        Bytes longArray = header(0, 1);
        longArray.key("a.b", kArray).put<std::uint32_t>(kU32).put<std::uint64_t>(std::uint64_t(1) << 61);
        expectRefused("arraylength", longArray, "more than the file can hold");
        Bytes deep = header(0, 1);
        deep.key("a.b", kArray);
        for (int i = 0; i < 6; ++i) deep.put<std::uint32_t>(kArray).put<std::uint64_t>(1);
        deep.padTo(256);
        expectRefused("deep", deep, "nests arrays deeper than 4");
        Bytes badType = header(0, 1);
        badType.key("a.b", 13).put<std::uint32_t>(0);
        expectRefused("valuetype", badType, "unknown value type 13");
        Bytes badBool = header(0, 1);
        badBool.key("a.b", kBool).put<std::uint8_t>(2);
        expectRefused("bool", badBool, "0 or 1 expected");
        Bytes twice = header(0, 2);
        twice.key("a.b", kI32).put<std::int32_t>(1).key("a.b", kI32).put<std::int32_t>(2);
        expectRefused("twice", twice, "appears twice");
        Bytes align = header(0, 1);
        align.key("general.alignment", kU32).put<std::uint32_t>(24);
        expectRefused("alignment", align, "power of two");
        Bytes wrongAlignType = header(0, 1);
        wrongAlignType.key("general.alignment", kU64).put<std::uint64_t>(32);
        expectRefused("alignmenttype", wrongAlignType, "u32");
    }

    void refusesHostileTensorInfos() {
        auto oneTensor = [](std::uint32_t dims, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset, std::size_t dataBytes,
                            const std::string& name = "t") {
            Bytes f = header(1, 0);
            f.str(name).put<std::uint32_t>(dims);
            for (auto n : ne) f.put<std::uint64_t>(n);
            f.put<std::uint32_t>(type).put<std::uint64_t>(offset).padTo(32);
            f.b.resize(f.b.size() + dataBytes, 0);
            return f;
        };
        expectRefused("dims", oneTensor(5, {1, 1, 1, 1, 1}, 0, 0, 4), "5 dimensions");
        expectRefused("zerodim", oneTensor(1, {0}, 0, 0, 0), "impossible shape");
        expectRefused("hugeshape", oneTensor(2, {std::uint64_t(1) << 39, std::uint64_t(1) << 39}, 0, 0, 4), "impossible shape");
        expectRefused("type", oneTensor(1, {32}, 99, 0, 128), "tensor type 99");
        expectRefused("partialblock", oneTensor(1, {40}, 2, 0, 64), "not whole Q4_0 blocks");
        expectRefused("misaligned", oneTensor(1, {4}, 0, 8, 64), "not aligned");
        expectRefused("outside", oneTensor(1, {64}, 0, 0, 100), "lies outside the file");
        expectRefused("farout", oneTensor(1, {4}, 0, std::uint64_t(1) << 62, 16), "lies outside the file");
        expectRefused("name", oneTensor(1, {4}, 0, 0, 16, std::string(65, 'n')), "at most 64");
        Bytes overlap = header(2, 0);
        overlap.str("a").put<std::uint32_t>(1).put<std::uint64_t>(16).put<std::uint32_t>(0).put<std::uint64_t>(0);
        overlap.str("b").put<std::uint32_t>(1).put<std::uint64_t>(16).put<std::uint32_t>(0).put<std::uint64_t>(32);
        overlap.padTo(32);
        overlap.b.resize(overlap.b.size() + 128, 0);
        expectRefused("overlap", overlap, "overlap");
        Bytes dup = header(2, 0);
        dup.str("a").put<std::uint32_t>(1).put<std::uint64_t>(4).put<std::uint32_t>(0).put<std::uint64_t>(0);
        dup.str("a").put<std::uint32_t>(1).put<std::uint64_t>(4).put<std::uint32_t>(0).put<std::uint64_t>(32);
        dup.padTo(32);
        dup.b.resize(dup.b.size() + 64, 0);
        expectRefused("duptensor", dup, "appears twice");
        Bytes valid = validFile();
        valid.b.resize(valid.b.size() - 1);  // the last tensor loses a byte
        expectRefused("truncated", valid, "lies outside the file");
    }

    void survivesRandomCorruption() {
        // Every mutation either parses or is refused with an Error; never a crash (run under ASan in CI).
        const Bytes good = validFile();
        std::mt19937 rng(11);
        int refused = 0;
        for (int i = 0; i < 400; ++i) {
            Bytes f = good;
            const int flips = 1 + int(rng() % 4);
            for (int k = 0; k < flips; ++k) f.b[rng() % f.b.size()] = std::uint8_t(rng());
            if (i % 5 == 0) f.b.resize(rng() % f.b.size());
            const auto path = writeFile("fuzz", f);
            try {
                const auto r = core::GgufReader::open(path);
                for (const auto& t : r->tensors()) {
                    try {
                        (void)r->dequantize(t);
                    } catch (const core::Error&) {
                    }
                }
            } catch (const core::Error&) {
                ++refused;
            }
        }
        QVERIFY(refused > 100);
    }
};

QTEST_GUILESS_MAIN(TestGgufReader)
#include "test_gguf_reader.moc"
