// The Llama-family forward on small random-weight checkpoints of each supported family (BF16,
// two shards), against logits from an independent float64 PyTorch forward written from the
// transformers modelling equations (scripts/make_family_fixtures.py; the fixtures and their
// README are in tests/fixtures/families/). Each fixture also carries the reference's logits
// with the family's feature switched off; every test checks that the feature moves the logits
// far beyond the tolerance, and that quantbench with the feature switched off fails to match,
// so a test passes only if the feature is really implemented.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/safetensors_file.h"
#include "core/model/decode.h"
#include "core/model/llama_model.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;

namespace {

const std::filesystem::path kFamilies = std::filesystem::path(QB_FIXTURES_DIR) / "families";
constexpr float kTolerance = 2e-4f;  // float32 forward against float64 on the same BF16 weights (seen: ≤ 3e-5)

struct Reference {
    int windows = 0;
    Index T = 0;
    Index vocab = 0;
    std::vector<int> tokens;  // windows × T
    MatrixRM logits;          // [windows·T, vocab]
    MatrixRM logitsOff;       // the same with the family's feature switched off
};

Reference readReference(const std::filesystem::path& dir) {
    const auto f = core::SafetensorsFile::open(dir / "reference.safetensors");
    const auto* tok = f->find("tokens");
    const auto* lg = f->find("logits");
    const auto* off = f->find("logits_feature_off");
    if (!tok || !lg || !off) throw core::Error((dir / "reference.safetensors").string() + ": tensors missing");
    Reference r;
    r.windows = int(tok->shape.at(0));
    r.T = tok->shape.at(1);
    r.vocab = lg->shape.at(2);
    const auto* ids = reinterpret_cast<const std::int32_t*>(tok->data);
    r.tokens.assign(ids, ids + tok->numel());
    r.logits = Eigen::Map<const MatrixRM>(reinterpret_cast<const float*>(lg->data), r.windows * r.T, r.vocab);
    r.logitsOff = Eigen::Map<const MatrixRM>(reinterpret_cast<const float*>(off->data), r.windows * r.T, r.vocab);
    return r;
}

float maxAbsDiff(const MatrixRM& a, const MatrixRM& b) { return (a - b).cwiseAbs().maxCoeff(); }

// A copy of the fixture folder whose config.json is edited by `edit` (to switch a feature off).
std::filesystem::path editedCopy(const std::string& fixture, const std::function<void(nlohmann::json&)>& edit) {
    const auto dir = test::freshScratchDir("family-" + fixture);
    for (const auto& e : std::filesystem::directory_iterator(kFamilies / fixture))
        std::filesystem::copy_file(e.path(), dir / e.path().filename());
    nlohmann::json config;
    {
        std::ifstream in(dir / "config.json");
        in >> config;
    }
    edit(config);
    std::ofstream(dir / "config.json") << config.dump(2);
    return dir;
}

MatrixRM forward(const std::filesystem::path& dir, const Reference& ref) {
    const auto model = core::LlamaModel::load(core::Checkpoint::open(dir));
    return model->forward(ref.tokens, ref.T);
}

// Checks one family: quantbench's logits equal the reference; the feature matters in the
// reference; and quantbench without the feature (model `off`) matches the reference without it.
void checkFamily(const std::string& fixture, const MatrixRM& off) {
    const Reference ref = readReference(kFamilies / fixture);
    const MatrixRM ours = forward(kFamilies / fixture, ref);
    QCOMPARE(ours.rows(), ref.logits.rows());
    QCOMPARE(ours.cols(), ref.logits.cols());
    const float err = maxAbsDiff(ours, ref.logits);
    const float featureEffect = maxAbsDiff(ref.logits, ref.logitsOff);
    qInfo("%s: max |Δlogit| %.2e against the reference (max |logit| %.2f); the feature moves logits by %.2e",
          fixture.c_str(), double(err), double(ref.logits.cwiseAbs().maxCoeff()), double(featureEffect));
    QVERIFY2(err <= kTolerance, qPrintable(QString("max |Δlogit| %1 > %2").arg(err).arg(kTolerance)));
    QVERIFY2(featureEffect > 20 * kTolerance, "the fixture's feature does not change the logits enough to be tested");
    if (off.size() > 0) {
        QVERIFY2(maxAbsDiff(off, ref.logitsOff) <= kTolerance, "quantbench without the feature differs from the reference without it");
        QVERIFY2(maxAbsDiff(off, ref.logits) > 10 * kTolerance, "quantbench without the feature still matches");
    }
}

// The model of `fixture` with every layer rewritten by `edit` (biases or q/k norms removed).
MatrixRM forwardWithLayers(const std::string& fixture, const Reference& ref,
                           const std::function<void(core::DecoderLayer&)>& edit) {
    auto model = core::LlamaModel::load(core::Checkpoint::open(kFamilies / fixture));
    for (int i = 0; i < model->config().numLayers; ++i) {
        auto L = std::make_shared<core::DecoderLayer>(*model->layer(i));
        edit(*L);
        model->setLayer(i, L);
    }
    return model->forward(ref.tokens, ref.T);
}

}  // namespace

