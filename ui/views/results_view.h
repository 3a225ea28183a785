#pragma once
// ResultsView — every run (plan + metrics) in a table; perplexity of each run against the
// FP16 and as-loaded baselines as bars with Δ%; KL divergence from FP16 and top-1 agreement
// with it, and a per-token KLD strip (KldPanel); decode ms/token and prefill tokens/s against
// FP16 ("not measured" until a benchmark ran); the Pareto scatter of bits per weight vs
// perplexity with its frontier; per-module relative output error of the selected run; and two
// runs side by side (metrics and per-module error), under a warning when their protocols differ. The run settings (evaluation context and
// windows, calibration windows) are edited here and used by the Evaluate and Quantize actions;
// the Benchmark button asks for the latency of the runs not measured yet.

#include <utility>
#include <vector>

#include <QWidget>

#include "ui/jobs/core_jobs.h"
#include "ui/models/run_record.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QSpinBox;
class QTableWidget;
class QToolButton;

namespace qb::ui {

class KldPanel;
class Workspace;

class ResultsView : public QWidget {
    Q_OBJECT
public:
    /// evaluation and calibration are edited in place by the settings bar (owned by the caller, outlive the view).
    ResultsView(Workspace* workspace, EvaluateSettings* evaluation, CalibrationSettings* calibration, QWidget* parent = nullptr);

    [[nodiscard]] QTableWidget* runTable() const { return m_table; }
    [[nodiscard]] QCustomPlot* perplexityPlot() const { return m_perplexity; }
    [[nodiscard]] QCustomPlot* latencyPlot() const { return m_latency; }
    [[nodiscard]] QCustomPlot* prefillPlot() const { return m_prefill; }
    [[nodiscard]] QCustomPlot* paretoPlot() const { return m_pareto; }
    [[nodiscard]] QCustomPlot* moduleErrorPlot() const { return m_moduleError; }
    [[nodiscard]] QCustomPlot* comparePlot() const { return m_compareError; }
    /// Shows runs a and b side by side (ids; 0 = none).
    void compareRuns(int a, int b);
    [[nodiscard]] QComboBox* compareA() const { return m_compareA; }
    [[nodiscard]] QComboBox* compareB() const { return m_compareB; }
    /// Above the Compare table: the differences of the two runs' protocols (protocolDifferences),
    /// hidden when they compare cleanly.
    [[nodiscard]] QLabel* protocolWarning() const { return m_protocolWarning; }
    /// The "Against FP16" page: KLD and top-1 bars, the per-token KLD strip.
    [[nodiscard]] KldPanel* kldPanel() const { return m_kldPanel; }
    /// The pair Compare shows until the user picks one: B the latest quantized run, A the
    /// baseline the Δ columns use (FP16, else as loaded), else the run before B; never A = B
    /// (A is 0 when there is one run only).
    [[nodiscard]] static std::pair<int, int> defaultComparison(const std::vector<RunPtr>& runs);
    /// The text pickers of the run bar ("Calibration text: calib.txt (bundled)"); each offers a
    /// file, a folder of .txt files, or the bundled text, and emits …TextChosen (empty = bundled).
    [[nodiscard]] QToolButton* calibrationTextButton() const { return m_calibrationText; }
    [[nodiscard]] QToolButton* evaluationTextButton() const { return m_evaluationText; }
    /// Shows the texts in use; bundled ones say so in the label and the tooltip.
    void showTexts(const QString& calibrationLabel, bool calibrationBundled, const QString& evaluationLabel, bool evaluationBundled);
    /// Selects run id in the table (its per-module error shows) and scrolls to it.
    void showRun(int id);
    /// Names run id after what the user typed in its cell (an undoable RenameRunCommand).
    void renameRun(int id, const QString& text);

    void refresh();

signals:
    void evaluateRequested();
    void quantizeRequested();
    void benchmarkRequested();
    void calibrationTextChosen(const QString& path);
    void evaluationTextChosen(const QString& path);

private:
    QWidget* buildSettingsBar();
    QWidget* buildCompare();
    QToolButton* buildTextPicker(const QString& objectName, const QString& what, void (ResultsView::*chosen)(const QString&));
    void fillTable();
    void fillCompare();
    void showProtocolWarning(const RunPtr& a, const RunPtr& b);
    [[nodiscard]] RunPtr selectedRun() const;

    Workspace* m_workspace;
    EvaluateSettings* m_evaluation;
    CalibrationSettings* m_calibration;
    QTableWidget* m_table;
    QCustomPlot* m_perplexity;
    QCustomPlot* m_latency;
    QCustomPlot* m_prefill;
    QCustomPlot* m_pareto;
    QCustomPlot* m_moduleError;
    QToolButton* m_calibrationText = nullptr;
    QToolButton* m_evaluationText = nullptr;
    QComboBox* m_compareA = nullptr;
    QComboBox* m_compareB = nullptr;
    QTableWidget* m_compareTable = nullptr;
    QCustomPlot* m_compareError = nullptr;
    QLabel* m_protocolWarning = nullptr;
    KldPanel* m_kldPanel = nullptr;
    bool m_comparePicked = false;  ///< the user chose the Compare pair
};

}  // namespace qb::ui
