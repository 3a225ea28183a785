#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QUndoStack>

#include "ui/export/export_model_dialog.h"
#include "ui/jobs/job.h"
#include "ui/jobs/job_queue.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/report/export_report_dialog.h"
#include "ui/util/app_paths.h"
#include "ui/util/device_choice.h"
#include "ui/util/qt_convert.h"
#include "ui/util/recent_files.h"
#include "ui/views/help_dialogs.h"
#include "ui/views/jobs_view.h"
#include "ui/views/log_view.h"
#include "ui/views/model_view.h"
#include "ui/views/optimize_bar.h"
#include "ui/views/outliers_view.h"
#include "ui/views/overview_view.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/views/start_view.h"
#include "ui/workbench_controller.h"

namespace qb::ui {

namespace {

constexpr int kAutosaveIntervalMs = 60 * 1000;

UnsavedChoice askAboutUnsavedWork(QWidget* parent, const QString& action) {
    QMessageBox box(QMessageBox::Warning, QObject::tr("Unsaved work"),
                    QObject::tr("The session has changes that are not saved. Save them before %1?").arg(action),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, parent);
    box.setDefaultButton(QMessageBox::Save);
    switch (box.exec()) {
        case QMessageBox::Save: return UnsavedChoice::Save;
        case QMessageBox::Discard: return UnsavedChoice::Discard;
        default: return UnsavedChoice::Cancel;
    }
}

}  // namespace

MainWindow::MainWindow(WorkbenchController* controller, QWidget* parent) : QMainWindow(parent), m_controller(controller) {
    setObjectName(QStringLiteral("MainWindow"));
    setAcceptDrops(true);
    setDockNestingEnabled(true);
    createCentral();
    createDocks();
    createMenus();
    statusBar()->showMessage(tr("Ready"));

    Workspace* ws = m_controller->workspace();
    connect(ws, &Workspace::modelChanged, this, &MainWindow::updateTitleAndActions);
    connect(ws, &Workspace::sessionFileChanged, this, &MainWindow::updateTitleAndActions);
    connect(ws, &Workspace::modifiedChanged, this, [this](bool modified) {
        setWindowModified(modified);
        if (!modified) removeRecoveryFile();  // saved or discarded: nothing left to recover
    });
    connect(m_planView, &PlanView::statusReported, this, [this](const QString& m) { statusBar()->showMessage(m, 10000); });
    connect(m_controller, &WorkbenchController::errorOccurred, this, &MainWindow::showError);
    connect(m_controller, &WorkbenchController::statusReported, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
    connect(m_controller, &WorkbenchController::logged, m_logView, &LogView::appendLine);
    connect(m_controller->jobs(), &JobQueue::logged, m_logView, &LogView::appendLine);
    connect(m_planView, &PlanView::errorOccurred, this, &MainWindow::showError);
    connect(m_planView->optimizeBar(), &OptimizeBar::optimizeRequested, this,
            [this](const AutoPlanRequest& request) { m_planView->optimizeBar()->watch(m_controller->optimizePlan(request)); });
    connect(m_controller, &WorkbenchController::planOptimized, m_planView->optimizeBar(), &OptimizeBar::showSummary);
    connect(m_resultsView, &ResultsView::evaluateRequested, m_controller, &WorkbenchController::evaluateBaseline);
    connect(m_resultsView, &ResultsView::quantizeRequested, this, &MainWindow::quantize);
    connect(m_resultsView, &ResultsView::benchmarkRequested, m_controller, &WorkbenchController::benchmarkRuns);
    connect(m_resultsView, &ResultsView::calibrationTextChosen, m_controller, &WorkbenchController::setCalibrationText);
    connect(m_resultsView, &ResultsView::evaluationTextChosen, m_controller, &WorkbenchController::setEvaluationText);
    const auto showTexts = [this] {
        m_resultsView->showTexts(m_controller->calibrationTextLabel(), m_controller->calibrationTextIsBundled(),
                                 m_controller->evaluationTextLabel(), m_controller->evaluationTextIsBundled());
    };
    connect(m_controller, &WorkbenchController::textsChanged, this, showTexts);
    showTexts();
    connect(m_startView, &StartView::openDemoRequested, m_controller, &WorkbenchController::openDemoModel);
    connect(m_startView, &StartView::openFolderRequested, this, &MainWindow::openFolderDialog);
    connect(m_startView, &StartView::openSessionRequested, this, &MainWindow::openSessionDialog);
    connect(m_startView, &StartView::openPathRequested, m_controller, &WorkbenchController::openPath);

    m_recoveryFile = qb::ui::recoveryFile();
    m_unsavedPrompt = [this](const QString& action) { return askAboutUnsavedWork(this, action); };
    m_recoveryPrompt = [this](const QString&) {
        return QMessageBox::question(this, tr("Recover unsaved work"),
                                     tr("quantbench did not end cleanly last time. Restore the unsaved work it kept?")) == QMessageBox::Yes;
    };
    m_duplicatePrompt = [this](const QString& existing) {
        QMessageBox box(QMessageBox::Question, tr("Same plan as %1").arg(existing),
                        tr("%1 already quantized this plan with the same calibration text and protocol. Quantize it again?").arg(existing),
                        QMessageBox::Cancel, this);
        QPushButton* show = box.addButton(tr("Show %1").arg(existing), QMessageBox::AcceptRole);
        QPushButton* again = box.addButton(tr("Quantize again"), QMessageBox::DestructiveRole);
        box.setDefaultButton(show);
        box.exec();
        return box.clickedButton() == show ? DuplicateChoice::ShowExisting
               : box.clickedButton() == again ? DuplicateChoice::QuantizeAgain
                                              : DuplicateChoice::Cancel;
    };
    m_autosaveTimer = new QTimer(this);
    m_autosaveTimer->setInterval(kAutosaveIntervalMs);
    connect(m_autosaveTimer, &QTimer::timeout, this, &MainWindow::autosave);
    m_autosaveTimer->start();

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray())) resize(1500, 950);
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
    updateTitleAndActions();
}

