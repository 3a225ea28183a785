#pragma once
// JobsView — the Jobs dock: queued, running and finished jobs with a progress bar, stage text,
// elapsed time and ETA; Cancel for the selected (or running) job and Clear finished.
// A failed job shows the CLI's one-line message ("error: ...") in its stage column.
// Beside the table, a small plot draws the curves a job reports (OmniQuant: each layer's loss
// per epoch, live): the selected job's, else the running one's, else the latest job's that has
// any; it is hidden while no job has a curve.

#include <QWidget>

class QCustomPlot;
class QTableView;
class QPushButton;
class QTimer;

namespace qb::ui {

class Job;
class JobQueue;
class JobTableModel;

class JobsView : public QWidget {
    Q_OBJECT
public:
    explicit JobsView(JobQueue* queue, QWidget* parent = nullptr);

    [[nodiscard]] QTableView* table() const { return m_table; }
    /// The loss plot beside the table (object name "jobsLossPlot").
    [[nodiscard]] QCustomPlot* lossPlot() const { return m_lossPlot; }
    /// The job whose curves the plot shows; nullptr when it is hidden.
    [[nodiscard]] const Job* lossPlotJob() const { return m_lossJob; }
    /// Cancels the selected job, or the running one when none is selected.
    void cancelSelected();

private:
    void updateButtons();
    /// Picks the job to plot and redraws when it or its points changed.
    void updateLossPlot();

    JobQueue* m_queue;
    JobTableModel* m_model;
    QTableView* m_table;
    QPushButton* m_cancel;
    QPushButton* m_clear;
    QTimer* m_timer;
    QCustomPlot* m_lossPlot;
    const Job* m_lossJob = nullptr;
    int m_lossPoints = 0;  // points drawn, to redraw only when new ones arrived
};

}  // namespace qb::ui
