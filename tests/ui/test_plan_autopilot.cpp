// The plan view's "Optimize to …" (plan autopilot, issue 16) on the bundled model with a small
// candidate set (rtn × 2, 4, 8 bits × g32, + fp16) and 2 × 32-token calibration windows: the job
// runs off the GUI thread, the plan it fills fits the budget, is one undo step that undo reverts
// exactly, marks exactly the rows it changed until the next edit, and its predicted frontier
// reaches the Pareto plot. Cancel leaves the plan alone. Writes the offscreen picture of
// docs/screenshots/plan-autopilot.png to the scratch folder.

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>
#include <QUndoStack>

#include "core/quant/quant_scheme.h"
#include "core/store/session_store.h"

#include "qcustomplot.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/plan_document.h"
#include "ui/models/plan_table_model.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/optimize_bar.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

core::QuantScheme rtn(int bits, int group) {
    core::QuantScheme s;
    s.method = core::QuantMethod::Rtn;
    s.grid = {bits, group, false};
    return s;
}

}  // namespace

class TestPlanAutopilot : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->resize(1500, 900);
        m_window->show();
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_doc = m_controller->workspace()->plan();
        m_bar = m_window->planView()->optimizeBar();
        // The small candidate set: rtn only, 2/4/8 bits, group 32, plus fp16; 2 windows × 32 tokens.
        for (const char* name : {"optimizeMethod_gptq", "optimizeMethod_awq", "optimizeBits_3", "optimizeGroup_128"})
            m_bar->findChild<QCheckBox*>(QString::fromLatin1(name))->setChecked(false);
        m_bar->findChild<QSpinBox*>(QStringLiteral("optimizeWindows"))->setValue(2);
        m_bar->findChild<QSpinBox*>(QStringLiteral("optimizeCtx"))->setValue(32);
    }

    void cleanupTestCase() {
        m_window.reset();
        m_controller.reset();
    }

    void offersEveryWidthCorePacksWithTheEngineWidthsChecked() {
        // One list (core::kSupportedWeightBits): 2–8, and 5–7 start unchecked (only quantbench reads them).
        for (const int b : core::kSupportedWeightBits) {
            auto* box = m_bar->findChild<QCheckBox*>(QStringLiteral("optimizeBits_%1").arg(b));
            QVERIFY2(box, qPrintable(QStringLiteral("no check box for %1 bits").arg(b)));
            if (b >= 5 && b <= 7) QVERIFY(!box->isChecked());
        }
        QVERIFY(m_bar->findChild<QCheckBox*>(QStringLiteral("optimizeBits_4"))->isChecked());
    }

    void targetUnitsConvertAndReachTheRequest() {
        m_bar->setTarget(4.0, ui::OptimizeBar::Unit::BitsPerWeight);
        auto* unit = m_bar->findChild<QComboBox*>(QStringLiteral("optimizeUnit"));
        unit->setCurrentIndex(unit->findData(int(ui::OptimizeBar::Unit::Megabytes)));
        emit unit->activated(unit->currentIndex());
        const double mb = 4.0 * double(m_doc->weights()) / 8.0 / 1e6;
        QCOMPARE(m_bar->findChild<QDoubleSpinBox*>(QStringLiteral("optimizeTarget"))->value(), std::round(mb * 1000) / 1000);
        const auto r = m_bar->request();
        QVERIFY(r && r->target.bytes && !r->target.bitsPerWeight);
        QCOMPARE(*r->target.bytes, std::uint64_t(std::round(mb * 1000) / 1000 * 1e6));
        QCOMPARE(r->space.methods, std::vector<core::QuantMethod>{core::QuantMethod::Rtn});
        QCOMPARE(r->space.bits, (std::vector<int>{2, 4, 8}));
        QCOMPARE(r->windows, 2);
    }

    // The third unit asks for the smallest plan within a predicted ΔKLD, not a size.
    void kldUnitRequestsABound() {
        auto* unit = m_bar->findChild<QComboBox*>(QStringLiteral("optimizeUnit"));
        auto* target = m_bar->findChild<QDoubleSpinBox*>(QStringLiteral("optimizeTarget"));
        unit->setCurrentIndex(unit->findData(int(ui::OptimizeBar::Unit::KldNats)));
        emit unit->activated(unit->currentIndex());
        target->setValue(0.05);
        const auto r = m_bar->request();
        QVERIFY(r && r->target.kld && !r->target.bytes && !r->target.bitsPerWeight);
        QCOMPARE(*r->target.kld, 0.05);
        m_bar->setTarget(4.0, ui::OptimizeBar::Unit::BitsPerWeight);
    }

    void optimizeFillsThePlanWithinBudgetAsOneUndoStepAndMarksChanges() {
        m_doc->resetModules(m_controller->workspace()->model()->modules);
        m_doc->replaceSchemes(std::vector<core::QuantScheme>(std::size_t(m_doc->rowCount()), rtn(4, 32)), QStringLiteral("all rtn w4 g32"));
        const auto before = m_doc->schemes();
        const int undoBefore = m_doc->undoStack()->count();
        const double target = 4.0;
        const std::uint64_t budget = std::uint64_t(std::floor(target * double(m_doc->weights()) / 8.0));
        QVERIFY(m_doc->bytes() > budget);  // the plan before does not fit: the autopilot must change it
        m_bar->setTarget(target, ui::OptimizeBar::Unit::BitsPerWeight);

        QTest::mouseClick(m_bar->optimizeButton(), Qt::LeftButton);
        ui::Job* job = m_controller->jobs()->jobs().last();
        QCOMPARE(job->kind(), ui::JobKind::Plan);
        QVERIFY(!job->isFinished());          // the click returned while the work runs on the queue's thread
        QVERIFY(!m_bar->optimizeButton()->isEnabled());
        QVERIFY(m_bar->cancelButton()->isEnabled());
        QCOMPARE(test::waitForJob(job, 120000), ui::JobState::Succeeded);

        // Within budget, and every module took one of the candidates.
        QVERIFY2(m_doc->bytes() <= budget, qPrintable(QStringLiteral("%1 > %2").arg(m_doc->bytes()).arg(budget)));
        QVERIFY(m_doc->bitsPerWeight() > 3.0);  // it uses the budget, not the smallest plan (2-bit everywhere is ~2.6)
        for (const auto& row : m_doc->rows()) {
            const auto& s = row.scheme;
            QVERIFY(s.method == core::QuantMethod::Fp16 ||
                    (s.method == core::QuantMethod::Rtn && s.grid.groupSize == 32 && (s.grid.bits == 2 || s.grid.bits == 4 || s.grid.bits == 8)));
        }
        const auto outcome = job->result<ui::AutoPlanOutcome>();
        QCOMPARE(outcome->result.bytes, m_doc->bytes());  // the document holds exactly the solver's plan
        QVERIFY(outcome->proxySpearman.has_value());

        // Exactly the changed rows are marked, and the table paints them.
        const auto after = m_doc->schemes();
        QList<int> changed;
        for (int i = 0; i < m_doc->rowCount(); ++i)
            if (!ui::sameScheme(before[std::size_t(i)], after[std::size_t(i)])) changed.append(i);
        QVERIFY(!changed.isEmpty());
        QCOMPARE(m_doc->markedRows(), changed);
        auto* model = m_window->planView()->tableModel();
        QCOMPARE(model->index(changed.first(), ui::PlanTableModel::Module).data(Qt::BackgroundRole).value<QBrush>().color(),
                 ui::autopilotMarkColor());
        for (int i = 0; i < m_doc->rowCount(); ++i)
            if (!changed.contains(i)) QVERIFY(!model->index(i, ui::PlanTableModel::Module).data(Qt::BackgroundRole).isValid());

        // The summary: bytes/bpw, predicted cost, ρ — in the bar and in the log.
        const QString summary = m_bar->summaryLabel()->text();
        QVERIFY2(summary.contains(QStringLiteral("%1 bits per weight").arg(m_doc->bitsPerWeight(), 0, 'f', 3)), qPrintable(summary));
        QVERIFY(summary.contains(QStringLiteral("predicted ΔKLD")) && summary.contains(QStringLiteral("Spearman ρ")));
        QVERIFY(summary.contains(QStringLiteral("%1 of %2 modules changed").arg(changed.size()).arg(m_doc->rowCount())));

        // The offscreen picture of docs/screenshots/plan-autopilot.png.
        m_window->tabs()->setCurrentWidget(m_window->planView());
        m_window->planView()->table()->clearSelection();  // a selected row would hide its mark
        QTest::qWait(50);
        m_scratch = test::freshScratchDir("ui-plan-autopilot");
        QVERIFY(m_window->planView()->grab().save(QString::fromStdString((m_scratch / "plan-autopilot.png").string())));

        // One undo step, reverted exactly; redo gives the same plan again.
        QCOMPARE(m_doc->undoStack()->count(), undoBefore + 1);
        m_doc->undoStack()->undo();
        for (int i = 0; i < m_doc->rowCount(); ++i) QVERIFY(ui::sameScheme(m_doc->row(i).scheme, before[std::size_t(i)]));
        QVERIFY(m_doc->markedRows().isEmpty());  // undo is an edit: the marks go
        m_doc->undoStack()->redo();
        for (int i = 0; i < m_doc->rowCount(); ++i) QVERIFY(ui::sameScheme(m_doc->row(i).scheme, after[std::size_t(i)]));
    }

    void theNextEditClearsTheMarks() {
        // Mark again through the document's own entry point, then edit one row.
        m_doc->replaceSchemesMarked(std::vector<core::QuantScheme>(std::size_t(m_doc->rowCount()), rtn(2, 32)), QStringLiteral("all w2"));
        QVERIFY(!m_doc->markedRows().isEmpty());
        QVERIFY(m_doc->setField(0, ui::PlanField::Bits, 8));
        QVERIFY(m_doc->markedRows().isEmpty());
        QVERIFY(!m_window->planView()->tableModel()->index(1, 0).data(Qt::BackgroundRole).isValid());
    }

    void paretoPlotDrawsThePredictedFrontierNextToUniformPlans() {
        const auto frontier = m_controller->workspace()->autoPlanFrontier();
        QVERIFY(frontier && !frontier->autopilot.empty());
        QCOMPARE(frontier->uniform.size(), std::size_t(4));  // rtn w2/w4/w8 g32 and fp16
        // At each uniform plan's own size the autopilot predicts no worse (it may pick that plan).
        for (const auto& u : frontier->uniform) {
            const bool covered = std::any_of(frontier->autopilot.begin(), frontier->autopilot.end(), [&](const ui::AutoPlanSweepPoint& p) {
                return p.bytes <= u.bytes && p.predictedCost <= u.predictedCost + 1e-12;
            });
            QVERIFY2(covered, qPrintable(QString::fromStdString(u.scheme.label())));
        }
        auto* plot = m_window->resultsView()->findChild<QCustomPlot*>(QStringLiteral("paretoScatter"));
        QVERIFY(plot);
        QCPGraph* pilot = nullptr;
        QCPGraph* uniform = nullptr;
        for (int i = 0; i < plot->graphCount(); ++i) {
            if (plot->graph(i)->name().startsWith(QStringLiteral("autopilot frontier: predicted"))) pilot = plot->graph(i);
            if (plot->graph(i)->name().startsWith(QStringLiteral("uniform plans: predicted"))) uniform = plot->graph(i);
        }
        QVERIFY(pilot && uniform);
        QCOMPARE(pilot->valueAxis(), plot->yAxis2);  // predictions on their own axis, never on the runs' perplexity axis
        int positive = 0;
        for (const auto& p : frontier->autopilot) positive += p.predictedCost > 0;
        QCOMPARE(pilot->dataCount(), positive);
        QVERIFY(uniform->dataCount() >= 3);
        QVERIFY(plot->yAxis2->visible());
        plot->resize(900, 520);
        QVERIFY(plot->grab().save(QString::fromStdString((m_scratch / "pareto-autopilot.png").string())));
    }

    // The Optimize above measured every module's costs; asking again on the same calibration and
    // candidates (another target) measures nothing, and the costs survive a save and a reopen.
    void theNextOptimizeReusesTheMeasuredCosts() {
        ui::Workspace* ws = m_controller->workspace();
        QCOMPARE(ws->planCosts().size(), std::size_t(1));
        QCOMPARE(ws->planCosts().front().modules.size(), std::size_t(m_doc->rowCount()));
        m_bar->setTarget(3.5, ui::OptimizeBar::Unit::BitsPerWeight);
        QTest::mouseClick(m_bar->optimizeButton(), Qt::LeftButton);
        ui::Job* job = m_controller->jobs()->jobs().last();
        QVERIFY2(test::waitForJob(job, 120000) == ui::JobState::Succeeded, qPrintable(job->errorMessage()));
        const auto outcome = job->result<ui::AutoPlanOutcome>();
        QCOMPARE(outcome->reusedModules, std::size_t(m_doc->rowCount()));
        QCOMPARE(outcome->forwards, std::size_t(0));
        QVERIFY(m_doc->bitsPerWeight() <= 3.5);
        QVERIFY2(m_bar->summaryLabel()->text().contains(QStringLiteral("%1 of %1 modules' costs reused").arg(m_doc->rowCount())),
                 qPrintable(m_bar->summaryLabel()->text()));
        QVERIFY(m_bar->grab().save(QString::fromStdString((m_scratch / "optimize-reused.png").string())));

        const QString file = QString::fromStdString((m_scratch / "costs.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);
        QCOMPARE(core::SessionStore::read(m_scratch / "costs.h5").planCosts.size(), std::size_t(1));
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_COMPARE(ws->sessionFile(), file);
        QCOMPARE(ws->planCosts().size(), std::size_t(1));
        QTest::mouseClick(m_bar->optimizeButton(), Qt::LeftButton);
        job = m_controller->jobs()->jobs().last();
        QCOMPARE(test::waitForJob(job, 120000), ui::JobState::Succeeded);
        QCOMPARE(job->result<ui::AutoPlanOutcome>()->reusedModules, std::size_t(m_doc->rowCount()));
    }

    void cancelLeavesThePlanAlone() {
        // Other windows: the costs must be measured (nothing to reuse), so there is work to cancel.
        m_bar->findChild<QSpinBox*>(QStringLiteral("optimizeWindows"))->setValue(3);
        const auto before = m_doc->schemes();
        const int undoBefore = m_doc->undoStack()->count();
        m_bar->setTarget(3.0, ui::OptimizeBar::Unit::BitsPerWeight);
        QTest::mouseClick(m_bar->optimizeButton(), Qt::LeftButton);
        ui::Job* job = m_controller->jobs()->jobs().last();
        QTest::mouseClick(m_bar->cancelButton(), Qt::LeftButton);
        QCOMPARE(test::waitForJob(job, 60000), ui::JobState::Cancelled);
        QCOMPARE(m_doc->undoStack()->count(), undoBefore);
        for (int i = 0; i < m_doc->rowCount(); ++i) QVERIFY(ui::sameScheme(m_doc->row(i).scheme, before[std::size_t(i)]));
        QVERIFY(m_bar->optimizeButton()->isEnabled());
        QVERIFY(m_bar->summaryLabel()->text().contains(QStringLiteral("cancelled")));
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
    ui::PlanDocument* m_doc = nullptr;
    ui::OptimizeBar* m_bar = nullptr;
    std::filesystem::path m_scratch;
};

QTEST_MAIN(TestPlanAutopilot)
#include "test_plan_autopilot.moc"