void MainWindow::createCentral() {
    Workspace* ws = m_controller->workspace();
    m_startView = new StartView(m_controller->recentFiles(), this);
    m_outliersView = new OutliersView(ws, this);
    m_overviewView = new OverviewView(ws, this);
    m_planView = new PlanView(ws, this);
    m_resultsView = new ResultsView(ws, &m_controller->evaluateSettings(), &m_controller->calibrationSettings(), this);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_outliersView, tr("Outliers"));
    m_tabs->addTab(m_overviewView, tr("Overview"));
    m_tabs->addTab(m_planView, tr("Plan"));
    m_tabs->addTab(m_resultsView, tr("Results"));
    // The open tab lives in the workspace (a session restores it); the tabs follow it both ways.
    connect(m_tabs, &QTabWidget::currentChanged, this, [this, ws] { ws->setOpenView(m_tabs->currentWidget()->objectName()); });
    connect(ws, &Workspace::openViewChanged, this, [this](const QString& view) {
        for (int i = 0; i < m_tabs->count(); ++i)
            if (m_tabs->widget(i)->objectName() == view) m_tabs->setCurrentIndex(i);
    });
    ws->setOpenView(m_tabs->currentWidget()->objectName());
    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_startView);
    m_stack->addWidget(m_tabs);
    setCentralWidget(m_stack);
}

void MainWindow::createDocks() {
    const auto addDock = [this](QWidget* content, const QString& title, const QString& name, Qt::DockWidgetArea area) {
        auto* dock = new QDockWidget(title, this);
        dock->setObjectName(name);
        dock->setWidget(content);
        addDockWidget(area, dock);
        return dock;
    };
    m_modelView = new ModelView(m_controller->workspace(), this);
    m_jobsView = new JobsView(m_controller->jobs(), this);
    m_logView = new LogView(this);
    auto* model = addDock(m_modelView, tr("Model"), QStringLiteral("modelDock"), Qt::LeftDockWidgetArea);
    auto* jobs = addDock(m_jobsView, tr("Jobs"), QStringLiteral("jobsDock"), Qt::BottomDockWidgetArea);
    auto* log = addDock(m_logView, tr("Log"), QStringLiteral("logDock"), Qt::BottomDockWidgetArea);
    splitDockWidget(jobs, log, Qt::Horizontal);
    resizeDocks({model}, {520}, Qt::Horizontal);
    resizeDocks({jobs}, {190}, Qt::Vertical);
}

QAction* MainWindow::action(const QString& objectName) const { return findChild<QAction*>(objectName); }

