// inspectModel on the bundled stories260K and on an equivalent model with one planted
// activation outlier channel: input_layernorm weight of channel c in layer L × 40 and column c
// of q/k/v ÷ 40 leaves the function unchanged but makes channel c of the q/k/v input 40× louder.
#include <QtTest>

#include <algorithm>
#include <set>

#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/stats/inspect.h"
#include "core/stats/inspect_report.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

constexpr int kLayer = 2;          // L: the layer that gets the planted channel
constexpr float kScale = 40.0f;
constexpr double kLogitTolerance = 1e-3;  // float forward of an equivalent model

CalibrationSet calibration(const LlamaModel& model) {
    const auto tokenizer = Tokenizer::load(qb::test::bundledModelDir(), model.config().bosTokenId, model.config().eosTokenId);
    const std::vector<int> stream = encodeDocuments(*tokenizer, readTextFile(qb::test::bundledText("calib.txt")));
    return sampleCalibration(stream, {6, 64, 0});  // 6 windows × 64 tokens
}

/// The equivalent model with channel c planted in layer kLayer.
std::shared_ptr<LlamaModel> plantOutlier(const LlamaModel& model, Index c) {
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    for (int i = 0; i < model.config().numLayers; ++i) {
        if (i != kLayer) {
            layers.push_back(model.layer(i));
            continue;
        }
        auto planted = std::make_shared<DecoderLayer>(*model.layer(i));
        planted->inputNorm[c] *= kScale;
        for (ModuleKind kind : {ModuleKind::Q, ModuleKind::K, ModuleKind::V}) {
            MatrixRM W = planted->linear(kind)->denseWeight();  // [out, in]
            W.col(c) /= kScale;
            planted->linear(kind) = std::make_shared<DenseLinear>(std::move(W), planted->linear(kind)->bias());
        }
        layers.push_back(planted);
    }
    return LlamaModel::fromParts(model.config(), model.embeddingPtr(), layers, model.finalNorm(),
                                 model.config().tieWordEmbeddings ? nullptr : model.lmHeadPtr());
}

bool isPlantedModule(const std::string& name) {
    const std::string prefix = "model.layers." + std::to_string(kLayer) + ".self_attn.";
    return name == prefix + "q_proj" || name == prefix + "k_proj" || name == prefix + "v_proj";
}

}  // namespace

class TestInspect : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<LlamaModel> m_model;
    CalibrationSet m_calib;
    InspectResult m_original;

