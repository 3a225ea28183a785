#pragma once
// MainWindow — wires the workbench together and does nothing else: the Model, Jobs and Log
// docks, the central views (start screen, then Outliers / Overview / Plan / Results), the
// menus, shortcuts and drag & drop, and QSettings for geometry and dock state. Operations
// live in WorkbenchController; documents in Workspace.

#include <QMainWindow>

class QAction;
class QMenu;
class QStackedWidget;
class QTabWidget;

namespace qb::ui {

class JobsView;
class LogView;
class ModelView;
class OutliersView;
class OverviewView;
class PlanView;
class ResultsView;
class StartView;
class WorkbenchController;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
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
    void saveSessionDialog(bool askForName);

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
};

}  // namespace qb::ui
