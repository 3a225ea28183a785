// The workbench as a daily tool (issue 20): one run identity everywhere and across reopen,
// unsaved-work safety (modified marker, save/discard/cancel prompt, recovery file), the preset
// box, the Compare defaults, plot layout, refused edits and readable undo history. Prompts are
// replaced by test hooks: no test waits on a modal dialog.

#include <QComboBox>
#include <QDialog>
#include <QLabel>
#include <QTabWidget>
#include <QSettings>
#include <QToolButton>
#include <QLineEdit>
#include <QMenu>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTest>
#include <QUndoStack>

#include "core/stats/activation_stats.h"
#include "core/calib/calibration.h"
#include "core/util/sha256.h"
#include "qcustomplot.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/models/job_table_model.h"
#include "core/backend/backend.h"
#include "ui/main_window.h"
#include "ui/models/model_tree_model.h"
#include "ui/models/module_statistic.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/plots/outlier_plots.h"
#include "ui/plots/plot_support.h"
#include "ui/plots/results_plots.h"
#include "ui/ui_test_support.h"
#include "ui/views/log_view.h"
#include "ui/views/model_view.h"
#include "ui/views/outliers_view.h"
#include "ui/views/start_view.h"
#include "ui/views/overview_view.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

constexpr int kDownProj = 6;  // mlp.down_proj: the 7th module of a layer in the plan's rows
constexpr int kModulesPerLayer = 7;

QStringList itemTexts(QCustomPlot* plot) {
    QStringList texts;
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* t = qobject_cast<QCPItemText*>(plot->item(i))) texts << t->text();
    return texts;
}

QStringList legendNames(QCustomPlot* plot) {
    QStringList names;
    for (int i = 0; i < plot->plottableCount(); ++i) names << plot->plottable(i)->name();
    return names;
}

/// A quantized run as a reopened session holds it (no model), with a perplexity.
ui::RunRecord fakeRun(double bits, double perplexity) {
    ui::RunRecord r;
    r.scheme = "rtn w4 g128 asym";
    r.planJson = "{}";
    r.bitsPerWeight = bits;
    core::PerplexityResult p;
    p.perplexity = perplexity;
    r.perplexity = p;
    return r;
}

}  // namespace

