// The workbench's own runs against FP16 (issue 13): each GUI run stamps the protocol
// quantbench-cli records and the session keeps it; the Results view's KLD and top-1 bars hold the
// runs' values; the per-token KLD strip shows the chosen window with each token's text on hover;
// Compare warns exactly when the two runs' protocols differ. The bundled model is evaluated and
// quantized once (initTestCase), on 4 windows of 64 tokens.

#include <QLabel>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QToolTip>

#include "core/calib/calibration.h"
#include "core/store/run_protocol.h"
#include "core/store/session_store.h"
#include "core/text/tokenizer.h"
#include "core/util/sha256.h"
#include "qcustomplot.h"
#include "support/test_support.h"
#include "ui/main_window.h"
#include "ui/models/workspace.h"
#include "ui/plots/kld_plots.h"
#include "ui/ui_test_support.h"
#include "ui/views/kld_panel.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

constexpr int kCtx = 64;
constexpr int kWindows = 4;

/// The bars' values of plot by key (every QCPBars plottable: runs and baselines alike).
std::map<double, double> barValues(QCustomPlot* plot) {
    std::map<double, double> values;
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* bars = qobject_cast<QCPBars*>(plot->plottable(i)))
            for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) values[it->key] = it->value;
    return values;
}

}  // namespace

