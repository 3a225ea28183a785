#pragma once
// StartView — what the window shows while no model is open (instead of empty plots): open the
// bundled demo model, a model folder or a session, or one of the recent files, and a short
// "Getting started" panel (the steps from a model to compared runs, and where the keys are listed). Emits requests; MainWindow wires them.

#include <QWidget>

class QListWidget;
class QPushButton;

namespace qb::ui {

class RecentFiles;

class StartView : public QWidget {
    Q_OBJECT
public:
    StartView(RecentFiles* recent, QWidget* parent = nullptr);

    [[nodiscard]] QPushButton* demoButton() const { return m_demo; }

signals:
    void openDemoRequested();
    void openFolderRequested();
    void openSessionRequested();
    void openPathRequested(const QString& path);

private:
    void refreshRecent();

    RecentFiles* m_recent;
    QPushButton* m_demo;
    QListWidget* m_list;
};

}  // namespace qb::ui