class TestDailyUse : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void init() {
        QSettings().remove(QStringLiteral("modelTexts"));  // every test starts with the bundled texts
        m_scratch = test::freshScratchDir("ui_daily_use");
        makeWindow();
    }

    void cleanup() {
        m_window.reset();
        m_controller.reset();
        QSettings().remove(QStringLiteral("modelTexts"));
    }

    // --- the user's texts ---------------------------------------------------------------

    void theRunBarSaysTheBundledTextsAreInUse() {
        openDemo();
        auto* results = m_window->resultsView();
        QCOMPARE(results->calibrationTextButton()->text(), QStringLiteral("Calibration: calib.txt (bundled)"));
        QCOMPARE(results->evaluationTextButton()->text(), QStringLiteral("Evaluation: eval.txt (bundled)"));
        QVERIFY(results->calibrationTextButton()->toolTip().contains(QStringLiteral("bundled")));
        QCOMPARE(results->calibrationTextButton()->menu()->actions().size(), 4);  // file, folder, separator, bundled
    }

    void aChosenCalibrationTextShowsItsNameHashAndProtocolInTheJobLogAndRow() {
        openDemo();
        const auto file = m_scratch / "my-calibration.txt";
        std::filesystem::copy_file(test::bundledText("calib.txt"), file);
        auto* results = m_window->resultsView();
        emit results->calibrationTextChosen(QString::fromStdString(file.string()));  // what the picker's file dialog does
        QCOMPARE(results->calibrationTextButton()->text(), QStringLiteral("Calibration: my-calibration.txt"));

        ui::Job* job = m_controller->quantizeWithPlan();
        QCOMPARE(job->title(), QStringLiteral("rtn w4 g128 asym · my-calibration.txt (4×64, seed 0) → eval.txt"));
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);

        const std::string sha = core::sha256FileHex(file);
        const auto run = m_controller->workspace()->runs().back();
        QCOMPARE(run->calibrationText, std::string("my-calibration.txt"));
        QCOMPARE(run->calibrationSha256, sha);
        QCOMPARE(run->calibrationWindows, 4);
        QCOMPARE(run->calibrationCtx, 64);
        QCOMPARE(run->evaluationSha256, core::sha256FileHex(test::bundledText("eval.txt")));
        QVERIFY(m_window->logView()->toPlainText().contains(QString::fromStdString("calibration text my-calibration.txt, sha256 " + sha)));

        auto* table = results->runTable();
        QCOMPARE(table->item(0, 9)->text(), QStringLiteral("my-calibration.txt → eval.txt"));
        const QString tip = table->item(0, 0)->toolTip();
        QVERIFY2(tip.contains(QString::fromStdString("calibration: my-calibration.txt (sha256 " + sha.substr(0, 12) +
                                                     "), 4 windows × 64 tokens, seed 0")), qPrintable(tip));
        QVERIFY(tip.contains(QStringLiteral("evaluation: eval.txt (sha256 ")));
        QCOMPARE(table->item(0, 9)->toolTip(), tip.section(QLatin1Char('\n'), -2));
    }

    void aFolderOfTextsIsReadInNameOrderEachFileOneDocument() {
        openDemo();
        const auto dir = m_scratch / "my-texts";
        std::filesystem::create_directories(dir);
        std::filesystem::copy_file(test::bundledText("eval.txt"), dir / "b.txt");
        std::filesystem::copy_file(test::bundledText("calib.txt"), dir / "a.txt");
        m_controller->setEvaluationText(QString::fromStdString(dir.string()));
        QCOMPARE(m_window->resultsView()->evaluationTextButton()->text(), QStringLiteral("Evaluation: my-texts/"));
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        const auto run = m_controller->workspace()->runs().front();
        QCOMPARE(run->evaluationText, std::string("my-texts/ (2 files)"));
        const std::string joined = core::readTextFile(dir / "a.txt") + "\n<|endoftext|>\n" + core::readTextFile(dir / "b.txt");
        QCOMPARE(run->evaluationSha256, core::sha256Hex(joined));
    }

    void theChosenTextsAreRememberedPerModelAndTheBundledOnesRestored() {
        openDemo();
        const auto file = m_scratch / "mine.txt";
        std::filesystem::copy_file(test::bundledText("calib.txt"), file);
        m_controller->setCalibrationText(QString::fromStdString(file.string()));
        makeWindow();
        QCOMPARE(m_window->resultsView()->calibrationTextButton()->text(), QStringLiteral("Calibration: calib.txt (bundled)"));  // no model yet
        openDemo();
        QCOMPARE(m_window->resultsView()->calibrationTextButton()->text(), QStringLiteral("Calibration: mine.txt"));
        QCOMPARE(m_controller->calibrationSettings().textFile, file);
        QVERIFY(m_controller->evaluationTextIsBundled());
        m_controller->setCalibrationText({});  // "Use the bundled text"
        makeWindow();
        openDemo();
        QVERIFY(m_controller->calibrationTextIsBundled());
    }

    void theRunsTextsSurviveSaveAndReopen() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        const auto before = m_controller->workspace()->runs().back();
        const QString file = QString::fromStdString((m_scratch / "texts.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);
        makeWindow();
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_COMPARE(int(m_controller->workspace()->runs().size()), 1);
        const auto after = m_controller->workspace()->runs().back();
        QCOMPARE(after->calibrationText, before->calibrationText);
        QCOMPARE(after->calibrationSha256, before->calibrationSha256);
        QCOMPARE(after->calibrationSeed, before->calibrationSeed);
        QCOMPARE(after->calibrationWindows, 4);
        QCOMPARE(after->evaluationSha256, before->evaluationSha256);
        QVERIFY(m_window->resultsView()->runTable()->item(0, 0)->toolTip().contains(QStringLiteral("calibration: calib.txt (sha256 ")));
    }

    // --- the statistic column ---------------------------------------------------------

    void theStatisticColumnsHeaderTooltipExplainsEveryStatistic() {
        openDemo();
        auto* tree = m_window->modelView()->treeModel();
        QCOMPARE(tree->headerData(ui::ModelTreeModel::Badge, Qt::Horizontal).toString(), QStringLiteral("Worst statistic"));
        const QString tip = tree->headerData(ui::ModelTreeModel::Badge, Qt::Horizontal, Qt::ToolTipRole).toString();
        for (const auto& s : ui::moduleStatistics()) QVERIFY2(tip.contains(ui::statisticName(s.statistic)), s.key);
        QVERIFY(tip.contains(QStringLiteral("▶ worst statistic (severity) — ")));  // the one shown, marked
        QVERIFY(tip.contains(QStringLiteral("0 for a Gaussian")));
        QVERIFY(tip.contains(QStringLiteral("level 20×")));
    }

    void theTreeColumnAndTheOverviewFollowOneStatistic() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->inspect()), ui::JobState::Succeeded);
        auto* ws = m_controller->workspace();
        auto* tree = m_window->modelView()->treeModel();
        auto* treeBox = m_window->modelView()->statisticBox();
        auto* overviewBox = m_window->overviewView()->statisticBox();
        const QString module = QStringLiteral("model.layers.0.mlp.down_proj");
        const QModelIndex cell = tree->indexOfModule(module).siblingAtColumn(ui::ModelTreeModel::Badge);

        overviewBox->setCurrentIndex(overviewBox->findData(int(ui::ModuleStatistic::Kurtosis)));  // the Overview's "Colour by"
        QCOMPARE(ws->statistic(), ui::ModuleStatistic::Kurtosis);
        QCOMPARE(treeBox->currentData().toInt(), int(ui::ModuleStatistic::Kurtosis));
        QCOMPARE(tree->headerData(ui::ModelTreeModel::Badge, Qt::Horizontal).toString(), QStringLiteral("Weight excess kurtosis"));
        const double kurtosis = ws->stats()->find(module.toStdString())->weight.excessKurtosis;
        QCOMPARE(cell.data().toString(), QString::number(kurtosis, 'g', 4));
        QVERIFY(tree->headerData(ui::ModelTreeModel::Badge, Qt::Horizontal, Qt::ToolTipRole).toString().contains(
            QStringLiteral("▶ weight excess kurtosis")));

        treeBox->setCurrentIndex(treeBox->findData(int(ui::ModuleStatistic::Sensitivity4)));  // the tree's box
        QCOMPARE(m_window->overviewView()->statistic(), ui::ModuleStatistic::Sensitivity4);
        QCOMPARE(overviewBox->currentData().toInt(), int(ui::ModuleStatistic::Sensitivity4));
        const auto sensitivity = ui::statisticValue(*ws->stats()->find(module.toStdString()), ui::ModuleStatistic::Sensitivity4);
        QVERIFY(sensitivity);
        QCOMPARE(cell.data().toString(), QString::number(*sensitivity, 'g', 4));
    }

    // --- shortcuts and help -------------------------------------------------------------

    void helpListsTheKeyboardShortcutsOfEveryMenuAction() {
        m_window->action(QStringLiteral("actionShortcuts"))->trigger();  // Help ▸ Keyboard Shortcuts (F1)
        auto* dialog = m_window->findChild<QDialog*>(QStringLiteral("shortcutsDialog"));
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        QVERIFY(!dialog->isModal());  // the window stays usable
        auto* table = dialog->findChild<QTableWidget*>(QStringLiteral("shortcutsTable"));
        QMap<QString, QString> keys;
        for (int row = 0; row < table->rowCount(); ++row) keys[table->item(row, 0)->text()] = table->item(row, 1)->text();
        QCOMPARE(keys.value(QStringLiteral("Quantize with Plan")), QStringLiteral("F5"));
        QCOMPARE(keys.value(QStringLiteral("Inspect Outliers and Sensitivity")), QStringLiteral("F6"));
        QCOMPARE(keys.value(QStringLiteral("Evaluate Baseline Perplexity")), QStringLiteral("F7"));
        QCOMPARE(keys.value(QStringLiteral("Benchmark Runs")), QStringLiteral("F8"));
        QCOMPARE(keys.value(QStringLiteral("Save Session")), QStringLiteral("Ctrl+S"));
        QCOMPARE(keys.value(QStringLiteral("Redo")), QStringLiteral("Ctrl+Shift+Z, Ctrl+Y"));
        QCOMPARE(keys.value(QStringLiteral("Keyboard Shortcuts")), QStringLiteral("F1"));
        // Every menu action with a key is listed (the list is read from the menus, not typed twice).
        QStringList listed;
        for (const QString& k : keys) listed << k.split(QStringLiteral(", "));
        for (QAction* a : m_window->findChildren<QAction*>())
            for (const QKeySequence& key : a->shortcuts())
                QVERIFY2(listed.contains(key.toString(QKeySequence::NativeText)), qPrintable(a->text()));
        dialog->close();
    }

    void theFirstStartShowsGettingStartedInsteadOfEmptyPlots() {
        auto* start = m_window->startView();
        QVERIFY(start->isVisible());
        QVERIFY(!m_window->tabs()->isVisible());  // no empty plots
        auto* steps = start->findChild<QLabel*>(QStringLiteral("gettingStarted"));
        QVERIFY(steps);
        QVERIFY(steps->isVisible());
        QVERIFY(steps->text().contains(QStringLiteral("Getting started")));
        QVERIFY(steps->text().contains(QStringLiteral("Inspect (F6)")));
        QVERIFY(steps->text().contains(QStringLiteral("Quantize (F5)")));
        QVERIFY(steps->text().contains(QStringLiteral("Keyboard Shortcuts (F1)")));
        openDemo();
        QVERIFY(!start->isVisible());
        QVERIFY(m_window->tabs()->isVisible());
        m_window->action(QStringLiteral("actionGettingStarted"))->trigger();  // the same steps stay in Help
        auto* dialog = m_window->findChild<QDialog*>(QStringLiteral("gettingStartedDialog"));
        QVERIFY(dialog && dialog->isVisible() && !dialog->isModal());
        QCOMPARE(dialog->findChild<QLabel*>()->text(), steps->text());
        dialog->close();
    }

    // --- duplicate runs -----------------------------------------------------------------

    void quantizingTheSamePlanAgainWarnsAndCanShowTheExistingRun() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);  // the run is not the last row
        const auto existing = m_controller->workspace()->runOfKind(ui::RunKind::Quantized);
        QStringList asked;
        m_window->setDuplicatePrompt([&](const QString& run) {
            asked << run;
            return ui::DuplicateChoice::ShowExisting;
        });
        QSignalSpy added(m_controller->jobs(), &ui::JobQueue::jobAdded);
        m_window->action(QStringLiteral("actionQuantize"))->trigger();  // F5
        QCOMPARE(asked, QStringList{QStringLiteral("run 1 · rtn w4 g128 asym")});
        QCOMPARE(added.count(), 0);
        QCOMPARE(m_window->tabs()->currentWidget(), static_cast<QWidget*>(m_window->resultsView()));
        auto* table = m_window->resultsView()->runTable();
        const auto rows = table->selectionModel()->selectedRows();
        QCOMPARE(rows.size(), 1);
        QCOMPARE(table->item(rows.first().row(), 0)->data(Qt::UserRole).toInt(), existing->id);

        m_window->setDuplicatePrompt([](const QString&) { return ui::DuplicateChoice::QuantizeAgain; });
        ui::Job* again = m_window->quantize();
        QVERIFY(again);
        QCOMPARE(test::waitForJob(again), ui::JobState::Succeeded);
        QCOMPARE(m_controller->workspace()->runs().back()->number, 2);
    }

    void anotherPlanOrCalibrationProtocolIsNoDuplicate() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        m_window->setDuplicatePrompt([](const QString& run) -> ui::DuplicateChoice { qFatal("unexpected duplicate prompt for %s", qPrintable(run)); });
        m_controller->calibrationSettings().seed = 7;  // another protocol
        QVERIFY(!m_controller->duplicateRun());
        m_controller->calibrationSettings().seed = 0;
        QVERIFY(m_controller->duplicateRun());
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);  // another plan
        QVERIFY(!m_controller->duplicateRun());
        ui::Job* job = m_window->quantize();
        QVERIFY(job);
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);
    }

    // --- open to something useful ----------------------------------------------------------

    void openingAModelComputesItsWeightStatisticsInTheBackground() {
        QSignalSpy added(m_controller->jobs(), &ui::JobQueue::jobAdded);
        openDemo();
        auto* ws = m_controller->workspace();
        QTRY_VERIFY(ws->stats() != nullptr);  // no Inspect asked for
        QCOMPARE(added.count(), 2);           // the load, then the weight statistics
        QCOMPARE(qvariant_cast<ui::Job*>(added.last().first())->title(), QStringLiteral("weight statistics (no calibration)"));
        QCOMPARE(int(ws->stats()->modules.size()), 35);  // 5 layers × 7 linears
        for (const auto& m : ws->stats()->modules) {
            QVERIFY(m.weight.count > 0);
            QVERIFY(!m.activation);  // activations need calibration: Inspect
        }
        QVERIFY(!ws->isModified());  // recomputable from the model: nothing to save
        QCOMPARE(ws->currentModule(), QStringLiteral("model.layers.0.self_attn.q_proj"));
        auto* outliers = m_window->outliersView();
        QVERIFY(outliers->weightHistogram()->plottableCount() > 0);
        QVERIFY(qobject_cast<QCPBars*>(outliers->weightHistogram()->plottable(0))->dataCount() > 0);
        QVERIFY(outliers->rowAbsmax()->plottableCount() > 0);
        QVERIFY(outliers->rowAbsmax()->plottable(0)->interface1D()->dataCount() > 0);
        // The same numbers Inspect gives; Inspect adds the activations.
        const double kurtosis = ws->stats()->find("model.layers.2.mlp.down_proj")->weight.excessKurtosis;
        QCOMPARE(test::waitForJob(m_controller->inspect()), ui::JobState::Succeeded);
        QCOMPARE(ws->stats()->find("model.layers.2.mlp.down_proj")->weight.excessKurtosis, kurtosis);
        QVERIFY(ws->stats()->find("model.layers.2.mlp.down_proj")->activation);
    }

    // --- reopen where the user was --------------------------------------------------------

    void reopeningRestoresTheOpenTabTheStatisticAndTheModule() {
        openDemo();
        auto* ws = m_controller->workspace();
        m_window->tabs()->setCurrentWidget(m_window->planView());
        QCOMPARE(ws->openView(), QStringLiteral("PlanView"));
        m_window->overviewView()->setStatistic(ui::ModuleStatistic::Kurtosis);
        ws->setCurrentModule(QStringLiteral("model.layers.3.mlp.up_proj"));
        const QString file = QString::fromStdString((m_scratch / "where.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);

        makeWindow();
        QCOMPARE(m_window->tabs()->currentWidget(), static_cast<QWidget*>(m_window->outliersView()));  // a fresh window
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_COMPARE(m_window->tabs()->currentWidget(), static_cast<QWidget*>(m_window->planView()));
        QCOMPARE(m_window->overviewView()->statistic(), ui::ModuleStatistic::Kurtosis);
        QCOMPARE(m_window->modelView()->statisticBox()->currentData().toInt(), int(ui::ModuleStatistic::Kurtosis));
        QCOMPARE(m_controller->workspace()->currentModule(), QStringLiteral("model.layers.3.mlp.up_proj"));
        QVERIFY(!m_controller->workspace()->isModified());
    }

    void reopeningKeepsTheUndoHistoryAndItsPosition() {
        openDemo();
        auto* plan = m_controller->workspace()->plan();
        plan->setField(0, ui::PlanField::Bits, 8);
        plan->setField(kDownProj, ui::PlanField::Bits, 3);
        plan->setField(1, ui::PlanField::Bits, 8);
        plan->undoStack()->undo();  // three entries, two done: one redo left
        QStringList texts;
        for (int i = 0; i < plan->undoStack()->count(); ++i) texts << plan->undoStack()->text(i);
        QCOMPARE(texts.size(), 3);
        const QString file = QString::fromStdString((m_scratch / "history.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);

        makeWindow();
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        auto* reopened = m_controller->workspace()->plan();
        auto* undo = reopened->undoStack();
        QTRY_COMPARE(undo->count(), 3);
        QStringList reopenedTexts;
        for (int i = 0; i < undo->count(); ++i) reopenedTexts << undo->text(i);
        QCOMPARE(reopenedTexts, texts);
        QCOMPARE(undo->index(), 2);
        QCOMPARE(reopened->row(0).scheme.grid.bits, 8);
        QCOMPARE(reopened->row(kDownProj).scheme.grid.bits, 3);
        QCOMPARE(reopened->row(1).scheme.grid.bits, 4);
        QVERIFY(!m_controller->workspace()->isModified());

        undo->undo();  // Ctrl+Z after reopening undoes the last edit made before saving
        QCOMPARE(reopened->row(kDownProj).scheme.grid.bits, 4);
        QCOMPARE(reopened->row(0).scheme.grid.bits, 8);
        QVERIFY(m_controller->workspace()->isModified());
        undo->redo();
        undo->redo();
        QCOMPARE(reopened->row(1).scheme.grid.bits, 8);
        QCOMPARE(reopened->row(kDownProj).scheme.grid.bits, 3);
    }

    // --- run identity -------------------------------------------------------------------

    void aCancelledQuantizeUsesNoRunNumber() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);  // run 1
        ui::Job* cancelled = m_controller->quantizeWithPlan();
        cancelled->cancel();
        QCOMPARE(test::waitForJob(cancelled), ui::JobState::Cancelled);
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);  // two baselines
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        const auto latest = m_controller->workspace()->runs().back();
        QCOMPARE(latest->number, 2);
        QCOMPARE(latest->name, std::string("run 2 · rtn w4 g128 asym"));
    }

    void aRunShowsTheSameNumberInTheTableChartsLegendParetoAndCompare() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);  // baselines first
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        auto* results = m_window->resultsView();
        auto* table = results->runTable();
        QCOMPARE(table->item(2, 0)->text(), QStringLiteral("run 1 · rtn w4 g128 asym"));
        QVERIFY(results->perplexityPlot()->xAxis->ticker().dynamicCast<QCPAxisTickerText>()->ticks().values().contains(
            QStringLiteral("run 1")));
        QVERIFY(itemTexts(results->paretoPlot()).contains(QStringLiteral("#1")));
        QCOMPARE(legendNames(results->moduleErrorPlot()).value(0), QStringLiteral("run 1: rtn w4 g128 asym"));
        QVERIFY(results->compareB()->findText(QStringLiteral("run 1 · rtn w4 g128 asym")) >= 0);
        for (const QString& text : itemTexts(results->paretoPlot())) QVERIFY2(text != QStringLiteral("#3"), "the internal id leaked");
    }

    void runNumbersAndNamesSurviveSaveAndReopen() {
        openDemo();
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->evaluateBaseline()), ui::JobState::Succeeded);
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        auto* ws = m_controller->workspace();
        m_window->resultsView()->renameRun(ws->runs().back()->id, QStringLiteral("my favourite"));
        QCOMPARE(ws->runs().back()->name, std::string("run 2 · my favourite"));
        std::vector<std::string> before;
        for (const auto& r : ws->runs()) before.push_back(r->name);

        const QString file = QString::fromStdString((m_scratch / "numbers.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);
        makeWindow();
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_COMPARE(int(m_controller->workspace()->runs().size()), 4);
        std::vector<std::string> after;
        for (const auto& r : m_controller->workspace()->runs()) after.push_back(r->name);
        QCOMPARE(after, before);
        QCOMPARE(m_window->resultsView()->runTable()->item(3, 0)->text(), QStringLiteral("run 2 · my favourite"));
        // The next run continues the numbering.
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        QCOMPARE(m_controller->workspace()->runs().back()->number, 3);
    }

    void renamingARunInTheTableIsOneUndoStep() {
        openDemo();
        auto* ws = m_controller->workspace();
        const int id = ws->addRun(fakeRun(4.5, 3.0))->id;
        auto* table = m_window->resultsView()->runTable();
        table->item(0, 0)->setText(QStringLiteral("run 1 · with outliers kept"));  // what the editor commits
        QTRY_COMPARE(ws->findRun(id)->name, std::string("run 1 · with outliers kept"));
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("run 1 · with outliers kept"));
        auto* undo = ws->plan()->undoStack();
        QCOMPARE(undo->undoText(), QStringLiteral("Rename run 1 to “with outliers kept”"));
        undo->undo();
        QCOMPARE(ws->findRun(id)->name, std::string("run 1 · rtn w4 g128 asym"));
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("run 1 · rtn w4 g128 asym"));
    }

    // --- unsaved work -------------------------------------------------------------------

    void theTitleCarriesTheModifiedMarkerWhileAPlanEditIsUnsaved() {
        openDemo();
        QVERIFY(m_window->windowTitle().contains(QStringLiteral("[*]")));
        QVERIFY(!m_window->isWindowModified());
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);
        QVERIFY(m_window->isWindowModified());
        m_controller->workspace()->plan()->undoStack()->undo();
        QVERIFY(!m_window->isWindowModified());
    }

    void quittingWithUnsavedWorkAsksAndCancelKeepsTheWindow() {
        openDemo();
        QStringList asked;
        m_window->setUnsavedPrompt([&](const QString& action) {
            asked << action;
            return ui::UnsavedChoice::Cancel;
        });
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);
        QVERIFY(!m_window->close());
        QCOMPARE(asked, QStringList{QStringLiteral("quitting")});
        QTest::qWait(20);
        QVERIFY(m_window->isVisible());
        QVERIFY(m_controller->workspace()->isModified());
    }

    void quittingAndDiscardingClosesTheWindow() {
        openDemo();
        m_window->setUnsavedPrompt([](const QString&) { return ui::UnsavedChoice::Discard; });
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);
        m_window->close();
        QTRY_VERIFY(!m_window->isVisible());
    }

    void quittingWithoutChangesDoesNotAsk() {
        openDemo();
        int asked = 0;
        m_window->setUnsavedPrompt([&](const QString&) {
            ++asked;
            return ui::UnsavedChoice::Cancel;
        });
        QVERIFY(m_window->close());
        QCOMPARE(asked, 0);
    }

    void choosingSaveWritesTheSessionThenQuits() {
        openDemo();
        const QString file = QString::fromStdString((m_scratch / "saved.h5").string());
        QCOMPARE(test::waitForJob(m_controller->saveSession(file)), ui::JobState::Succeeded);
        m_window->setUnsavedPrompt([](const QString&) { return ui::UnsavedChoice::Save; });
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);
        QVERIFY(!m_window->close());  // waits for the save
        QTRY_VERIFY(!m_window->isVisible());
        QVERIFY(!m_controller->workspace()->isModified());
        makeWindow();
        QCOMPARE(test::waitForJob(m_controller->openSession(file)), ui::JobState::Succeeded);
        QTRY_VERIFY(m_controller->workspace()->plan()->rowCount() > 0);
        QCOMPARE(m_controller->workspace()->plan()->row(0).scheme.grid.bits, 8);
    }

    void openingAnotherModelAsksFirstAndCancelKeepsTheWork() {
        openDemo();
        QStringList asked;
        m_window->setUnsavedPrompt([&](const QString& action) {
            asked << action;
            return ui::UnsavedChoice::Cancel;
        });
        m_controller->workspace()->addRun(fakeRun(4.5, 3.0));
        QSignalSpy added(m_controller->jobs(), &ui::JobQueue::jobAdded);
        m_window->action(QStringLiteral("actionOpenDemo"))->trigger();
        QCOMPARE(asked, QStringList{QStringLiteral("opening another model")});
        QCOMPARE(added.count(), 0);
        QCOMPARE(int(m_controller->workspace()->runs().size()), 1);
    }

    void autosavedWorkIsOfferedBackOnTheNextStart() {
        openDemo();
        m_controller->workspace()->plan()->setField(3, ui::PlanField::Bits, 2);
        m_controller->workspace()->addRun(fakeRun(4.5, 3.0));
        QCOMPARE(test::waitForJob(m_window->autosave()), ui::JobState::Succeeded);
        QVERIFY(QFileInfo::exists(m_window->recoveryFile()));
        m_window.reset();  // a crash: no close event, the recovery file stays
        m_controller.reset();

        makeWindow();
        QStringList offered;
        m_window->setRecoveryPrompt([&](const QString& file) {
            offered << file;
            return true;
        });
        QCOMPARE(test::waitForJob(m_window->offerRecovery()), ui::JobState::Succeeded);
        QCOMPARE(offered, QStringList{m_window->recoveryFile()});
        QTRY_COMPARE(int(m_controller->workspace()->runs().size()), 1);
        QCOMPARE(m_controller->workspace()->plan()->row(3).scheme.grid.bits, 2);
        QVERIFY(m_controller->workspace()->isModified());  // still unsaved
        QVERIFY(m_controller->workspace()->sessionFile().isEmpty());
    }

    void declinedRecoveryIsDeleted() {
        openDemo();
        m_controller->workspace()->plan()->setField(3, ui::PlanField::Bits, 2);
        QCOMPARE(test::waitForJob(m_window->autosave()), ui::JobState::Succeeded);
        makeWindow();
        m_window->setRecoveryPrompt([](const QString&) { return false; });
        QVERIFY(!m_window->offerRecovery());
        QVERIFY(!QFileInfo::exists(m_window->recoveryFile()));
    }

    // --- preset box, compare, refused edits, history ------------------------------------

    void thePresetBoxShowsThePlansRealStateOrCustom() {
        openDemo();
        auto* combo = m_window->planView()->presetCombo();
        QCOMPARE(combo->currentText(), QStringLiteral("All W4 g128 RTN"));  // the default plan: rtn w4 g128 asym
        m_controller->workspace()->plan()->setField(0, ui::PlanField::Bits, 8);
        QCOMPARE(combo->currentText(), QStringLiteral("custom"));
        m_window->planView()->applyPreset(ui::PlanPreset::W4G128Gptq);
        QCOMPARE(combo->currentText(), QStringLiteral("All W4 g128 GPTQ"));
        m_controller->workspace()->plan()->undoStack()->undo();
        QCOMPARE(combo->currentText(), QStringLiteral("custom"));
    }

    void compareDefaultsToTheLatestTwoRunsThenBaselineAndLatest() {
        openDemo();
        auto* ws = m_controller->workspace();
        auto* results = m_window->resultsView();
        ws->addRun(fakeRun(4.5, 3.2));
        QVERIFY(results->compareA()->currentIndex() < 0);  // one run: nothing to compare it with, never A = B
        const int first = ws->addRun(fakeRun(4.5, 3.1))->id;
        const int second = ws->addRun(fakeRun(8.5, 3.0))->id;
        QCOMPARE(results->compareA()->currentData().toInt(), first);
        QCOMPARE(results->compareB()->currentData().toInt(), second);
        QVERIFY(results->findChild<QTableWidget*>(QStringLiteral("compareTable"))->item(0, 3)->text() != QStringLiteral("0.0000"));

        ui::RunRecord fp16 = fakeRun(16.0, 2.9);
        fp16.kind = ui::RunKind::Fp16Baseline;
        fp16.precision = "FP16";
        ws->setBaselines({fp16});
        QCOMPARE(results->compareA()->currentText(), QStringLiteral("baseline (FP16)"));
        QCOMPARE(results->compareB()->currentData().toInt(), second);
    }

    void everyWidthFromTwoToEightCanBeTyped() {
        // Issue 15: 5, 6 and 7 joined 2, 3, 4 and 8; the box takes every width of core's list and
        // nothing outside it (9 is not a width the checkpoint's bit streams hold).
        openDemo();
        m_window->tabs()->setCurrentWidget(m_window->planView());
        auto* bits = m_window->planView()->bulkBits();
        bits->setFocus();
        for (const int width : {5, 6, 7}) {
            bits->findChild<QLineEdit*>()->selectAll();
            QTest::keyClicks(bits, QString::number(width));
            QTest::keyClick(bits, Qt::Key_Return);
            QCOMPARE(bits->value(), width);
        }
        bits->findChild<QLineEdit*>()->selectAll();
        QTest::keyClicks(bits, QStringLiteral("9"));
        QTest::keyClick(bits, Qt::Key_Return);
        QCOMPARE(bits->value(), 7);
    }

    void undoHistoryNamesTheValueAndTheModules() {
        openDemo();
        auto* plan = m_controller->workspace()->plan();
        QList<int> downProjOfLayers0To3;
        for (int layer = 0; layer < 4; ++layer) downProjOfLayers0To3 << layer * kModulesPerLayer + kDownProj;
        plan->setFieldForRows(downProjOfLayers0To3, ui::PlanField::Bits, 8);
        QCOMPARE(plan->undoStack()->undoText(), QStringLiteral("Set bits = 8 on mlp.down_proj of layers 0–3"));
        plan->setField(2 * kModulesPerLayer, ui::PlanField::GroupSize, -1);
        QCOMPARE(plan->undoStack()->undoText(), QStringLiteral("Set group size = per row on self_attn.q_proj of layer 2"));
        plan->setFieldForRows({0, 1, 7}, ui::PlanField::Bits, 3);
        QCOMPARE(plan->undoStack()->undoText(), QStringLiteral("Set bits = 3 on self_attn.q_proj of layers 0–1 and self_attn.k_proj of layer 0"));
    }

    // --- plot layout --------------------------------------------------------------------

    void aDeltaThatRoundsToZeroHasNoSign() {
        QCOMPARE(ui::deltaText(-0.0004, 2), QStringLiteral("0.00 %"));
        QCOMPARE(ui::deltaText(0.0004, 1), QStringLiteral("0.0 %"));
        QCOMPARE(ui::deltaText(-1.234, 2), QStringLiteral("-1.23 %"));
        QCOMPARE(ui::deltaText(1.234, 1), QStringLiteral("+1.2 %"));
    }

    void theWeightHistogramLegendSitsOutsideTheAxes() {
        std::unique_ptr<QCustomPlot> plot(ui::createWeightHistogramPlot());
        QVERIFY(plot->legend->layout() != plot->axisRect()->insetLayout());
        plot->resize(500, 320);
        plot->replot();
        QVERIFY(!plot->axisRect()->outerRect().intersects(plot->legend->outerRect()));
    }

    void theHeatmapKeepsTheLastChannelsLabelAndMarkerInside() {
        constexpr int kChannels = 172, kTokens = 8;
        core::ActivationStats stats;
        stats.inFeatures = kChannels;
        stats.tokens = kTokens;
        stats.sample = core::MatrixRM::Constant(kTokens, kChannels, 0.5f);
        stats.sample.col(kChannels - 1).setConstant(40.0f);
        stats.outliers.push_back({kChannels - 1, 40.0, core::OutlierRule::Relative, 0.0});
        std::unique_ptr<QCustomPlot> plot(ui::createActivationHeatmapPlot());
        plot->resize(600, 360);
        ui::fillActivationHeatmap(plot.get(), &stats, QStringLiteral("test"));
        QCPItemText* label = nullptr;
        for (int i = 0; i < plot->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(plot->item(i)); t && t->text() == QStringLiteral("ch 171")) label = t;
        QVERIFY(label);
        QVERIFY(label->positionAlignment() & Qt::AlignRight);  // grows leftwards, into the plot
        // The ▼ marker (10 px) over channel 171 lies inside the axis rect.
        const double markerX = plot->xAxis->coordToPixel(kChannels - 1);
        QVERIFY(markerX + 5 < plot->axisRect()->right());
    }

    // --- the compute device ---------------------------------------------------------------

    void theStatusBarNamesTheDeviceAndTheRunMenuChoosesIt() {
        // Only the CPU here (no GPU in CI): one checked action, the label names it, and
        // choosing it sets the registry's preferred backend.
        auto* label = m_window->findChild<QLabel*>(QStringLiteral("deviceLabel"));
        QVERIFY(label);
        QCOMPARE(label->text(), QStringLiteral("Device: cpu"));
        QVERIFY(!label->toolTip().isEmpty());
        QAction* cpu = m_window->findChild<QAction*>(QStringLiteral("actionDevice_cpu"));
        QVERIFY(cpu);
        QVERIFY(cpu->isCheckable() && cpu->isChecked());
        cpu->trigger();
        QCOMPARE(QString::fromStdString(core::BackendRegistry::instance().preferred()->name()), QStringLiteral("cpu"));
        QCOMPARE(label->text(), QStringLiteral("Device: cpu"));
    }
    void everyJobSaysWhichDeviceItRanOn() {
        ui::JobTableModel table(m_controller->jobs());
        openDemo();
        QVERIFY(table.rowCount() >= 1);
        QCOMPARE(table.headerData(ui::JobTableModel::Device, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("Device"));
        QCOMPARE(table.data(table.index(table.rowCount() - 1, ui::JobTableModel::Device)).toString(), QStringLiteral("cpu"));
    }

private:
    void makeWindow() {
        m_window.reset();
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_controller->evaluateSettings().textFile = test::bundledText("eval.txt");
        m_controller->evaluateSettings().ctx = 64;
        m_controller->evaluateSettings().maxWindows = 4;
        m_controller->calibrationSettings().textFile = test::bundledText("calib.txt");
        m_controller->calibrationSettings().ctx = 64;
        m_controller->calibrationSettings().windows = 4;
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->setRecoveryFile(QString::fromStdString((m_scratch / "recovery.h5").string()));
        m_window->setUnsavedPrompt([](const QString& action) -> ui::UnsavedChoice {
            qFatal("unexpected unsaved-work prompt before %s", qPrintable(action));
        });
        m_window->show();
    }

    void openDemo() { QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded); }

    std::filesystem::path m_scratch;
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestDailyUse)
#include "test_daily_use.moc"
