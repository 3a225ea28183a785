#pragma once
// File → Export quantized model…: a quantized model (one of the workbench's quantized runs, or a
// checkpoint folder quantize wrote) to a GGUF file or a GPTQ / AWQ / compressed-tensors folder.
// The dialog shows core's compatibility summary (summarizeExport: module → type, how, why,
// bytes; the expected size) for the chosen format, then runs core::exportAndCheck — the
// function quantbench-cli export calls — on a worker thread: the output is written, reloaded by
// the independent reader and checked, and removed when the check fails. Results and errors come
// back as signals; the error line shows the core's words, as the CLI prints them.

#include <QDialog>
#include <QFutureWatcher>
#include <QString>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/export/export_run.h"
#include "core/export/export_summary.h"
#include "core/model/llama_model.h"
#include "core/util/run_context.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace qb::ui {

class Workspace;

/// A quantized model the dialog can export.
struct ExportSource {
    QString label;                                  ///< "run 3 · rtn w4 g32"
    std::shared_ptr<const core::LlamaModel> model;  ///< the model in memory
    std::filesystem::path dir;                      ///< the folder of its config and tokenizer
};

class ExportModelDialog : public QDialog {
    Q_OBJECT
public:
    /// runs: the workbench's quantized runs, newest first (may be empty); the source combo lists
    /// them, then "Checkpoint folder…". The first source's summary is computed at once.
    explicit ExportModelDialog(std::vector<ExportSource> runs, QWidget* parent = nullptr);
    /// Stops a running export and waits for its thread.
    ~ExportModelDialog() override;

    /// Chooses a quantized checkpoint folder as the source (loaded on the worker thread).
    void setCheckpointFolder(const QString& dir);
    /// The summary on screen; nullptr while it is computed or when it failed.
    [[nodiscard]] const core::ExportSummary* summary() const { return m_summary ? &*m_summary : nullptr; }
    /// The result of the last export; nullopt before one finished.
    [[nodiscard]] const std::optional<core::ExportRunResult>& lastResult() const { return m_result; }
    [[nodiscard]] bool isBusy() const { return m_busy; }
    /// Starts the export with the dialog's settings (ignored while busy); exportFinished follows.
    void startExport();

signals:
    /// The summary table was refilled (or its error shown).
    void summaryChanged();
    /// An export ended: ok when written and checked; message is the status line shown.
    void exportFinished(bool ok, const QString& message);

private:
    struct SummaryOutcome {
        std::shared_ptr<const core::LlamaModel> model;
        std::filesystem::path dir;
        std::optional<core::ExportSummary> summary;
        QString error;
        int generation = 0;
    };
    struct ExportOutcome {
        std::optional<core::ExportRunResult> result;
        QString error;
    };

    void buildForm();
    void sourceChanged();
    void optionsChanged();
    void refreshSummary();
    void summaryDone();
    void exportDone();
    void browseFolder();
    void browseOutput();
    void fillTable();
    void setBusy(bool busy);
    void updateEnabled();
    [[nodiscard]] core::ExportTarget target() const;
    [[nodiscard]] QString defaultOutput() const;

    std::vector<ExportSource> m_runs;
    std::shared_ptr<const core::LlamaModel> m_model;  ///< the source model, once loaded
    std::filesystem::path m_dir;
    std::optional<core::ExportSummary> m_summary;
    std::optional<core::ExportRunResult> m_result;
    QFutureWatcher<SummaryOutcome> m_summaryWatcher;
    QFutureWatcher<ExportOutcome> m_exportWatcher;
    core::RunContext m_run;  ///< the running export's stop flag
    int m_generation = 0;    ///< drops summaries of superseded settings
    bool m_busy = false;
    bool m_outputEdited = false;

    QComboBox* m_source = nullptr;
    QLineEdit* m_folder = nullptr;
    QPushButton* m_folderBrowse = nullptr;
    QComboBox* m_format = nullptr;
    QComboBox* m_ggufType = nullptr;
    QComboBox* m_ggufOutputType = nullptr;  ///< "auto" (no data) or a type name
    QComboBox* m_gptqFormat = nullptr;
    QLineEdit* m_output = nullptr;
    QTableWidget* m_table = nullptr;
    QLabel* m_totals = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QPushButton* m_exportButton = nullptr;
};

/// The workspace's quantized runs that still hold their model, newest first, as export sources
/// (their config and tokenizer are the loaded model's folder).
[[nodiscard]] std::vector<ExportSource> exportSources(const Workspace& workspace);

/// Opens the dialog (non-modal, deleted on close) for the workspace's runs. parent: the main window.
void showExportModelDialog(QWidget* parent, const Workspace& workspace);

}  // namespace qb::ui
