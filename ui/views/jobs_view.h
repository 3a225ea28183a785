#pragma once
// JobsView — the Jobs dock: queued, running and finished jobs with a progress bar, stage text,
// elapsed time and ETA; Cancel for the selected (or running) job and Clear finished.
// A failed job shows the CLI's one-line message ("error: ...") in its stage column.

#include <QWidget>

class QTableView;
class QPushButton;
class QTimer;

namespace qb::ui {

class JobQueue;
class JobTableModel;

class JobsView : public QWidget {
    Q_OBJECT
public:
    explicit JobsView(JobQueue* queue, QWidget* parent = nullptr);

    [[nodiscard]] QTableView* table() const { return m_table; }
    /// Cancels the selected job, or the running one when none is selected.
    void cancelSelected();

private:
    void updateButtons();

    JobQueue* m_queue;
    JobTableModel* m_model;
    QTableView* m_table;
    QPushButton* m_cancel;
    QPushButton* m_clear;
    QTimer* m_timer;
};

}  // namespace qb::ui
