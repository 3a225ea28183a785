// Checkpoint layouts that must load and score like the bundled single-file F32 model:
// two shards with an index, and F16/BF16 copies.
#include <QtTest>

#include <cmath>
#include <fstream>

#include "checkpoint_fixtures.h"
#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;

namespace {

constexpr int kWindows = 8;
constexpr int kCtx = 512;
// Perplexity on the first 8 windows of eval.txt at context 512, measured with this code base
// (pinned to 1e-5 relative: CPUs with other SIMD widths round the last digits differently).
constexpr double kF32Perplexity8 = 3.423912;
constexpr double kF16Perplexity8 = 3.423981;
constexpr double kBf16Perplexity8 = 3.423578;
constexpr double kPinnedRelTolerance = 1e-5;
// How far a half-precision copy may move perplexity from F32: F16 rounds each weight by
// ≤ 2^-11 relative (measured 2.0e-5), BF16 by ≤ 2^-8 (measured 9.8e-5).
constexpr double kF16RelTolerance = 1e-4;
constexpr double kBf16RelTolerance = 1e-3;

double perplexityOf(const std::filesystem::path& dir, int windows = kWindows) {
    const auto ckpt = core::Checkpoint::open(dir);
    const auto model = core::LlamaModel::load(ckpt);
    const auto tok = core::Tokenizer::load(dir, ckpt->config().bosTokenId, ckpt->config().eosTokenId);
    const auto stream = core::encodeDocuments(*tok, core::readTextFile(test::bundledText("eval.txt")));
    core::PerplexityOptions options;
    options.ctx = kCtx;
    options.maxWindows = windows;
    const auto r = core::evaluatePerplexity(*model, stream, options);
    if (r.windows != windows || r.predictions != windows * (kCtx - 1)) return -1.0;
    return r.perplexity;
}

std::filesystem::path convertedCopy(core::DType dtype, const std::string& tag) {
    const auto dir = test::modelFolderWithoutWeights(tag);
    std::vector<core::TensorBlob> converted;
    for (const auto& b : test::bundledBlobs())
        converted.push_back(core::makeFloatBlob(b.name, b.shape, reinterpret_cast<const float*>(b.bytes.data()), dtype));
    core::writeSafetensors(dir / "model.safetensors", converted);
    return dir;
}

double relativeDifference(double a, double b) { return std::abs(a - b) / std::abs(b); }

}  // namespace

class TestCheckpointFormats : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { core::setThreadCount(2); }

    void bundledF32PerplexityOnEightWindows() {
        const double ppl = perplexityOf(test::bundledModelDir());
        qInfo("F32 perplexity, %d windows: %.6f", kWindows, ppl);
        QVERIFY2(relativeDifference(ppl, kF32Perplexity8) < kPinnedRelTolerance, qPrintable(QString::number(ppl, 'f', 6)));
    }
    void twoShardsWithAnIndexScoreLikeOneFile() {
        const auto dir = test::modelFolderWithoutWeights("fmt-sharded");
        auto blobs = test::bundledBlobs();
        std::vector<core::TensorBlob> shard[2];
        std::string map;
        for (std::size_t i = 0; i < blobs.size(); ++i) {
            const int s = i < blobs.size() / 2 ? 0 : 1;
            const std::string file = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
            map += std::string(i ? ",\n" : "\n") + "    \"" + blobs[i].name + "\": \"" + file + "\"";
            shard[s].push_back(blobs[i]);
        }
        core::writeSafetensors(dir / "model-00001-of-00002.safetensors", shard[0]);
        core::writeSafetensors(dir / "model-00002-of-00002.safetensors", shard[1]);
        std::ofstream(dir / "model.safetensors.index.json") << "{\n  \"metadata\": {\"total_size\": 1040384},\n  \"weight_map\": {"
                                                            << map << "\n  }\n}\n";

        const auto ckpt = core::Checkpoint::open(dir);
        QCOMPARE(ckpt->files().size(), std::size_t(2));
        QCOMPARE(ckpt->tensors().size(), blobs.size());
        QCOMPARE(ckpt->fileOf("model.norm.weight").filename().string(), std::string("model-00002-of-00002.safetensors"));
        const double sharded = perplexityOf(dir, 2);
        QVERIFY(sharded > 1.0);
        QCOMPARE(sharded, perplexityOf(test::bundledModelDir(), 2));
    }
    void f16CopyScoresWithinTolerance() {
        const auto dir = convertedCopy(core::DType::F16, "fmt-f16");
        const auto ckpt = core::Checkpoint::open(dir);
        QCOMPARE(ckpt->get("model.embed_tokens.weight").dtype, core::DType::F16);
        QCOMPARE(ckpt->bytesOnDisk() < 560000u, true);  // half of the 1,044,984-byte F32 file, plus the header
        const double ppl = perplexityOf(dir);
        qInfo("F16 perplexity, %d windows: %.6f", kWindows, ppl);
        QVERIFY2(relativeDifference(ppl, kF16Perplexity8) < kPinnedRelTolerance, qPrintable(QString::number(ppl, 'f', 6)));
        QVERIFY2(relativeDifference(ppl, kF32Perplexity8) < kF16RelTolerance, qPrintable(QString::number(ppl, 'f', 6)));
    }
    void bf16CopyScoresWithinTolerance() {
        const auto dir = convertedCopy(core::DType::BF16, "fmt-bf16");
        QCOMPARE(core::Checkpoint::open(dir)->get("model.norm.weight").dtype, core::DType::BF16);
        const double ppl = perplexityOf(dir);
        qInfo("BF16 perplexity, %d windows: %.6f", kWindows, ppl);
        QVERIFY2(relativeDifference(ppl, kBf16Perplexity8) < kPinnedRelTolerance, qPrintable(QString::number(ppl, 'f', 6)));
        QVERIFY2(relativeDifference(ppl, kF32Perplexity8) < kBf16RelTolerance, qPrintable(QString::number(ppl, 'f', 6)));
    }
};

QTEST_APPLESS_MAIN(TestCheckpointFormats)
#include "test_checkpoint_formats.moc"