void MainWindow::createMenus() {
    Workspace* ws = m_controller->workspace();
    const auto make = [this](QMenu* menu, const QString& text, const QString& name, const QKeySequence& key, auto slot) {
        QAction* a = menu->addAction(text);
        a->setObjectName(name);
        if (!key.isEmpty()) a->setShortcut(key);
        connect(a, &QAction::triggered, this, slot);
        return a;
    };
    QMenu* file = menuBar()->addMenu(tr("&File"));
    make(file, tr("&Open Model Folder…"), QStringLiteral("actionOpenModel"), QKeySequence::Open, [this] { openFolderDialog(); });
    make(file, tr("Open the Bundled &Demo Model"), QStringLiteral("actionOpenDemo"), {},
         [this] { whenSafeToDiscard(tr("opening another model"), [this] { m_controller->openDemoModel(); }); });
    make(file, tr("Open &Session…"), QStringLiteral("actionOpenSession"), QKeySequence(tr("Ctrl+Shift+O")), [this] { openSessionDialog(); });
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    connect(m_controller->recentFiles(), &RecentFiles::changed, this, &MainWindow::updateRecentMenu);
    updateRecentMenu();
    file->addSeparator();
    make(file, tr("&Save Session"), QStringLiteral("actionSaveSession"), QKeySequence::Save, [this] { saveSessionDialog(false); });
    make(file, tr("Save Session &As…"), QStringLiteral("actionSaveSessionAs"), QKeySequence(tr("Ctrl+Shift+S")), [this] { saveSessionDialog(true); });
    make(file, tr("Export &Report…"), QStringLiteral("actionExportReport"), QKeySequence(tr("Ctrl+Shift+E")), [this, ws] {
        showExportReportDialog(this, ws->sessionFile(), ws->isModified());
    });
    make(file, tr("Export &Quantized Model…"), QStringLiteral("actionExportModel"), {}, [this, ws] { showExportModelDialog(this, *ws); });
    file->addSeparator();
    make(file, tr("&Quit"), QStringLiteral("actionQuit"), QKeySequence::Quit, [this] { close(); });

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = ws->plan()->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setObjectName(QStringLiteral("actionUndo"));
    undo->setShortcut(QKeySequence(tr("Ctrl+Z")));
    QAction* redo = ws->plan()->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setObjectName(QStringLiteral("actionRedo"));
    redo->setShortcuts({QKeySequence(tr("Ctrl+Shift+Z")), QKeySequence(tr("Ctrl+Y"))});
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    make(edit, tr("&Load Plan…"), QStringLiteral("actionLoadPlan"), {}, [this] { m_planView->loadPlanInteractive(); });
    make(edit, tr("Sa&ve Plan…"), QStringLiteral("actionSavePlan"), {}, [this] { m_planView->savePlanInteractive(); });

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    make(run, tr("&Quantize with Plan"), QStringLiteral("actionQuantize"), QKeySequence(Qt::Key_F5), [this] { quantize(); });
    make(run, tr("&Inspect Outliers and Sensitivity"), QStringLiteral("actionInspect"), QKeySequence(Qt::Key_F6), [this] { m_controller->inspect(); });
    make(run, tr("&Evaluate Baseline Perplexity"), QStringLiteral("actionEvaluate"), QKeySequence(Qt::Key_F7), [this] { m_controller->evaluateBaseline(); });
    make(run, tr("&Benchmark Runs"), QStringLiteral("actionBenchmark"), QKeySequence(Qt::Key_F8), [this] { m_controller->benchmarkRuns(); });
    run->addSeparator();
    installDeviceChoice(run, statusBar());
    run->addSeparator();
    make(run, tr("&Cancel Job"), QStringLiteral("actionCancel"), QKeySequence(tr("Ctrl+.")), [this] { m_jobsView->cancelSelected(); });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    make(help, tr("&Getting Started"), QStringLiteral("actionGettingStarted"), {}, [this] { createGettingStartedDialog(this)->show(); });
    make(help, tr("&Keyboard Shortcuts"), QStringLiteral("actionShortcuts"), QKeySequence(Qt::Key_F1),
         [this] { createShortcutsDialog(menuShortcuts(menuBar()), this)->show(); });
    help->addSeparator();
    make(help, tr("&About quantbench"), QStringLiteral("actionAbout"), {}, [this] {
        QMessageBox::about(this, tr("About quantbench"),
                           tr("<b>quantbench %1</b><br>Post-training quantization workbench for LLMs.").arg(QStringLiteral(QB_VERSION)));
    });
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    const QStringList entries = m_controller->recentFiles()->entries();
    for (const QString& path : entries)
        m_recentMenu->addAction(path, this, [this, path] {
            whenSafeToDiscard(tr("opening %1").arg(path), [this, path] { m_controller->openPath(path); });
        });
    if (entries.isEmpty()) m_recentMenu->addAction(tr("(empty)"))->setEnabled(false);
    else {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("Clear"), m_controller->recentFiles(), &RecentFiles::clear);
    }
}

