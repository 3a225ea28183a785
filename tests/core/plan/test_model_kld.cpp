// measureModelKld — what plan --auto --confirm compares with the prediction — measures on the
// same positions as the costs: the FP model against itself is 0, and a model with exactly one
// module quantized has the KLD the cost table predicted for that module and candidate (for one
// module the additive model is exact). Bundled model, RTN w3 g128, 1 window of 32 tokens.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/plan/plan_costs.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/rtn.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

class TestModelKld : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        setThreadCount(2);
        m_model = loadModel(test::bundledModelDir());
        m_calib = sampleCalibration(test::bundledTokens("calib.txt"), {.windows = 1, .ctx = 32, .seed = 0});
    }

    void fpModelAgainstItselfIsZero() { QCOMPARE(measureModelKld(*m_model, *m_model, m_calib), 0.0); }

    // Layer 2's down_proj replaced by its RTN w3 g128 weight: the whole-model KLD is the table's cost.
    void oneQuantizedModuleHasItsPredictedCost() {
        PlanCostOptions options;
        options.space.methods = {QuantMethod::Rtn};
        options.space.bits = {3};
        options.space.groupSizes = {128};
        options.space.includeFp16 = false;
        const PlanCostTable costs = measurePlanCosts(*m_model, m_calib, options);
        const auto& m = costs.modules.at(2 * 7 + 6);
        QCOMPARE(m.name, std::string("model.layers.2.mlp.down_proj"));

        const ModelConfig& c = m_model->config();
        std::vector<std::shared_ptr<const DecoderLayer>> layers;
        for (int i = 0; i < c.numLayers; ++i) layers.push_back(m_model->layer(i));
        auto L = std::make_shared<DecoderLayer>(*m_model->layer(2));
        const MatrixRM W = L->linear(ModuleKind::Down)->denseWeight();
        L->linear(ModuleKind::Down) = std::make_shared<DenseLinear>(quantizeRtn(W, m.candidates.front().scheme.grid).dequantize(), L->linear(ModuleKind::Down)->bias());
        layers[2] = L;
        const auto quantized = LlamaModel::fromParts(c, m_model->embeddingPtr(), std::move(layers), m_model->finalNorm(),
                                                     c.tieWordEmbeddings ? nullptr : m_model->lmHeadPtr());
        const double measured = measureModelKld(*quantized, *m_model, m_calib);
        QVERIFY(measured > 0.0);
        QVERIFY2(std::abs(measured - m.measured.front()) <= 1e-6 * m.measured.front(),
                 qPrintable(QString("model %1, cost table %2").arg(measured, 0, 'g', 10).arg(m.measured.front(), 0, 'g', 10)));
    }

private:
    std::shared_ptr<LlamaModel> m_model;
    CalibrationSet m_calib;
};

QTEST_GUILESS_MAIN(TestModelKld)
#include "test_model_kld.moc"
