// The workbench window: opening the bundled model, a failed load, and jobs from the Jobs dock
// (evaluate, RTN quantize to a result row, cancelling, and the GUI thread staying responsive).

#include <QElapsedTimer>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <QTreeView>

#include <fstream>

#include <qcustomplot.h>

#include "core/io/checkpoint.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/model_tree_model.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/plots/plot_support.h"
#include "ui/ui_test_support.h"
#include "ui/views/log_view.h"
#include "ui/views/model_view.h"
#include "ui/views/results_view.h"
#include "ui/views/jobs_view.h"
#include "ui/views/start_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {
constexpr qint64 kMaxGuiStallMs = 100;  // the bound on the longest GUI-thread stall
}

class TestWorkbench : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void init() {
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_controller->evaluateSettings().textFile = test::bundledText("eval.txt");
        m_controller->calibrationSettings().textFile = test::bundledText("calib.txt");
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->show();
    }

    void cleanup() {
        m_window.reset();
        m_controller.reset();
    }

    void startScreenOpensBundledModelAndShowsTree() {
        QVERIFY(m_window->startView()->isVisible());
        QSignalSpy added(m_controller->jobs(), &ui::JobQueue::jobAdded);
        QTest::mouseClick(m_window->startView()->demoButton(), Qt::LeftButton);
        QCOMPARE(added.count(), 1);
        auto* job = qvariant_cast<ui::Job*>(added.first().first());
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        QVERIFY(!m_window->startView()->isVisible());

        auto* tree = m_window->modelView()->treeModel();
        QCOMPARE(tree->rowCount(), 1);
        const QModelIndex root = tree->index(0, 0);
        QCOMPARE(root.data().toString(), QStringLiteral("stories260K"));
        QCOMPARE(tree->index(0, ui::ModelTreeModel::Parameters).data().toString(), QStringLiteral("260,032"));
        QCOMPARE(tree->rowCount(root), 5);
        const QModelIndex layer0 = tree->index(0, 0, root);
        QCOMPARE(tree->rowCount(layer0), 7);
        const QModelIndex down = tree->index(6, 0, layer0);
        QCOMPARE(down.data().toString(), QStringLiteral("mlp.down_proj"));
        QCOMPARE(tree->index(6, ui::ModelTreeModel::Shape, layer0).data().toString(), QStringLiteral("[64, 172]"));
        QCOMPARE(tree->index(6, ui::ModelTreeModel::Parameters, layer0).data().toString(), QStringLiteral("11,008"));
        QCOMPARE(tree->index(6, ui::ModelTreeModel::DType, layer0).data().toString(), QStringLiteral("F32"));
        QVERIFY(tree->index(6, ui::ModelTreeModel::Badge, layer0).data().toString().isEmpty());  // no stats yet

        // Selecting a module in the tree makes it current for every view.
        auto* view = m_window->modelView()->tree();
        const QModelIndex proxyDown = view->model()->index(6, 0, view->model()->index(0, 0, view->model()->index(0, 0)));
        view->setCurrentIndex(proxyDown);
        QCOMPARE(m_controller->workspace()->currentModule(), QStringLiteral("model.layers.0.mlp.down_proj"));
        QCOMPARE(m_controller->workspace()->plan()->rowCount(), 35);
    }

    void failedLoadShowsTheCoreMessage() {
        const auto dir = test::freshScratchDir("ui_broken_checkpoint");
        std::ofstream(dir / "config.json") << "{\"architectures\": [\"LlamaForCausalLM\"]}";
        QString expected;
        try {
            (void)core::Checkpoint::open(dir);
            QFAIL("the broken checkpoint opened");
        } catch (const core::Error& e) {
            expected = QStringLiteral("error: ") + QString::fromUtf8(e.what());
        }
        QSignalSpy errors(m_controller.get(), &ui::WorkbenchController::errorOccurred);
        auto* job = m_controller->openModelFolder(QString::fromStdString(dir.string()));
        QCOMPARE(test::waitForJob(job), ui::JobState::Failed);
        QCOMPARE(job->errorMessage(), expected);
        QCOMPARE(errors.count(), 1);
        QCOMPARE(errors.first().at(1).toString(), expected);
        QVERIFY(m_window->logView()->toPlainText().contains(expected));
        auto* box = m_window->findChild<QMessageBox*>(QStringLiteral("errorBox"));
        QVERIFY(box);
        QCOMPARE(box->text(), expected);
        QVERIFY(!m_controller->workspace()->hasModel());
    }

    void evaluateJobAddsTheBaselineRun() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_controller->evaluateSettings().ctx = 128;
        m_controller->evaluateSettings().maxWindows = 8;
        auto* job = m_controller->evaluateBaseline();
        QCOMPARE(job->kind(), ui::JobKind::Evaluate);
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        const auto baseline = m_controller->workspace()->baselineRun();
        QVERIFY(baseline);
        QCOMPARE(baseline->perplexity->windows, 8);
        QCOMPARE(baseline->perplexity->predictions, 8 * 127);
        QVERIFY(baseline->perplexity->perplexity > 2.0 && baseline->perplexity->perplexity < 10.0);
        QCOMPARE(baseline->bitsPerWeight, 32.0);
        auto* table = m_window->resultsView()->runTable();
        QCOMPARE(table->rowCount(), 2);  // as loaded, then FP16
        QCOMPARE(table->item(0, 3)->text(), QString::number(baseline->perplexity->perplexity, 'f', 4));
        QCOMPARE(table->item(0, 6)->text(), QStringLiteral("not measured"));
        QCOMPARE(job->progress(), 1.0);
    }

    void rtnQuantizeJobFromTheJobsDockAddsAResultRow() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_controller->evaluateSettings().ctx = 128;
        m_controller->evaluateSettings().maxWindows = 8;
        m_controller->calibrationSettings().ctx = 128;
        m_controller->calibrationSettings().windows = 8;
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        m_window->action(QStringLiteral("actionQuantize"))->trigger();  // F5, plan = RTN w4 g128
        ui::Job* job = m_controller->jobs()->jobs().last();
        QCOMPARE(job->kind(), ui::JobKind::Quantize);
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        const auto& runs = m_controller->workspace()->runs();
        QCOMPARE(int(runs.size()), 3);
        const auto& run = *runs.back();
        QCOMPARE(int(run.modules.size()), 35);
        QVERIFY(run.bitsPerWeight > 4.0 && run.bitsPerWeight < 6.0);
        QVERIFY(run.perplexity->perplexity > m_controller->workspace()->baselineRun()->perplexity->perplexity * 0.99);
        for (const auto& m : run.modules) QVERIFY2(m.relativeError > 0 && m.relativeError < 0.2, m.name.c_str());
        auto* table = m_window->resultsView()->runTable();
        QCOMPARE(table->rowCount(), 3);
        QVERIFY(table->item(2, 0)->text().contains(QStringLiteral("rtn w4 g128")));
        QVERIFY(table->item(2, 4)->text().endsWith(QStringLiteral("%")));  // Δ vs FP16
        QVERIFY(table->item(2, 5)->text().endsWith(QStringLiteral("%")));  // Δ vs F32
    }

    // OmniQuant reports each layer's loss per epoch as it trains (issue 15): the job keeps the
    // curves, the Jobs dock draws them beside its table, and they are the run's history.
    void anOmniQuantJobDrawsEachLayersLossInTheJobsDock() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        QVERIFY(!m_window->jobsView()->lossPlot()->isVisible());  // no job has reported a curve
        m_controller->evaluateSettings().ctx = 64;
        m_controller->evaluateSettings().maxWindows = 2;
        m_controller->calibrationSettings().ctx = 64;
        m_controller->calibrationSettings().windows = 2;
        auto* plan = m_controller->workspace()->plan();
        plan->replaceSchemes(std::vector<core::QuantScheme>(std::size_t(plan->rowCount()), [] {
                                 core::QuantScheme s;
                                 s.method = core::QuantMethod::OmniQuant;
                                 s.grid.bits = 3;
                                 s.omniquant.epochs = 3;
                                 return s;
                             }()),
                             QStringLiteral("omniquant"));
        ui::Job* job = m_controller->quantizeWithPlan();
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        const auto& curves = job->curves();
        QCOMPARE(int(curves.size()), 5);
        const auto history = core::trainingLossByLayer(m_controller->workspace()->runs().back()->modules);
        QCOMPARE(int(history.size()), 5);
        for (int layer = 0; layer < 5; ++layer) {
            QCOMPARE(curves[std::size_t(layer)].name, QStringLiteral("layer %1").arg(layer));
            QCOMPARE(int(curves[std::size_t(layer)].points.size()), 3);
            for (int e = 0; e < 3; ++e) {
                QCOMPARE(curves[std::size_t(layer)].points[e].x(), double(e + 1));
                QCOMPARE(curves[std::size_t(layer)].points[e].y(), history.at(layer)[std::size_t(e)]);
            }
        }
        ui::JobsView* dock = m_window->jobsView();
        QTRY_VERIFY(dock->lossPlot()->isVisible());
        QCOMPARE(dock->lossPlotJob(), job);
        QCOMPARE(dock->lossPlot()->graphCount(), 5);
        QCOMPARE(dock->lossPlot()->graph(4)->dataCount(), 3);
        m_controller->jobs()->clearFinished();  // the jobs go, and the plot with them
        QTRY_VERIFY(!dock->lossPlot()->isVisible());
    }

    void cancellingAJobStopsItAndKeepsNoOutput() {
        // A synthetic job that polls the stop flag like core does, per chunk.
        auto* job = m_controller->jobs()->submit(ui::JobKind::Benchmark, QStringLiteral("spin"),
                                                 ui::makeJobWork([](const core::RunContext& ctx) {
                                                     for (int i = 0; i < 100000; ++i) {
                                                         ctx.throwIfStopped();
                                                         ctx.progress(i / 100000.0, "spinning");
                                                         QThread::msleep(1);
                                                     }
                                                     return 42;
                                                 }));
        QTRY_VERIFY(job->state() == ui::JobState::Running);
        QTRY_VERIFY(job->progress() > 0.0);
        job->cancel();
        QCOMPARE(test::waitForJob(job, 5000), ui::JobState::Cancelled);
        QVERIFY(!job->result<int>());

        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        auto* plan = m_controller->workspace()->plan();
        plan->replaceSchemes(std::vector<core::QuantScheme>(std::size_t(plan->rowCount()), [] {
                                 core::QuantScheme s;
                                 s.method = core::QuantMethod::Gptq;
                                 return s;
                             }()),
                             QStringLiteral("gptq"));
        ui::Job* gptq = m_controller->quantizeWithPlan();
        QTRY_VERIFY(gptq->state() == ui::JobState::Running);
        m_window->action(QStringLiteral("actionCancel"))->trigger();
        QCOMPARE(test::waitForJob(gptq), ui::JobState::Cancelled);
        QVERIFY(!gptq->result<ui::RunRecord>());
        QVERIFY(m_controller->workspace()->runs().empty());
        QCOMPARE(m_window->resultsView()->runTable()->rowCount(), 0);
    }

    void guiThreadStallStaysUnder100msWhileQuantizing() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_controller->calibrationSettings().windows = 32;
        m_controller->calibrationSettings().ctx = 256;
        m_controller->evaluateSettings().ctx = 256;
        m_controller->evaluateSettings().maxWindows = 16;
        QElapsedTimer clock;
        qint64 last = 0, longest = 0;
        int ticks = 0;
        QTimer timer;
        timer.setInterval(10);
        connect(&timer, &QTimer::timeout, this, [&] {
            const qint64 now = clock.elapsed();
            longest = std::max(longest, now - last);
            last = now;
            ++ticks;
        });
        clock.start();
        timer.start();
        ui::Job* job = m_controller->quantizeWithPlan();
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
        QTest::qWait(50);  // the result's views are drawn after finished: include them
        timer.stop();
        qInfo("quantize job %.2f s, %d timer ticks, longest GUI-thread gap %lld ms", job->elapsedSeconds(), ticks, longest);
        QVERIFY(ticks > 5);
        QVERIFY2(longest <= kMaxGuiStallMs, qPrintable(QStringLiteral("longest stall %1 ms").arg(longest)));
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
