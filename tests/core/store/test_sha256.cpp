// SHA-256 against the FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf", "SHA2_Additional").
#include <QtTest>

#include <fstream>

#include "core/util/error.h"
#include "core/util/sha256.h"
#include "support/test_support.h"

using namespace qb::core;

class TestSha256 : public QObject {
    Q_OBJECT
private slots:
    void abc() { QCOMPARE(sha256Hex("abc"), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")); }

    void empty() { QCOMPARE(sha256Hex(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")); }

    void twoBlockMessage448Bits() {
        QCOMPARE(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                 std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    }

    void millionAsStreamedInOddChunks() {
        Sha256 hasher;
        const std::string chunk(997, 'a');
        std::size_t left = 1000000;
        while (left > 0) {
            const std::size_t n = std::min(left, chunk.size());
            hasher.update(chunk.data(), n);
            left -= n;
        }
        QCOMPARE(hasher.hexDigest(), std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    }

    void fileHashEqualsStringHash() {
        const auto dir = qb::test::freshScratchDir("sha256");
        std::string content;
        for (int i = 0; i < 3000000; ++i) content.push_back(char('a' + i % 26));  // > 2 read chunks
        std::ofstream(dir / "f.bin", std::ios::binary) << content;
        QCOMPARE(sha256FileHex(dir / "f.bin"), sha256Hex(content));
    }

    void missingFileThrowsNamingIt() {
        try {
            (void)sha256FileHex("/nonexistent/config.json");
            QFAIL("no error");
        } catch (const Error& e) {
            QCOMPARE(std::string(e.what()), std::string("/nonexistent/config.json: cannot read"));
        }
    }
};

QTEST_APPLESS_MAIN(TestSha256)
#include "test_sha256.moc"
