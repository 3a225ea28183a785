// The Benchmark job and the FP16 baseline: latency of a quantized run and of the FP16 reference
// on the bundled model, drawn in the latency plots; the FP16 baseline's perplexity next to the
// model as loaded; runs without a measurement stay "not measured"; and a session keeps both.

#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTest>

#include <cmath>

#include "qcustomplot.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

constexpr double kFp16PerplexityTolerance = 0.005;  // the bound: FP16 within 0.5 % of F32

/// The value drawn at key (the run's row) by any bar set of plot; NaN when none.
double barValueAt(QCustomPlot* plot, double key) {
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* bars = qobject_cast<QCPBars*>(plot->plottable(i)))
            for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
                if (it->key == key) return it->value;
    return std::nan("");
}

/// Every text item of plot, joined by newlines.
QString plotTexts(QCustomPlot* plot) {
    QStringList texts;
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* t = qobject_cast<QCPItemText*>(plot->item(i))) texts << t->text();
    return texts.join(QLatin1Char('\n'));
}

int rowOf(const std::vector<ui::RunPtr>& runs, int id) {
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (runs[i]->id == id) return int(i);
    return -1;
}

}  // namespace

class TestBenchmark : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void init() {
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_controller->evaluateSettings().textFile = test::bundledText("eval.txt");
        m_controller->evaluateSettings().ctx = 128;
        m_controller->evaluateSettings().maxWindows = 8;
        m_controller->calibrationSettings().textFile = test::bundledText("calib.txt");
        m_controller->calibrationSettings().ctx = 128;
        m_controller->calibrationSettings().windows = 8;
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->show();
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
    }

    void cleanup() {
        m_window.reset();
        m_controller.reset();
    }

    void evaluateAddsAnFp16BaselineWithin05PercentOfF32() {
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        auto* ws = m_controller->workspace();
        const auto f32 = ws->baselineRun();
        const auto fp16 = ws->fp16BaselineRun();
        QVERIFY(f32 && fp16 && fp16->perplexity);
        QCOMPARE(f32->name, std::string("baseline (F32)"));
        QCOMPARE(fp16->name, std::string("baseline (FP16)"));
        QCOMPARE(fp16->bitsPerWeight, 16.0);
        QCOMPARE(fp16->linearBytes * 2, f32->linearBytes);
        QCOMPARE(fp16->perplexity->predictions, f32->perplexity->predictions);
        const double ratio = fp16->perplexity->perplexity / f32->perplexity->perplexity;
        qInfo("perplexity F32 %.6f, FP16 %.6f", f32->perplexity->perplexity, fp16->perplexity->perplexity);
        QVERIFY2(std::abs(ratio - 1.0) < kFp16PerplexityTolerance, qPrintable(QString::number(ratio, 'f', 6)));
        QVERIFY(fp16->perplexity->perplexity != f32->perplexity->perplexity);  // really the rounded model
        // Each baseline is the reference of its own Δ column.
        auto* table = m_window->resultsView()->runTable();
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(1, 4)->text(), QStringLiteral("reference"));
        QCOMPARE(table->item(0, 5)->text(), QStringLiteral("reference"));
        QCOMPARE(m_window->resultsView()->runTable()->horizontalHeaderItem(5)->text(), QStringLiteral("Δ vs F32"));
    }

    void benchmarkMeasuresTheQuantizedRunAndTheFp16Reference() {
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);  // RTN w4 g128
        auto* ws = m_controller->workspace();
        ui::RunRecord unmeasurable;  // a run without a model (as reopened from a session)
        unmeasurable.name = "run 9 · from a session";
        const int unmeasurableId = ws->addRun(unmeasurable)->id;
        const int quantizedId = ws->runs()[2]->id;

        QSignalSpy added(m_controller->jobs(), &ui::JobQueue::jobAdded);
        QTest::mouseClick(m_window->resultsView()->findChild<QPushButton*>(QStringLiteral("benchmarkButton")), Qt::LeftButton);
        QCOMPARE(added.count(), 1);
        auto* job = qvariant_cast<ui::Job*>(added.first().first());
        QCOMPARE(job->kind(), ui::JobKind::Benchmark);
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);

        const auto& runs = ws->runs();
        QCOMPARE(int(runs.size()), 4);
        const auto quantized = ws->findRun(quantizedId);
        const auto fp16 = ws->fp16BaselineRun();
        const auto f32 = ws->baselineRun();
        for (const auto& run : {quantized, fp16, f32}) {
            QVERIFY2(run->decodeMsPerToken && *run->decodeMsPerToken > 0 && *run->decodeMsPerToken < 1000, run->name.c_str());
            QVERIFY2(run->prefillTokensPerSecond && *run->prefillTokensPerSecond > 0, run->name.c_str());
            QCOMPARE(run->benchPromptTokens, 64);
            QCOMPARE(run->benchGenTokens, 64);
        }
        QVERIFY(quantized->model);  // the model is kept, the record replaced
        QVERIFY(fp16->perplexity);  // the FP16 baseline keeps its perplexity
        QVERIFY(!ws->findRun(unmeasurableId)->decodeMsPerToken);
        QVERIFY(!ws->findRun(unmeasurableId)->prefillTokensPerSecond);
        qInfo("decode ms/token: run %.4f, FP16 %.4f, F32 %.4f; prefill tokens/s: run %.0f, FP16 %.0f", *quantized->decodeMsPerToken,
              *fp16->decodeMsPerToken, *f32->decodeMsPerToken, *quantized->prefillTokensPerSecond, *fp16->prefillTokensPerSecond);

        // The plots hold exactly those values, in the rows of their runs, with the ratio to FP16.
        auto* latency = m_window->resultsView()->latencyPlot();
        auto* prefill = m_window->resultsView()->prefillPlot();
        const double qRow = rowOf(runs, quantizedId), fRow = rowOf(runs, fp16->id), uRow = rowOf(runs, unmeasurableId);
        QCOMPARE(barValueAt(latency, qRow), *quantized->decodeMsPerToken);
        QCOMPARE(barValueAt(latency, fRow), *fp16->decodeMsPerToken);
        QCOMPARE(barValueAt(prefill, qRow), *quantized->prefillTokensPerSecond);
        QCOMPARE(barValueAt(prefill, fRow), *fp16->prefillTokensPerSecond);
        QVERIFY(std::isnan(barValueAt(latency, uRow)));
        QVERIFY(std::isnan(barValueAt(prefill, uRow)));
        const double speedup = *fp16->decodeMsPerToken / *quantized->decodeMsPerToken;
        const QString ratio = speedup >= 1 ? QStringLiteral("%1× faster").arg(speedup, 0, 'f', 2)
                                           : QStringLiteral("%1× slower").arg(1 / speedup, 0, 'f', 2);
        QVERIFY2(plotTexts(latency).contains(ratio), qPrintable(plotTexts(latency)));
        QVERIFY(plotTexts(latency).contains(QStringLiteral("not measured")));
        QVERIFY(plotTexts(prefill).contains(QStringLiteral("not measured")));
        auto* table = m_window->resultsView()->runTable();
        QCOMPARE(table->item(int(uRow), 6)->text(), QStringLiteral("not measured"));
        QVERIFY(table->item(int(qRow), 6)->text() != QStringLiteral("not measured"));

        // Nothing left to measure: no job.
        QVERIFY(!m_controller->benchmarkRuns());
    }

    void benchmarkBeforeEvaluateAddsTheFp16ReferenceWhichEvaluateKeeps() {
        auto* ws = m_controller->workspace();
        ui::Job* job = nullptr;
        m_window->action(QStringLiteral("actionBenchmark"))->trigger();
        job = m_controller->jobs()->jobs().last();
        QCOMPARE(job->kind(), ui::JobKind::Benchmark);
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        QCOMPARE(int(ws->runs().size()), 1);
        const auto fp16 = ws->fp16BaselineRun();
        QVERIFY(fp16 && fp16->decodeMsPerToken && *fp16->decodeMsPerToken > 0);
        QVERIFY(!fp16->perplexity);  // not evaluated: not invented either
        QCOMPARE(m_window->resultsView()->runTable()->item(0, 3)->text(), QStringLiteral("not measured"));
        const double decode = *fp16->decodeMsPerToken;

        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QCOMPARE(int(ws->runs().size()), 2);
        QVERIFY(ws->fp16BaselineRun()->perplexity);
        QCOMPARE(*ws->fp16BaselineRun()->decodeMsPerToken, decode);  // same model, same measurement
        QVERIFY(!ws->baselineRun()->decodeMsPerToken);
    }

    void sessionRoundTripKeepsLatencyAndTheFp16Baseline() {
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->benchmarkRuns()), ui::JobState::Succeeded);
        std::vector<ui::RunRecord> before;
        for (const auto& r : m_controller->workspace()->runs()) before.push_back(*r);
        QCOMPARE(int(before.size()), 3);

        const QString file = QString::fromStdString((test::freshScratchDir("ui_bench_session") / "session.h5").string());
        QVERIFY(m_controller->saveSession(file));
        QCOMPARE(test::waitForJob(m_controller->jobs()->jobs().last()), ui::JobState::Succeeded);
        cleanup();
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->show();
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_COMPARE(int(m_controller->workspace()->runs().size()), 3);

        const auto& after = m_controller->workspace()->runs();
        for (std::size_t i = 0; i < before.size(); ++i) {
            const ui::RunRecord& a = *after[i];
            QCOMPARE(a.kind, before[i].kind);
            QCOMPARE(a.name, before[i].name);
            QCOMPARE(a.number, before[i].number);
            QVERIFY(a.decodeMsPerToken && a.prefillTokensPerSecond);
            QCOMPARE(*a.decodeMsPerToken, *before[i].decodeMsPerToken);
            QCOMPARE(*a.prefillTokensPerSecond, *before[i].prefillTokensPerSecond);
            QCOMPARE(a.benchPromptTokens, 64);
            QCOMPARE(a.benchGenTokens, 64);
            QCOMPARE(a.perplexity->perplexity, before[i].perplexity->perplexity);
        }
        QCOMPARE(after[1]->kind, ui::RunKind::Fp16Baseline);
        auto* latency = m_window->resultsView()->latencyPlot();
        for (std::size_t i = 0; i < after.size(); ++i) QCOMPARE(barValueAt(latency, double(i)), *after[i]->decodeMsPerToken);
        QVERIFY(!m_controller->benchmarkRuns());  // everything measured; the reopened run holds no model anyway
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestBenchmark)
#include "test_benchmark.moc"