private slots:
    void initTestCase() {
        m_model = LlamaModel::load(Checkpoint::open(qb::test::bundledModelDir()));
        m_calib = calibration(*m_model);
        QCOMPARE(m_calib.windows, 6);
        InspectOptions options;
        options.batchWindows = 4;  // two batches: 4 + 2 windows
        m_original = inspectModel(*m_model, m_calib, options);
    }

    void coversEveryLinearInForwardOrder() {
        QCOMPARE(m_original.modules.size(), std::size_t(5 * 7));
        QCOMPARE(m_original.modules[0].name, std::string("model.layers.0.self_attn.q_proj"));
        QCOMPARE(m_original.modules[6].name, std::string("model.layers.0.mlp.down_proj"));
        QCOMPARE(m_original.modules[6].inFeatures, Index(172));
        for (const ModuleStats& m : m_original.modules) {
            QVERIFY(m.activation);
            QCOMPARE(m.activation->tokens, std::uint64_t(6 * 64));
            QCOMPARE(m.activation->inFeatures, m.inFeatures);
            QCOMPARE(m.weight.count, std::uint64_t(m.outFeatures * m.inFeatures));
            QCOMPARE(m.sensitivity.entries.size(), std::size_t(12));
            const double e4 = *m.sensitivity.find(4, 128)->relativeError;
            QVERIFY2(e4 > 1e-4 && e4 < 0.2, m.name.c_str());
        }
        // q/k/v share one input and so one statistics object; o does not.
        QCOMPARE(m_original.modules[0].activation.get(), m_original.modules[2].activation.get());
        QVERIFY(m_original.modules[0].activation.get() != m_original.modules[3].activation.get());
    }

    void plantedChannelIsTopOutlierOfExactlyQkvOfItsLayer() {
        // c: the channel nearest the median absmax of layer L's q input that is the top outlier of no module.
        std::set<Index> topAnywhere;
        for (const ModuleStats& m : m_original.modules)
            if (!m.activation->outliers.empty()) topAnywhere.insert(m.activation->outliers.front().index);
        const ActivationStats& q = *m_original.modules[std::size_t(kLayer) * 7].activation;
        Index c = -1;
        for (Index j = 0; j < q.inFeatures; ++j)
            if (!topAnywhere.count(j) &&
                (c < 0 || std::abs(q.absmax[j] - q.medianAbsmax) < std::abs(q.absmax[c] - q.medianAbsmax)))
                c = j;
        QVERIFY(c >= 0);

        const auto planted = plantOutlier(*m_model, c);
        const std::vector<int> probe(m_calib.tokens.begin(), m_calib.tokens.begin() + 64);
        const MatrixRM before = m_model->forward(probe, 64);
        const MatrixRM after = planted->forward(probe, 64);
        QVERIFY((before - after).cwiseAbs().maxCoeff() < kLogitTolerance);  // the same function

        const InspectResult r = inspectModel(*planted, m_calib);
        int hits = 0;
        for (const ModuleStats& m : r.modules) {
            const auto& outliers = m.activation->outliers;
            const bool top = !outliers.empty() && outliers.front().index == c;
            QVERIFY2(top == isPlantedModule(m.name), qPrintable(QString("%1: top outlier %2, planted %3")
                                                                     .arg(QString::fromStdString(m.name))
                                                                     .arg(outliers.empty() ? -1 : outliers.front().index)
                                                                     .arg(c)));
            if (top) {
                ++hits;
                QVERIFY(outliers.front().rule != OutlierRule::LlmInt8);  // found by the relative rule
                QVERIFY(std::abs(outliers.front().absmax - kScale * q.absmax[c]) <= 1e-3 * kScale * q.absmax[c]);
            }
        }
        QCOMPARE(hits, 3);
        const std::string json = formatInspectJson(r.modules);
        QVERIFY(json.find("\"outlier_channels\"") != std::string::npos);
    }

    void streamsEachModuleToTheSinkAsItsLayerFinishes() {
        ModelLoadOptions load;
        load.skipLmHead = true;  // as the CLI loads for inspect
        const auto model = LlamaModel::load(Checkpoint::open(qb::test::bundledModelDir()), load);
        QVERIFY_THROWS_EXCEPTION(Error, (void)model->lmHead());
        std::vector<std::string> events;
        RunContext ctx([&](double, std::string_view message) {
            if (events.empty() || events.back() != message) events.emplace_back(message);
        }, {});
        std::vector<ModuleStats> streamed;
        InspectOptions options;
        options.batchWindows = 4;
        inspectModel(*model, m_calib, options, [&](ModuleStats&& m) {
            events.push_back(m.name);
            streamed.push_back(std::move(m));
        }, ctx);
        QCOMPARE(streamed.size(), m_original.modules.size());
        for (std::size_t i = 0; i < streamed.size(); ++i) {
            QCOMPARE(streamed[i].name, m_original.modules[i].name);
            QCOMPARE(streamed[i].weight.excessKurtosis, m_original.modules[i].weight.excessKurtosis);
            QVERIFY(streamed[i].activation->absmax == m_original.modules[i].activation->absmax);
            QCOMPARE(*streamed[i].sensitivity.find(4, 128)->relativeError, *m_original.modules[i].sensitivity.find(4, 128)->relativeError);
        }
        // Layer 0's seven modules arrive before layer 1 starts its forward.
        const auto at = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
        QVERIFY(at("model.layers.0.mlp.down_proj") < at("inspect: layer 1"));
        QVERIFY(at("inspect: layer 1") < at("model.layers.1.self_attn.q_proj"));
    }

    void aFewWindowsKeepTheInputsAndAgreeWithTheGramRoute() {
        // 1 window × 64 tokens ≤ every module's in_features (64, 172): X is kept, not XᵀX.
        CalibrationSet one = m_calib;
        one.windows = 1;
        one.tokens.resize(64);
        InspectOptions options;
        const InspectResult r = inspectModel(*m_model, one, options);
        const auto layer = m_model->layer(0);
        for (ModuleKind kind : kAllModuleKinds) {
            const ModuleStats& m = r.modules[std::size_t(int(kind))];
            QCOMPARE(m.name, moduleName(0, kind));
            // The same inputs through the Gram matrix: capture layer 0's input of this module.
            struct Capture final : ActivationTap {
                std::string name;
                MatrixRM X;
                bool wants(const std::string& n) const override { return n == name; }
                void observe(const std::string&, const ConstMatrixRef& x) override { X = x; }
            } capture;
            capture.name = m.name;
            MatrixRM hidden = m_model->embed(one.tokens);
            m_model->runLayer(0, hidden, 64, &capture);
            QCOMPARE(capture.X.rows(), Index(64));
            GramAccumulator acc(capture.X.cols());
            acc.add(capture.X);
            const SensitivityTable viaGram = computeSensitivity(layer->linear(kind)->denseWeight(), acc.gram());
            for (std::size_t e = 0; e < viaGram.entries.size(); ++e)
                QVERIFY2(std::abs(*m.sensitivity.entries[e].relativeError - *viaGram.entries[e].relativeError) <=
                             1e-4 * *viaGram.entries[e].relativeError,
                         m.name.c_str());
        }
    }

    void cancelStopsBeforeTheFirstLayer() {
        RunContext ctx;
        ctx.requestStop();
        QVERIFY_THROWS_EXCEPTION(Cancelled, (void)inspectModel(*m_model, m_calib, {}, ctx));
    }

    void progressReachesOne() {
        double last = 0.0;
        RunContext ctx([&](double f, std::string_view) { last = f; }, {});
        InspectOptions options;
        options.computeSensitivity = false;
        const InspectResult r = inspectModel(*m_model, m_calib, options, ctx);
        QCOMPARE(last, 1.0);
        QVERIFY(r.modules.front().sensitivity.entries.empty());
    }
};

QTEST_APPLESS_MAIN(TestInspect)
#include "test_inspect.moc"
