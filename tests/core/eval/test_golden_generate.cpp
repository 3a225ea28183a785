// Known output of the bundled stories260K model (resources/models/stories260K/README.md):
// greedy decoding from <s> tells the Lily story.
#include <QtTest>

#include "core/eval/generate.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;

namespace {

const std::string kGreedyStory = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
constexpr int kGreedyStoryTokens = 31;  // new tokens after <s> that spell kGreedyStory

}  // namespace

class TestGoldenGenerate : public QObject {
    Q_OBJECT
private slots:
    void greedyDecodingFromBosTellsTheKnownStory() {
        const auto ckpt = core::Checkpoint::open(test::bundledModelDir());
        const auto model = core::LlamaModel::load(ckpt);
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), ckpt->config().bosTokenId, ckpt->config().eosTokenId);
        const auto ids = core::generateGreedy(*model, {1}, kGreedyStoryTokens, tok->eos());
        QCOMPARE(int(ids.size()), kGreedyStoryTokens);  // no </s> on the way
        QCOMPARE(ids.front(), 403);                    // "▁Once", as the tokenizer spells it
        QCOMPARE(tok->decode(ids), kGreedyStory);
    }
};

QTEST_APPLESS_MAIN(TestGoldenGenerate)
#include "test_golden_generate.moc"