class TestModelFamilies : public QObject {
    Q_OBJECT
private slots:
    void llama2PlainRope() { checkFamily("llama2", {}); }

    void llama3RopeScalingAndTiedEmbeddings() {
        const Reference ref = readReference(kFamilies / "llama3_rope");
        checkFamily("llama3_rope", forward(editedCopy("llama3_rope", [](auto& c) { c.erase("rope_scaling"); }), ref));
    }
    void linearRopeScalingWithTheOlderTypeKey() {
        const Reference ref = readReference(kFamilies / "linear_rope");
        checkFamily("linear_rope", forward(editedCopy("linear_rope", [](auto& c) { c.erase("rope_scaling"); }), ref));
    }
    void dynamicNtkRopeScaling() {
        const Reference ref = readReference(kFamilies / "dynamic_rope");
        checkFamily("dynamic_rope", forward(editedCopy("dynamic_rope", [](auto& c) { c.erase("rope_scaling"); }), ref));
    }
    void yarnRopeScalingWithItsAttentionFactor() {
        const Reference ref = readReference(kFamilies / "yarn_rope");
        checkFamily("yarn_rope", forward(editedCopy("yarn_rope", [](auto& c) { c.erase("rope_scaling"); }), ref));
    }
    void mistralSlidingWindow() {
        const Reference ref = readReference(kFamilies / "mistral_window");
        checkFamily("mistral_window", forward(editedCopy("mistral_window", [](auto& c) { c["sliding_window"] = nullptr; }), ref));
    }
    void qwen2QkvBias() {
        const Reference ref = readReference(kFamilies / "qwen2_bias");
        checkFamily("qwen2_bias", forwardWithLayers("qwen2_bias", ref, [](core::DecoderLayer& L) {
                        for (auto k : {core::ModuleKind::Q, core::ModuleKind::K, core::ModuleKind::V})
                            L.linear(k) = std::make_shared<core::DenseLinear>(L.linear(k)->denseWeight());
                    }));
    }
    void qwen3QkNormAndExplicitHeadDim() {
        const Reference ref = readReference(kFamilies / "qwen3_qknorm");
        checkFamily("qwen3_qknorm", forwardWithLayers("qwen3_qknorm", ref, [](core::DecoderLayer& L) {
                        L.qNorm.resize(0);
                        L.kNorm.resize(0);
                    }));
    }

    // KV-cache decoding reproduces the full forward with the window, the scaled RoPE and q/k
    // norm: prefill a prefix, then one token at a time (dynamic NTK is left out: there the
    // frequencies depend on the sequence length, which grows during decoding, as in transformers).
    void kvCacheDecodeMatchesTheReference_data() {
        QTest::addColumn<QString>("fixture");
        for (const char* f : {"llama3_rope", "yarn_rope", "mistral_window", "qwen2_bias", "qwen3_qknorm"}) QTest::newRow(f) << f;
    }
    void kvCacheDecodeMatchesTheReference() {
        QFETCH(QString, fixture);
        const auto dir = kFamilies / fixture.toStdString();
        const Reference ref = readReference(dir);
        const auto model = core::LlamaModel::load(core::Checkpoint::open(dir));
        core::KvDecoder decoder(*model, ref.T);
        const Index prefix = 5;
        std::vector<int> prompt(ref.tokens.begin(), ref.tokens.begin() + prefix);
        core::VectorF logits = decoder.prefill(prompt);
        float err = (logits.transpose() - ref.logits.row(prefix - 1)).cwiseAbs().maxCoeff();
        for (Index p = prefix; p < ref.T; ++p) {
            logits = decoder.step(ref.tokens[std::size_t(p)]);
            err = std::max(err, (logits.transpose() - ref.logits.row(p)).cwiseAbs().maxCoeff());
        }
        QVERIFY2(err <= kTolerance, qPrintable(QString("decode max |Δlogit| %1").arg(err)));
    }

