#pragma once
// OptimizeBar — the plan view's "Optimize to … bits/weight | … MB" (the plan autopilot, issue 16):
// the target, the allowed methods, bit widths and group sizes (the CLI's defaults: gptq, awq,
// rtn × 2, 3, 4, 8 bits × g32, g128, plus fp16), the calibration windows the costs are measured
// on, Optimize and Cancel, the job's progress, and the result's summary. It only builds the
// request: the work is the controller's Plan job (WorkbenchController::optimizePlan), watched
// here through the Job's signals. Thread-affinity: GUI thread.

#include <optional>

#include <QPointer>
#include <QWidget>

#include "ui/jobs/autoplan_jobs.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qb::ui {

class Job;
class PlanDocument;

class OptimizeBar : public QWidget {
    Q_OBJECT
public:
    /// A size (bits per weight, MB) or a bound on the predicted ΔKLD (nats): then the smallest plan within it.
    enum class Unit { BitsPerWeight, Megabytes, KldNats };

    explicit OptimizeBar(PlanDocument* document, QWidget* parent = nullptr);

    /// The request of the current settings; empty, with the reason in *why, when a list is empty.
    [[nodiscard]] std::optional<AutoPlanRequest> request(QString* why = nullptr) const;
    /// Sets the target (value in unit; MB = 10⁶ bytes).
    void setTarget(double value, Unit unit);
    /// Follows job: progress, Cancel, the failure line; Optimize is disabled until it finishes.
    void watch(Job* job);
    /// Shows the line the controller made of the result (WorkbenchController::planOptimized).
    void showSummary(const QString& summary);

    [[nodiscard]] QPushButton* optimizeButton() const { return m_optimize; }
    [[nodiscard]] QPushButton* cancelButton() const { return m_cancel; }
    [[nodiscard]] QLabel* summaryLabel() const { return m_summary; }

signals:
    /// Optimize was clicked with a valid request.
    void optimizeRequested(const qb::ui::AutoPlanRequest& request);

private:
    QCheckBox* addCheck(QHBoxLayout* row, const QString& text, const QString& name, bool checked);
    void convertTarget(Unit to);
    void updateEnabled();

    PlanDocument* m_document;
    QDoubleSpinBox* m_target;
    QComboBox* m_unit;
    Unit m_shownUnit = Unit::BitsPerWeight;
    std::vector<std::pair<core::QuantMethod, QCheckBox*>> m_methods;
    std::vector<std::pair<int, QCheckBox*>> m_bits;
    std::vector<std::pair<std::optional<int>, QCheckBox*>> m_groups;
    QCheckBox* m_fp16;
    QSpinBox* m_windows;
    QSpinBox* m_ctx;
    QPushButton* m_optimize;
    QPushButton* m_cancel;
    QProgressBar* m_progress;
    QLabel* m_summary;
    QPointer<Job> m_job;
};

}  // namespace qb::ui
