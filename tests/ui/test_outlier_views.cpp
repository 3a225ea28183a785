// The statistics views after an Inspect job: every Outliers plot holds data in sane ranges, the
// planted outlier channel of the equivalent model is found and marked, the overview selects
// modules, "protect sensitive layers" uses the ranking, and a saved session reopens with the
// same plots without recomputing.

#include <QLabel>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTest>
#include <QToolTip>
#include <QFileInfo>

#include "qcustomplot.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/plots/plot_support.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/outliers_view.h"
#include "ui/views/overview_view.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

constexpr int kPlantedLayer = 2;
constexpr int kPlantedChannel = 17;
constexpr float kPlantedFactor = 40.0f;

double sumOfBars(QCustomPlot* plot) {
    auto* bars = qobject_cast<QCPBars*>(plot->plottable(0));
    double sum = 0;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) sum += it->value;
    return sum;
}

QCPColorMap* colorMap(QCustomPlot* plot) {
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* m = qobject_cast<QCPColorMap*>(plot->plottable(i))) return m;
    return nullptr;
}

}  // namespace

class TestOutlierViews : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void init() {
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_controller->calibrationSettings().windows = 4;
        m_controller->calibrationSettings().ctx = 128;
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->resize(1500, 950);
        m_window->show();
    }

    void cleanup() {
        m_window.reset();
        m_controller.reset();
    }

    void everyPlotHoldsDataAfterInspect() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->inspect()), ui::JobState::Succeeded);
        auto* ws = m_controller->workspace();
        QVERIFY(ws->stats());
        QCOMPARE(int(ws->stats()->modules.size()), 35);
        ws->setCurrentModule(QStringLiteral("model.layers.1.mlp.down_proj"));  // W [64, 172]
        const auto* s = ws->stats()->find("model.layers.1.mlp.down_proj");
        auto* view = m_window->outliersView();

        QCustomPlot* hist = view->weightHistogram();
        QVERIFY(hist->plottableCount() >= 1);
        QCOMPARE(sumOfBars(hist), 64.0 * 172.0);  // every weight in one bin
        QVERIFY(hist->xAxis->range().lower <= -s->weight.absmax && hist->xAxis->range().upper >= s->weight.absmax);
        QCOMPARE(hist->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(hist->legend->visible() && hist->legend->itemCount() >= 3);  // bars, ±3σ, ±6σ

        QCustomPlot* absmax = view->activationAbsmax();
        QCOMPARE(absmax->graph(0)->dataCount(), 172);
        for (auto it = absmax->graph(0)->data()->constBegin(); it != absmax->graph(0)->data()->constEnd(); ++it)
            QVERIFY(it->value >= 0 && it->value < 1e4);
        QVERIFY(absmax->yAxis->range().upper >= 6.0);  // the LLM.int8() line is in view

        QCustomPlot* rows = view->rowAbsmax();
        QCOMPARE(rows->graph(0)->dataCount(), 64);
        for (auto it = rows->graph(0)->data()->constBegin(); it != rows->graph(0)->data()->constEnd(); ++it)
            QVERIFY(it->value > 0 && it->value <= s->weight.absmax + 1e-9);

        QCPColorMap* map = colorMap(view->activationHeatmap());
        QVERIFY(map);
        QCOMPARE(map->data()->keySize(), 172);
        QCOMPARE(map->data()->valueSize(), int(s->activation->sample.rows()));
        QVERIFY(map->dataRange().lower > 0 && map->dataRange().upper > map->dataRange().lower);
        QCOMPARE(map->dataScaleType(), QCPAxis::stLogarithmic);

        // Hover read-out and export of a plot.
        const QPoint centre = absmax->axisRect()->rect().center();
        QTest::mouseMove(absmax, centre);
        QTRY_VERIFY(QToolTip::text().contains(QStringLiteral("channel")));
        const auto dir = test::freshScratchDir("ui_plot_export");
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString file = QString::fromStdString((dir / (std::string("histogram.") + ext)).string());
            QVERIFY2(ui::savePlot(hist, file, 600, 400), ext);
            QVERIFY(QFileInfo(file).size() > 1000);
        }

        // Badge in the tree, sensitivity in the plan.
        QVERIFY(!m_window->outliersView()->findChild<QLabel*>()->text().isEmpty());
        auto* overview = m_window->overviewView();
        overview->setStatistic(ui::OverviewView::Statistic::Sensitivity4);
        QCPColorMap* cells = colorMap(overview->plot());
        QCOMPARE(cells->data()->keySize(), 7);
        QCOMPARE(cells->data()->valueSize(), 5);
        QVERIFY(cells->data()->cell(6, 4) > 0 && cells->data()->cell(6, 4) < 1);
        overview->selectAt(3.2, 1.9);  // a click on the cell of layer 2, o_proj
        QCOMPARE(ws->currentModule(), QStringLiteral("model.layers.2.self_attn.o_proj"));

        QCOMPARE(m_window->planView()->protectSensitive(3), 3);
        int eightBit = 0;
        for (const auto& row : ws->plan()->rows()) eightBit += row.scheme.grid.bits == 8;
        QCOMPARE(eightBit, 3);
    }

    void plantedOutlierChannelIsFoundAndMarked() {
        m_controller->showModel(ui::wrapModel(test::outlierInjectedModel(kPlantedLayer, kPlantedChannel, kPlantedFactor),
                                              test::bundledModelDir(), "stories260K + planted outlier"));
        QCOMPARE(test::waitForJob(m_controller->inspect()), ui::JobState::Succeeded);
        const QString q = QString::fromStdString(core::moduleName(kPlantedLayer, core::ModuleKind::Q));
        m_controller->workspace()->setCurrentModule(q);
        const auto* s = m_controller->workspace()->stats()->find(q.toStdString());
        QVERIFY(!s->activation->outliers.empty());
        QCOMPARE(int(s->activation->outliers.front().index), kPlantedChannel);
        QTableWidget* table = m_window->outliersView()->outlierTable();
        QVERIFY(table->rowCount() >= 1);
        QCOMPARE(table->item(0, 0)->text(), QString::number(kPlantedChannel));
        QCustomPlot* heatmap = m_window->outliersView()->activationHeatmap();
        bool framed = false;  // a red frame around the planted column
        for (int i = 0; i < heatmap->itemCount(); ++i)
            if (auto* rect = qobject_cast<QCPItemRect*>(heatmap->item(i)))
                framed = framed || (rect->topLeft->coords().x() == kPlantedChannel - 0.5 && rect->bottomRight->coords().x() == kPlantedChannel + 0.5);
        QVERIFY(framed);
        // The layer below is untouched: no planted channel in its q_proj input.
        const auto* clean = m_controller->workspace()->stats()->find(core::moduleName(kPlantedLayer - 1, core::ModuleKind::Q));
        for (const auto& o : clean->activation->outliers) QVERIFY(int(o.index) != kPlantedChannel || o.absmax < s->activation->outliers.front().absmax / 5);
    }

    void savedSessionReopensWithTheSamePlots() {
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->inspect()), ui::JobState::Succeeded);
        m_controller->evaluateSettings().ctx = 128;
        m_controller->evaluateSettings().maxWindows = 4;
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QVERIFY(m_controller->workspace()->plan()->setField(4, ui::PlanField::Bits, 3));
        const QString module = QStringLiteral("model.layers.3.mlp.up_proj");
        m_controller->workspace()->setCurrentModule(module);
        const int histogramBars = qobject_cast<QCPBars*>(m_window->outliersView()->weightHistogram()->plottable(0))->dataCount();
        const double histogramSum = sumOfBars(m_window->outliersView()->weightHistogram());
        const double heatmapTop = colorMap(m_window->outliersView()->activationHeatmap())->dataRange().upper;

        const QString file = QString::fromStdString((test::freshScratchDir("ui_session") / "session.h5").string());
        QVERIFY(m_controller->saveSession(file));
        QCOMPARE(test::waitForJob(m_controller->jobs()->jobs().last()), ui::JobState::Succeeded);
        QCOMPARE(m_controller->workspace()->sessionFile(), file);

        cleanup();
        init();
        QSignalSpy inspects(m_controller->jobs(), &ui::JobQueue::jobAdded);
        ui::Job* open = m_controller->openSession(file);
        QCOMPARE(test::waitForJob(open), ui::JobState::Succeeded);
        QTRY_VERIFY(m_controller->workspace()->stats() != nullptr);
        for (const auto& args : inspects) QVERIFY(qvariant_cast<ui::Job*>(args.first())->kind() != ui::JobKind::Inspect);
        auto* ws = m_controller->workspace();
        QCOMPARE(int(ws->stats()->modules.size()), 35);
        QCOMPARE(int(ws->runs().size()), 2);  // the baseline as loaded and the FP16 baseline
        QVERIFY(ws->baselineRun());
        QVERIFY(ws->fp16BaselineRun() && ws->fp16BaselineRun()->perplexity);
        QCOMPARE(ws->plan()->row(4).scheme.grid.bits, 3);
        ws->setCurrentModule(module);
        QCOMPARE(qobject_cast<QCPBars*>(m_window->outliersView()->weightHistogram()->plottable(0))->dataCount(), histogramBars);
        QCOMPARE(sumOfBars(m_window->outliersView()->weightHistogram()), histogramSum);
        QCOMPARE(colorMap(m_window->outliersView()->activationHeatmap())->dataRange().upper, heatmapTop);
        QCOMPARE(m_window->resultsView()->runTable()->rowCount(), 2);
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestOutlierViews)
#include "test_outlier_views.moc"