    void configFieldsOfEachFamily() {
        auto config = [](const char* f) { return core::ModelConfig::fromFile(kFamilies / f / "config.json"); };
        const auto llama3 = config("llama3_rope");
        QVERIFY(llama3.ropeScaling.type == core::RopeScalingType::Llama3);
        QCOMPARE(llama3.ropeScaling.originalMaxPositions, 64);
        QVERIFY(llama3.tieWordEmbeddings);
        QCOMPARE(llama3.eosTokenId, std::optional<int>(257));  // the first of "eos_token_id": [257, 258]
        QVERIFY(config("linear_rope").ropeScaling.type == core::RopeScalingType::Linear);  // the older "type" key
        QVERIFY(config("dynamic_rope").ropeScaling.type == core::RopeScalingType::Dynamic);
        QCOMPARE(config("yarn_rope").ropeScaling.betaFast, 32.0);
        QCOMPARE(config("mistral_window").slidingWindow, 16);
        const auto qwen2 = config("qwen2_bias");
        QCOMPARE(qwen2.slidingWindow, 0);  // sliding_window is set but use_sliding_window is false
        QVERIFY(qwen2.attentionBias);
        const auto qwen3 = config("qwen3_qknorm");
        QVERIFY(qwen3.qkNorm);
        QCOMPARE(qwen3.headDim, 32);
        QVERIFY(qwen3.architecture == core::Architecture::Qwen3);
    }
    // A streamed model (too large to hold in float32) reads its BF16 linears in place
    // (HalfLinear) and its tied head from the 16-bit table: the same logits.
    void streamedModelReadsBf16InPlace() {
        const Reference ref = readReference(kFamilies / "llama3_rope");
        core::ModelLoadOptions options;
        options.resident = false;
        const auto model = core::LlamaModel::load(core::Checkpoint::open(kFamilies / "llama3_rope"), options);
        QCOMPARE(model->layer(0)->linear(core::ModuleKind::Down)->format(), std::string("bf16"));
        QCOMPARE(model->lmHead().format(), std::string("bf16"));
        QCOMPARE(model->embedding().storageBytes(), std::size_t(320 * 64 * 2));
        const float err = maxAbsDiff(model->forward(ref.tokens, ref.T), ref.logits);
        QVERIFY2(err <= kTolerance, qPrintable(QString::number(err)));
    }
    void twoShardsInBf16() {
        const auto ckpt = core::Checkpoint::open(kFamilies / "llama2");
        QCOMPARE(int(ckpt->files().size()), 2);
        QCOMPARE(core::dtypeName(ckpt->get("model.layers.0.self_attn.q_proj.weight").dtype), std::string("BF16"));
    }

    void unsupportedArchitecturesAreRefusedByName() {
        for (const char* arch : {"GemmaForCausalLM", "Phi3ForCausalLM", "MixtralForCausalLM"}) {
            const auto dir = editedCopy("llama2", [&](auto& c) { c["architectures"] = {arch}; });
            try {
                (void)core::Checkpoint::open(dir);
                QFAIL("accepted");
            } catch (const core::Error& e) {
                const std::string m = e.what();
                QVERIFY2(m.find(arch) != std::string::npos && m.find("config.json") != std::string::npos &&
                             m.find("Qwen3ForCausalLM") != std::string::npos,
                         m.c_str());
            }
        }
    }
    void unknownRopeScalingTypeIsRefused() {
        const auto dir = editedCopy("llama2", [](auto& c) { c["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}}; });
        try {
            (void)core::Checkpoint::open(dir);
            QFAIL("accepted");
        } catch (const core::Error& e) {
            QVERIFY2(std::string(e.what()).find("longrope") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestModelFamilies)
#include "test_model_families.moc"
