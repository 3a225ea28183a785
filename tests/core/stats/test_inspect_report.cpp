// The inspect report's text lines and JSON object on hand-made module statistics.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/stats/inspect_report.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

/// Two modules: "a" with a planted outlier channel 5 (|x| = 190.25) and 4-bit error 1 %,
/// "b" without outliers and 4-bit error 3 %.
std::vector<ModuleStats> makeModules() {
    MatrixRM X = MatrixRM::Constant(50, 8, 0.5f);
    X(3, 5) = 190.25f;
    X(4, 2) = 7.0f;
    ModuleStats a;
    a.name = "model.layers.0.self_attn.q_proj";
    a.outFeatures = 4;
    a.inFeatures = 8;
    a.weight = computeWeightStats(qb::test::randomMatrix(4, 8, 1, 0.1f));
    a.activation = std::make_shared<const ActivationStats>(computeActivationStats(X));
    a.sensitivity.entries = {{4, 128, 0.01, {}}, {4, std::nullopt, 0.02, {}}};
    ModuleStats b;
    b.name = "model.layers.0.mlp.down_proj";
    b.outFeatures = 8;
    b.inFeatures = 4;
    b.weight = computeWeightStats(qb::test::randomMatrix(8, 4, 2, 0.1f));
    b.activation = std::make_shared<const ActivationStats>(computeActivationStats(MatrixRM::Constant(50, 4, 0.5f)));
    b.sensitivity.entries = {{4, 128, 0.03, {}}};
    return {a, b};
}

}  // namespace

class TestInspectReport : public QObject {
    Q_OBJECT
private slots:
    void textHasOneLinePerModuleThenTheRanking() {
        const std::string text = formatInspectText(makeModules());
        const QStringList lines = QString::fromStdString(text).split('\n');
        QVERIFY2(lines.size() == 7, qPrintable(QString::fromStdString(text)));  // 2 modules, blank, title, 2 ranks, ""
        QVERIFY(lines[0].startsWith("model.layers.0.self_attn.q_proj  [4x8]"));
        QVERIFY2(lines[0].contains("worst: activation outlier ratio 380.5x (channel 5)"), qPrintable(lines[0]));
        QVERIFY2(lines[0].endsWith("outliers: 5 (190.25), 2 (7.00)"), qPrintable(lines[0]));
        QVERIFY(lines[1].startsWith("model.layers.0.mlp.down_proj     [8x4]"));
        QVERIFY(lines[1].endsWith("outliers: none"));
        QCOMPARE(lines[3], QString("Modules ranked by RTN w4 g128 relative output error (largest first):"));
        QVERIFY2(lines[4].contains("1. model.layers.0.mlp.down_proj") && lines[4].endsWith("3.000%"), qPrintable(lines[4]));
        QVERIFY2(lines[5].contains("2. model.layers.0.self_attn.q_proj") && lines[5].endsWith("1.000%"), qPrintable(lines[5]));
    }

    void jsonCarriesOutliersStatisticsAndRanking() {
        const auto report = nlohmann::json::parse(formatInspectJson(makeModules()));
        const auto& q = report.at("modules").at(0);
        QCOMPARE(q.at("name").get<std::string>(), std::string("model.layers.0.self_attn.q_proj"));
        QCOMPARE(q.at("shape").at(1).get<int>(), 8);
        const auto& top = q.at("outlier_channels").at(0);
        QCOMPARE(top.at("index").get<int>(), 5);
        QCOMPARE(top.at("absmax").get<double>(), 190.25);
        QCOMPARE(top.at("rule").get<std::string>(), std::string("both"));
        QCOMPARE(q.at("outlier_channels").at(1).at("rule").get<std::string>(), std::string("llm_int8"));  // 7 < 20 × 0.5
        QCOMPARE(q.at("sensitivity").at("w4_g128").get<double>(), 0.01);
        QCOMPARE(q.at("sensitivity").at("w4_per_channel").get<double>(), 0.02);
        QCOMPARE(q.at("activation").at("median_channel_absmax").get<double>(), 0.5);
        QCOMPARE(q.at("activation").at("absmax_channel").get<int>(), 5);
        QCOMPARE(q.at("worst").at("name").get<std::string>(), std::string("activation outlier ratio"));
        QVERIFY(q.at("weight").at("count").get<int>() == 32);
        QCOMPARE(report.at("modules").at(1).at("outlier_channels").size(), std::size_t(0));
        QCOMPARE(report.at("sensitivity_ranking").at(0).at("name").get<std::string>(),
                 std::string("model.layers.0.mlp.down_proj"));
    }

    void reportViewDropsTheSampleAndNothingTheReportReads() {
        const auto modules = makeModules();
        std::vector<ModuleStats> views;
        for (const ModuleStats& m : modules) views.push_back(reportView(m));
        QCOMPARE(modules[0].activation->sample.rows(), Index(50));  // the original keeps its 50 tokens
        QCOMPARE(views[0].activation->sample.size(), Index(0));
        QVERIFY(views[0].activation->absmax == modules[0].activation->absmax);
        QCOMPARE(formatInspectText(views), formatInspectText(modules));
        QCOMPARE(formatInspectJson(views), formatInspectJson(modules));
    }

    void worstStatisticPicksTheLargestSeverity() {
        const auto modules = makeModules();
        const WorstStatistic a = worstStatistic(modules[0]);
        QCOMPARE(a.name, std::string("activation outlier ratio"));
        QCOMPARE(a.value, 380.5);
        QCOMPARE(a.severity, 380.5 / 20.0);
        // b: outlier ratio 1 (severity 0.05), 4-bit error 3 % (0.6), kurtosis of 32 Gaussian values (< 0.6).
        const WorstStatistic b = worstStatistic(modules[1]);
        QCOMPARE(b.name, std::string("rtn w4 g128 error"));
        QCOMPARE(b.value, 0.03);
        QVERIFY(std::abs(b.severity - 0.6) < 1e-12);
        QCOMPARE(b.text, std::string("rtn w4 g128 relative error 3.00%"));
    }
};

QTEST_APPLESS_MAIN(TestInspectReport)
#include "test_inspect_report.moc"
