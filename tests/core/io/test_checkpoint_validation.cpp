// Checkpoint validation: one test per way a Hugging Face folder can be broken. Each crafts
// the bad folder, runs the loading sequence of `quantbench-cli eval` (checkpoint, model,
// tokenizer) and checks that one qb::core::Error comes back naming the file and the problem.
#include <QtTest>

#include <limits>

#include "checkpoint_fixtures.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using qb::test::Defect;

namespace {

// The Error message of loading a folder with `defect`; a placeholder no expectation matches when it loads.
std::string failureOf(Defect defect, const std::string& tag) {
    const auto message = test::loadFailure(test::craftCheckpoint(defect, tag));
    if (!message) return "<loaded without error>";
    return *message;
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

#define QB_VERIFY_HAS(message, needle) \
    QVERIFY2(contains(message, needle), qPrintable(QString("'%1' lacks '%2'").arg(QString::fromStdString(message), needle)))

class TestCheckpointValidation : public QObject {
    Q_OBJECT
private slots:
    void missingConfigNamesConfigJson() {
        const auto m = failureOf(Defect::MissingConfig, "val-missing-config");
        QB_VERIFY_HAS(m, "val-missing-config/config.json: missing or unreadable");
    }
    void missingWeightsNamesTheFolder() {
        const auto m = failureOf(Defect::MissingWeights, "val-missing-weights");
        QB_VERIFY_HAS(m, "val-missing-weights: no model.safetensors (nor model.safetensors.index.json) in the folder");
    }
    void headerLengthBeyondTheFile() {
        const auto m = failureOf(Defect::HeaderBeyondFile, "val-header-beyond");
        QB_VERIFY_HAS(m, "val-header-beyond/model.safetensors: header length 4096 reaches beyond the end of the file");
        QB_VERIFY_HAS(m, "(63 bytes): truncated or not a safetensors file");  // 8 + 55-byte header, no data
    }
    void absurdHeaderLength() {
        const auto m = failureOf(Defect::HeaderAbsurd, "val-header-absurd");
        QB_VERIFY_HAS(m, "val-header-absurd/model.safetensors: header length 1099511627776 is absurdly large");
    }
    void malformedHeaderJson() {
        const auto m = failureOf(Defect::MalformedHeaderJson, "val-header-json");
        QB_VERIFY_HAS(m, "val-header-json/model.safetensors: malformed JSON header");
    }
    void malformedConfigJson() {
        const auto m = failureOf(Defect::MalformedConfig, "val-config-json");
        QB_VERIFY_HAS(m, "val-config-json/config.json: malformed JSON");
    }
    void unknownDtype() {
        const auto m = failureOf(Defect::UnknownDtype, "val-dtype");
        QB_VERIFY_HAS(m, "val-dtype/model.safetensors: tensor 'w': unknown dtype 'F8_E4M3'");
    }
    void shapeTimesDtypeDiffersFromByteRange() {
        const auto m = failureOf(Defect::SizeMismatch, "val-size");
        QB_VERIFY_HAS(m, "val-size/model.safetensors: tensor 'w': shape [4, 4] × F32 needs 64 bytes but data_offsets span 60");
    }
    void overlappingOffsets() {
        const auto m = failureOf(Defect::OverlappingOffsets, "val-overlap");
        QB_VERIFY_HAS(m, "val-overlap/model.safetensors: tensors 'a' and 'b' overlap");
    }
    void truncatedFileHasOffsetsOutOfBounds() {
        const auto m = failureOf(Defect::Truncated, "val-truncated");
        QB_VERIFY_HAS(m, "val-truncated/model.safetensors: tensor '");
        QB_VERIFY_HAS(m, "lies outside the file");
        QB_VERIFY_HAS(m, "truncated file?");
    }
    void tensorTheConfigNeedsIsMissing() {
        const auto m = failureOf(Defect::MissingTensor, "val-missing-tensor");
        QB_VERIFY_HAS(m, "val-missing-tensor/model.safetensors: tensor 'model.layers.4.post_attention_layernorm.weight' is missing");
    }
    void shapeDisagreesWithConfig() {
        const auto m = failureOf(Defect::ShapeDisagrees, "val-shape");
        QB_VERIFY_HAS(m, "val-shape/model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [64, 64] "
                         "but config.json implies [32, 64]");
    }
    void indexNamesAMissingShard() {
        const auto m = failureOf(Defect::IndexNamesMissingShard, "val-index");
        QB_VERIFY_HAS(m, "val-index/model.safetensors.index.json: names shard 'model-00002-of-00002.safetensors', which is missing");
    }
    void nanInAWeight() {
        const auto m = failureOf(Defect::NanWeight, "val-nan");
        QB_VERIFY_HAS(m, "val-nan/model.safetensors: tensor 'model.layers.2.mlp.down_proj.weight' holds a non-finite value "
                         "(NaN or Inf) at element 17");
        QB_VERIFY_HAS(m, "loading layer 2");
    }
    void infInAWeight() {
        const auto m = failureOf(Defect::InfWeight, "val-inf");
        QB_VERIFY_HAS(m, "val-inf/model.safetensors: tensor 'model.layers.2.mlp.down_proj.weight' holds a non-finite value "
                         "(NaN or Inf) at element 17");
    }
    void nanInAStreamedLayerFailsWhenTheLayerIsReached() {
        // A streamed model loads layers lazily: the bad layer surfaces on first use, with the same words.
        const auto dir = test::craftCheckpoint(Defect::NanWeight, "val-nan-streamed");
        core::ModelLoadOptions streamed;
        streamed.resident = false;
        const auto model = core::LlamaModel::load(core::Checkpoint::open(dir), streamed);
        QVERIFY(model->layer(1) != nullptr);
        try {
            (void)model->layer(2);
            QFAIL("layer 2 loaded despite a NaN");
        } catch (const core::Error& e) {
            QB_VERIFY_HAS(std::string(e.what()), "loading layer 2: ");
            QB_VERIFY_HAS(std::string(e.what()), "holds a non-finite value (NaN or Inf) at element 17");
        }
    }
    void missingTokenizerModel() {
        const auto m = failureOf(Defect::MissingTokenizer, "val-tokenizer");
        QB_VERIFY_HAS(m, "val-tokenizer/tokenizer.json: missing, and so is tokenizer.model");
    }
    void bosIdOutsideTheVocabulary() {
        const auto m = failureOf(Defect::BosOutsideVocabulary, "val-bos");
        QB_VERIFY_HAS(m, "val-bos/tokenizer.model: BOS id 600 is outside the vocabulary of 512");
    }
    void tokenIdOutsideTheVocabularyInTheInput() {
        const auto model = core::LlamaModel::load(core::Checkpoint::open(test::bundledModelDir()));
        try {
            (void)model->embed({1, 511, 512});
            QFAIL("token 512 embedded in a 512-entry vocabulary");
        } catch (const core::Error& e) {
            QCOMPARE(std::string(e.what()), std::string("model: token id 512 is outside the vocabulary of 512"));
        }
    }
    void theBundledModelLoadsWithoutError() {
        QVERIFY(!test::loadFailure(test::bundledModelDir()).has_value());
    }
};

QTEST_APPLESS_MAIN(TestCheckpointValidation)
#include "test_checkpoint_validation.moc"
