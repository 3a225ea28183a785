#pragma once
// File → Export Report…: the report of the current session (issue 13) as HTML, PDF, Markdown,
// CSV or JSON, with the runs to include, the author of the title block (saved as QSettings
// "report/author") and a preview (the Markdown summary of the selected runs, updated as runs
// are ticked). The report is written by writeReport, as quantbench-cli report writes it, from
// the session file as last saved.

#include <QDialog>
#include <QString>

#include <memory>

#include "core/store/session_data.h"

class QLabel;
class QComboBox;
class QLineEdit;
class QListWidget;
class QTextBrowser;

namespace qb::ui {

class ExportReportDialog : public QDialog {
    Q_OBJECT
public:
    /// Reads sessionFile (a failure shows its one-line error in the dialog, and Export stays
    /// disabled). unsavedChanges adds a line saying the report shows the session as last saved.
    ExportReportDialog(const QString& sessionFile, bool unsavedChanges, QWidget* parent = nullptr);
    ~ExportReportDialog() override;

    /// Writes the report to file with the dialog's runs and author; true on success (the error
    /// is shown in the dialog otherwise).
    bool exportTo(const QString& file);
    /// The preview's text (the Markdown summary of the selected runs).
    [[nodiscard]] QString previewText() const;

private:
    void updatePreview();
    void browse();
    [[nodiscard]] std::vector<int> selectedRuns() const;

    QString m_sessionFile;
    std::shared_ptr<const core::SessionData> m_session;
    QListWidget* m_runs = nullptr;
    QLineEdit* m_author = nullptr;
    QComboBox* m_paper = nullptr;
    QLineEdit* m_output = nullptr;
    QTextBrowser* m_preview = nullptr;
    QLabel* m_status = nullptr;
};

/// Shows the dialog for the workspace's session; without a saved session file, says to save
/// first. parent: the main window.
void showExportReportDialog(QWidget* parent, const QString& sessionFile, bool unsavedChanges);

}  // namespace qb::ui