void MainWindow::updateTitleAndActions() {
    Workspace* ws = m_controller->workspace();
    const bool hasModel = ws->hasModel();
    m_stack->setCurrentWidget(hasModel ? static_cast<QWidget*>(m_tabs) : m_startView);
    QString title = QStringLiteral("quantbench");
    if (hasModel) title = QString::fromStdString(ws->model()->label) + QStringLiteral("[*] — ") + title;
    if (!ws->sessionFile().isEmpty()) title = QFileInfo(ws->sessionFile()).fileName() + QStringLiteral(" · ") + title;
    setWindowTitle(title);
    setWindowModified(ws->isModified());
    for (const char* name : {"actionSaveSession", "actionSaveSessionAs", "actionQuantize", "actionInspect", "actionEvaluate",
                             "actionBenchmark", "actionLoadPlan", "actionSavePlan"})
        if (QAction* a = action(QLatin1String(name))) a->setEnabled(hasModel);
}

void MainWindow::showError(const QString& title, const QString& message) {
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();  // window-modal, returns at once: no nested event loop
    statusBar()->showMessage(message, 15000);
}

void MainWindow::openFolderDialog() {
    whenSafeToDiscard(tr("opening another model"), [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder (config.json + *.safetensors)"));
        if (!dir.isEmpty()) m_controller->openModelFolder(dir);
    });
}

void MainWindow::openSessionDialog() {
    whenSafeToDiscard(tr("opening another session"), [this] {
        const QString file =
            QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("quantbench sessions (*.h5 *.hdf5);;All files (*)"));
        if (!file.isEmpty()) m_controller->openSession(file);
    });
}

Job* MainWindow::saveSessionDialog(bool askForName) {
    QString file = m_controller->workspace()->sessionFile();
    if (askForName || file.isEmpty()) {
        file = QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.h5"), tr("quantbench sessions (*.h5)"));
        if (file.isEmpty()) return nullptr;
        if (QFileInfo(file).suffix().isEmpty()) file += QStringLiteral(".h5");
    }
    return m_controller->saveSession(file);
}

void MainWindow::whenSafeToDiscard(const QString& action, std::function<void()> proceed) {
    if (!m_controller->workspace()->isModified()) {
        proceed();
        return;
    }
    switch (m_unsavedPrompt(action)) {
        case UnsavedChoice::Cancel: return;
        case UnsavedChoice::Discard: proceed(); return;
        case UnsavedChoice::Save: break;
    }
    Job* job = saveSessionDialog(false);
    if (!job) return;  // no file chosen: nothing saved, nothing lost
    connect(job, &Job::finished, this, [proceed = std::move(proceed)](JobState state) {
        if (state == JobState::Succeeded) proceed();
    });
}

Job* MainWindow::quantize() {
    const RunPtr existing = m_controller->duplicateRun();
    if (!existing) return m_controller->quantizeWithPlan();
    const QString title = toQString(existing->name);
    switch (m_duplicatePrompt(title)) {
        case DuplicateChoice::QuantizeAgain: return m_controller->quantizeWithPlan();
        case DuplicateChoice::ShowExisting:
            m_tabs->setCurrentWidget(m_resultsView);
            m_resultsView->showRun(existing->id);
            statusBar()->showMessage(tr("%1 has the same plan and calibration protocol").arg(title), 8000);
            return nullptr;
        case DuplicateChoice::Cancel: return nullptr;
    }
    return nullptr;
}

Job* MainWindow::autosave() {
    if (!m_controller->workspace()->isModified() || m_recoveryFile.isEmpty()) return nullptr;
    return m_controller->saveRecoveryCopy(m_recoveryFile);
}

Job* MainWindow::offerRecovery() {
    if (m_recoveryFile.isEmpty() || !QFileInfo::exists(m_recoveryFile)) return nullptr;
    if (!m_recoveryPrompt(m_recoveryFile)) {
        removeRecoveryFile();
        return nullptr;
    }
    return m_controller->openRecoveryCopy(m_recoveryFile);
}

void MainWindow::removeRecoveryFile() {
    if (!m_recoveryFile.isEmpty()) QFile::remove(m_recoveryFile);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!m_closeConfirmed && m_controller->workspace()->isModified()) {
        event->ignore();  // asked below; closes again once saved or discarded
        whenSafeToDiscard(tr("quitting"), [this] {
            m_closeConfirmed = true;
            QTimer::singleShot(0, this, &QWidget::close);
        });
        return;
    }
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    m_controller->jobs()->cancelAll();
    m_autosaveTimer->stop();
    removeRecoveryFile();  // a clean end: the work was saved or the user discarded it
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.first().isLocalFile()) {
        const QString path = urls.first().toLocalFile();
        event->acceptProposedAction();
        whenSafeToDiscard(tr("opening %1").arg(path), [this, path] { m_controller->openPath(path); });
    }
}

}  // namespace qb::ui
