#include "ui/models/job_table_model.h"

#include <QBrush>
#include <QColor>

#include "ui/jobs/job_queue.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

JobTableModel::JobTableModel(JobQueue* queue, QObject* parent) : QAbstractTableModel(parent), m_queue(queue) {
    connect(queue, &JobQueue::jobAdded, this, [this] {
        const int row = int(m_queue->jobs().size()) - 1;
        beginInsertRows({}, row, row);
        endInsertRows();
    });
    connect(queue, &JobQueue::jobRemoved, this, [this] {
        beginResetModel();
        endResetModel();
    });
    connect(queue, &JobQueue::jobChanged, this, [this](Job* job) {
        const int row = int(m_queue->jobs().indexOf(job));
        if (row >= 0) emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    });
}

int JobTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_queue->jobs().size()); }
int JobTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

Job* JobTableModel::jobAt(int row) const {
    return row >= 0 && row < m_queue->jobs().size() ? m_queue->jobs().at(row) : nullptr;
}

QVariant JobTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case Title: return tr("Job");
        case State: return tr("State");
        case Device: return tr("Device");
        case Progress: return tr("Progress");
        case Stage: return tr("Stage / message");
        case Elapsed: return tr("Elapsed");
        case Eta: return tr("ETA");
    }
    return {};
}

QVariant JobTableModel::data(const QModelIndex& index, int role) const {
    const Job* job = jobAt(index.row());
    if (!job) return {};
    if (role == FractionRole) return job->progress();
    if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
        switch (index.column()) {
            case Title: return QStringLiteral("%1 · %2").arg(jobKindName(job->kind()), job->title());
            case State: return jobStateName(job->state());
            case Device: return job->device();
            case Progress: return QStringLiteral("%1 %").arg(job->progress() * 100.0, 0, 'f', 0);
            case Stage: return job->state() == JobState::Failed ? job->errorMessage() : job->stage();
            case Elapsed: return job->state() == JobState::Queued ? QString() : humanDuration(job->elapsedSeconds());
            case Eta: {
                const double eta = job->etaSeconds();
                return eta < 0 ? QString() : humanDuration(eta);
            }
        }
    }
    if (role == Qt::ForegroundRole && (index.column() == State || index.column() == Stage) && job->state() == JobState::Failed)
        return QBrush(QColor(200, 40, 40));
    return {};
}

void JobTableModel::refreshTimes() {
    for (int row = 0; row < rowCount(); ++row)
        if (jobAt(row)->state() == JobState::Running) emit dataChanged(index(row, Elapsed), index(row, Eta));
}

}  // namespace qb::ui
