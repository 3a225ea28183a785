#pragma once
// MainWindow — wires the workbench together and does nothing else: the Model, Jobs and Log
// docks, the central views (start screen, then Outliers / Overview / Plan / Results), the
// menus, shortcuts and drag & drop, and QSettings for geometry and dock state. Operations
// live in WorkbenchController; documents in Workspace.

#include <functional>

#include <QMainWindow>

class QAction;
class QMenu;
class QStackedWidget;
class QTabWidget;
class QTimer;

namespace qb::ui {

class Job;
class JobsView;
class LogView;
class ModelView;
class OutliersView;
class OverviewView;
class PlanView;
class ResultsView;
class StartView;
class WorkbenchController;

/// What the user answers when unsaved work would be lost.
enum class UnsavedChoice { Save, Discard, Cancel };
/// What the user answers when the plan about to be quantized repeats an existing run.
enum class DuplicateChoice { ShowExisting, QuantizeAgain, Cancel };

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// Asks what to do with unsaved work before `action` ("quitting", "opening another model");
    /// the default shows a Save / Discard / Cancel box. Tests replace it (no modal dialog).
    using UnsavedPrompt = std::function<UnsavedChoice(const QString& action)>;
    /// Asks whether to restore the recovery file (unsaved work of a session that did not end
    /// cleanly); the default shows a Yes / No box.
    using RecoveryPrompt = std::function<bool(const QString& file)>;
    /// Asks what to do when the plan and calibration protocol repeat run `existing` (its title);
    /// the default shows a Show / Quantize again / Cancel box. Tests replace it.
    using DuplicatePrompt = std::function<DuplicateChoice(const QString& existing)>;

    /// controller is not owned; it must outlive the window.
    explicit MainWindow(WorkbenchController* controller, QWidget* parent = nullptr);

    [[nodiscard]] WorkbenchController* controller() const { return m_controller; }
    [[nodiscard]] ModelView* modelView() const { return m_modelView; }
    [[nodiscard]] JobsView* jobsView() const { return m_jobsView; }
    [[nodiscard]] LogView* logView() const { return m_logView; }
    [[nodiscard]] StartView* startView() const { return m_startView; }
    [[nodiscard]] OutliersView* outliersView() const { return m_outliersView; }
    [[nodiscard]] OverviewView* overviewView() const { return m_overviewView; }
    [[nodiscard]] PlanView* planView() const { return m_planView; }
    [[nodiscard]] ResultsView* resultsView() const { return m_resultsView; }
    [[nodiscard]] QTabWidget* tabs() const { return m_tabs; }
    /// The action with this objectName (e.g. "actionQuantize"), for tests.
    [[nodiscard]] QAction* action(const QString& objectName) const;

    /// Shows a non-blocking warning box with message and logs it.
    void showError(const QString& title, const QString& message);

    void setUnsavedPrompt(UnsavedPrompt prompt) { m_unsavedPrompt = std::move(prompt); }
    void setRecoveryPrompt(RecoveryPrompt prompt) { m_recoveryPrompt = std::move(prompt); }
    void setDuplicatePrompt(DuplicatePrompt prompt) { m_duplicatePrompt = std::move(prompt); }
    /// Quantize with the plan (F5): when an existing run has the same plan and calibration
    /// protocol, asks first; "show" opens the Results tab on that run. Returns the job, if any.
    Job* quantize();
    /// Runs proceed when nothing unsaved would be lost, or when the user saves (after the save
    /// succeeds) or discards it; does nothing on Cancel. action names what would lose it.
    void whenSafeToDiscard(const QString& action, std::function<void()> proceed);
    /// When the recovery file exists (unsaved work of a session that did not end cleanly),
    /// asks the recovery prompt and opens it (the job), or deletes it when declined.
    Job* offerRecovery();
    /// Writes the unsaved work to the recovery file now (the autosave timer does it every
    /// minute while the workspace is modified); nullptr when there is nothing to save.
    Job* autosave();
    /// Where autosave writes (recoveryFile(); tests point it elsewhere).
    void setRecoveryFile(const QString& file) { m_recoveryFile = file; }
    [[nodiscard]] const QString& recoveryFile() const { return m_recoveryFile; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createDocks();
    void createCentral();
    void createMenus();
    void updateRecentMenu();
    void updateTitleAndActions();
    void openFolderDialog();
    void openSessionDialog();
    Job* saveSessionDialog(bool askForName);
    void removeRecoveryFile();

    WorkbenchController* m_controller;
    ModelView* m_modelView = nullptr;
    JobsView* m_jobsView = nullptr;
    LogView* m_logView = nullptr;
    StartView* m_startView = nullptr;
    OutliersView* m_outliersView = nullptr;
    OverviewView* m_overviewView = nullptr;
    PlanView* m_planView = nullptr;
    ResultsView* m_resultsView = nullptr;
    QStackedWidget* m_stack = nullptr;
    QTabWidget* m_tabs = nullptr;
    QMenu* m_recentMenu = nullptr;
    QTimer* m_autosaveTimer = nullptr;
    QString m_recoveryFile;
    UnsavedPrompt m_unsavedPrompt;
    RecoveryPrompt m_recoveryPrompt;
    DuplicatePrompt m_duplicatePrompt;
    bool m_closeConfirmed = false;  ///< the user saved or discarded: close without asking again
};

}  // namespace qb::ui
