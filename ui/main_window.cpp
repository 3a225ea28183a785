#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QUndoStack>

#include "ui/jobs/job_queue.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/util/recent_files.h"
#include "ui/views/jobs_view.h"
#include "ui/views/log_view.h"
#include "ui/views/model_view.h"
#include "ui/views/outliers_view.h"
#include "ui/views/overview_view.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/views/start_view.h"
#include "ui/workbench_controller.h"

namespace qb::ui {

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
    connect(m_controller, &WorkbenchController::errorOccurred, this, &MainWindow::showError);
    connect(m_controller, &WorkbenchController::statusReported, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
    connect(m_controller, &WorkbenchController::logged, m_logView, &LogView::appendLine);
    connect(m_controller->jobs(), &JobQueue::logged, m_logView, &LogView::appendLine);
    connect(m_planView, &PlanView::errorOccurred, this, &MainWindow::showError);
    connect(m_resultsView, &ResultsView::evaluateRequested, m_controller, &WorkbenchController::evaluateBaseline);
    connect(m_resultsView, &ResultsView::quantizeRequested, m_controller, &WorkbenchController::quantizeWithPlan);
    connect(m_resultsView, &ResultsView::benchmarkRequested, m_controller, &WorkbenchController::benchmarkRuns);
    connect(m_startView, &StartView::openDemoRequested, m_controller, &WorkbenchController::openDemoModel);
    connect(m_startView, &StartView::openFolderRequested, this, &MainWindow::openFolderDialog);
    connect(m_startView, &StartView::openSessionRequested, this, &MainWindow::openSessionDialog);
    connect(m_startView, &StartView::openPathRequested, m_controller, &WorkbenchController::openPath);

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
    make(file, tr("Open the Bundled &Demo Model"), QStringLiteral("actionOpenDemo"), {}, [this] { m_controller->openDemoModel(); });
    make(file, tr("Open &Session…"), QStringLiteral("actionOpenSession"), QKeySequence(tr("Ctrl+Shift+O")), [this] { openSessionDialog(); });
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    connect(m_controller->recentFiles(), &RecentFiles::changed, this, &MainWindow::updateRecentMenu);
    updateRecentMenu();
    file->addSeparator();
    make(file, tr("&Save Session"), QStringLiteral("actionSaveSession"), QKeySequence::Save, [this] { saveSessionDialog(false); });
    make(file, tr("Save Session &As…"), QStringLiteral("actionSaveSessionAs"), QKeySequence(tr("Ctrl+Shift+S")), [this] { saveSessionDialog(true); });
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
    make(run, tr("&Quantize with Plan"), QStringLiteral("actionQuantize"), QKeySequence(Qt::Key_F5), [this] { m_controller->quantizeWithPlan(); });
    make(run, tr("&Inspect Outliers and Sensitivity"), QStringLiteral("actionInspect"), QKeySequence(Qt::Key_F6), [this] { m_controller->inspect(); });
    make(run, tr("&Evaluate Baseline Perplexity"), QStringLiteral("actionEvaluate"), QKeySequence(Qt::Key_F7), [this] { m_controller->evaluateBaseline(); });
    make(run, tr("&Benchmark Runs"), QStringLiteral("actionBenchmark"), QKeySequence(Qt::Key_F8), [this] { m_controller->benchmarkRuns(); });
    run->addSeparator();
    make(run, tr("&Cancel Job"), QStringLiteral("actionCancel"), QKeySequence(tr("Ctrl+.")), [this] { m_jobsView->cancelSelected(); });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    make(help, tr("&About quantbench"), QStringLiteral("actionAbout"), {}, [this] {
        QMessageBox::about(this, tr("About quantbench"),
                           tr("<b>quantbench %1</b><br>Post-training quantization workbench for LLMs.").arg(QStringLiteral(QB_VERSION)));
    });
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    const QStringList entries = m_controller->recentFiles()->entries();
    for (const QString& path : entries)
        m_recentMenu->addAction(path, this, [this, path] { m_controller->openPath(path); });
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
    if (hasModel) title = QString::fromStdString(ws->model()->label) + QStringLiteral(" — ") + title;
    if (!ws->sessionFile().isEmpty()) title = QFileInfo(ws->sessionFile()).fileName() + QStringLiteral(" · ") + title;
    setWindowTitle(title);
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
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder (config.json + *.safetensors)"));
    if (!dir.isEmpty()) m_controller->openModelFolder(dir);
}

void MainWindow::openSessionDialog() {
    const QString file = QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("quantbench sessions (*.h5 *.hdf5);;All files (*)"));
    if (!file.isEmpty()) m_controller->openSession(file);
}

void MainWindow::saveSessionDialog(bool askForName) {
    QString file = m_controller->workspace()->sessionFile();
    if (askForName || file.isEmpty()) {
        file = QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.h5"), tr("quantbench sessions (*.h5)"));
        if (file.isEmpty()) return;
        if (QFileInfo(file).suffix().isEmpty()) file += QStringLiteral(".h5");
    }
    m_controller->saveSession(file);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    m_controller->jobs()->cancelAll();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.first().isLocalFile()) {
        m_controller->openPath(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

}  // namespace qb::ui
