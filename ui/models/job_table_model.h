#pragma once
// JobTableModel — the rows of the Jobs dock: one per job of a JobQueue, with state, progress
// (Qt::UserRole: fraction in [0,1] for the progress-bar delegate), stage, elapsed time and ETA.
// Thread-affinity: GUI thread.

#include <QAbstractTableModel>

namespace qb::ui {

class Job;
class JobQueue;

class JobTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Title, State, Device, Progress, Stage, Elapsed, Eta, ColumnCount };
    static constexpr int FractionRole = Qt::UserRole + 1;

    explicit JobTableModel(JobQueue* queue, QObject* parent = nullptr);

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    [[nodiscard]] Job* jobAt(int row) const;
    /// Refreshes the time columns of running jobs (called by the view's timer).
    void refreshTimes();

private:
    JobQueue* m_queue;
};

}  // namespace qb::ui