class TestResultsKld : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_controller->evaluateSettings().textFile = test::bundledText("eval.txt");
        m_controller->evaluateSettings().ctx = kCtx;
        m_controller->evaluateSettings().maxWindows = kWindows;
        m_controller->calibrationSettings().textFile = test::bundledText("calib.txt");
        m_controller->calibrationSettings().ctx = kCtx;
        m_controller->calibrationSettings().windows = 4;
        m_controller->calibrationSettings().seed = 7;
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->resize(1400, 900);
        m_window->show();
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);  // RTN w4 g128
        QCOMPARE(int(workspace()->runs().size()), 3);
    }

    void cleanupTestCase() {
        m_window.reset();
        m_controller.reset();
    }

    void guiRunProtocolRoundTripsThroughTheSession() {
        const auto run = workspace()->runs().back();
        QVERIFY(run->protocol && run->protocol->eval && run->protocol->calibration);
        const core::Protocol& p = *run->protocol;
        QCOMPARE(p.eval->text, std::string("eval.txt"));
        QCOMPARE(p.eval->sha256, core::sha256Hex(core::readTextFile(test::bundledText("eval.txt"))));
        QCOMPARE(p.eval->ctx, kCtx);
        QCOMPARE(p.eval->windows, kWindows);
        QCOMPARE(p.eval->stride, kCtx);
        QCOMPARE(p.baselineDtype, std::optional<std::string>("F16"));
        QCOMPARE(p.calibration->sha256, core::sha256Hex(core::readTextFile(test::bundledText("calib.txt"))));
        QCOMPARE(p.calibration->windows, 4);
        QCOMPARE(p.calibration->ctx, kCtx);
        QCOMPARE(p.calibration->seed, std::uint64_t(7));
        QVERIFY(p.environment == core::currentEnvironment());
        for (const auto& baseline : {workspace()->baselineRun(), workspace()->fp16BaselineRun()})
            QVERIFY(baseline->protocol && baseline->protocol->eval == p.eval && !baseline->protocol->calibration);

        const auto file = test::freshScratchDir("ui_results_kld") / "session.qbsession";
        QCOMPARE(test::waitForJob(m_controller->saveSession(QString::fromStdString(file.string()))), ui::JobState::Succeeded);
        const core::SessionData data = core::SessionStore::read(file);
        const auto stored = std::find_if(data.runs.begin(), data.runs.end(), [](const core::RunRecord& r) { return r.id == "run-1"; });
        QVERIFY(stored != data.runs.end());
        QVERIFY(stored->protocol == run->protocol);
        QCOMPARE(stored->metrics.at("kld_mean"), run->kld->kldMean);
        QCOMPARE(stored->metrics.at("top1_agreement_percent"), run->kld->top1AgreementPercent);
        QCOMPARE(stored->tokenKld, run->tokenKld);
        QCOMPARE(stored->tokenKldTargets, run->tokenKldTargets);
    }

    void kldBarsHoldTheRunsValues() {
        const auto runs = ui::runsWithKld(workspace()->runs());
        QCOMPARE(int(runs.size()), 2);  // the model as loaded and run 1; FP16 is the reference
        QVERIFY(runs.back()->kld->kldMean > runs.front()->kld->kldMean);  // RTN w4 moves further from FP16 than F32 does
        auto* panel = m_window->resultsView()->kldPanel();
        const auto kld = barValues(panel->kldPlot());
        const auto top1 = barValues(panel->top1Plot());
        QCOMPARE(int(kld.size()), 2);
        QCOMPARE(int(top1.size()), 2);
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(kld.at(i), runs[std::size_t(i)]->kld->kldMean);
            QCOMPARE(top1.at(i), runs[std::size_t(i)]->kld->top1AgreementPercent);
        }
        QVERIFY(top1.at(1) > 50.0 && top1.at(1) < 100.0);
    }

    void tokenStripShowsTheChosenWindowWithTokenText() {
        const auto run = workspace()->runs().back();
        QCOMPARE(int(run->tokenKld.size()), kWindows * (kCtx - 1));
        auto* panel = m_window->resultsView()->kldPanel();
        QCOMPARE(panel->stripRun()->currentData().toInt(), run->id);
        QCOMPARE(panel->stripWindow()->maximum(), kWindows);
        panel->stripWindow()->setValue(3);
        QCustomPlot* strip = panel->tokenStrip();
        const auto values = barValues(strip);
        QCOMPARE(int(values.size()), kCtx - 1);
        const std::size_t first = std::size_t(2) * (kCtx - 1);
        for (int i = 0; i < kCtx - 1; ++i) QCOMPARE(values.at(i), double(run->tokenKld[first + std::size_t(i)]));

        // Hovering bar 10 names the token position 10 of window 3 predicted: token 11 of the window.
        const auto& tokenizer = *workspace()->model()->tokenizer;
        const auto stream = core::encodeDocuments(tokenizer, core::readTextFile(test::bundledText("eval.txt")));
        const int target = stream[std::size_t(2 * kCtx + 10 + 1)];
        QCOMPARE(run->tokenKldTargets[first + 10], target);
        m_window->tabs()->setCurrentWidget(m_window->resultsView());
        m_window->resultsView()->findChild<QTabWidget*>()->setCurrentWidget(panel);
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        strip->replot();
        const QPoint at(int(strip->xAxis->coordToPixel(10)), strip->axisRect()->center().y());
        QTest::mouseMove(strip, at);
        const QString expected = ui::visibleTokenText(tokenizer.pieceBytes(target));
        QTRY_COMPARE(QToolTip::text().section(QLatin1Char('\n'), 0, 0), expected);
        QVERIFY(QToolTip::text().contains(QStringLiteral("window 3, position 11")));
    }

    void compareWarnsOnlyWhenProtocolsDiffer() {
        auto* view = m_window->resultsView();
        const auto fp16 = workspace()->fp16BaselineRun();
        const auto run1 = workspace()->runs().back();
        view->compareRuns(fp16->id, run1->id);  // same text, windows and machine
        QVERIFY(view->protocolWarning()->isHidden());

        m_controller->evaluateSettings().ctx = 32;
        m_controller->calibrationSettings().ctx = 32;
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        const auto run2 = workspace()->runs().back();
        view->compareRuns(run1->id, run2->id);
        QVERIFY(!view->protocolWarning()->isHidden());
        const QString warning = view->protocolWarning()->text();
        QVERIFY2(warning.contains(QStringLiteral("ctx 64 vs 32")), qPrintable(warning));
        for (const auto& d : core::compareProtocols(*run1->protocol, *run2->protocol))
            QVERIFY2(warning.contains(QString::fromStdString(d)), d.c_str());

        view->compareRuns(fp16->id, run1->id);  // back to a clean pair: the warning goes
        QVERIFY(view->protocolWarning()->isHidden());
    }

private:
    ui::Workspace* workspace() const { return m_controller->workspace(); }

    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestResultsKld)
#include "test_results_kld.moc"
