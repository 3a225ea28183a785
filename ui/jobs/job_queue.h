#pragma once
// JobQueue — the workbench's queue of jobs: runs one job at a time on its own thread pool
// (core parallelises inside a job with its OpenMP pool), keeps finished jobs for the Jobs dock,
// and forwards every job's log lines. Owns its jobs. Thread-affinity: GUI thread.

#include <QList>
#include <QObject>
#include <QThreadPool>

#include "ui/jobs/job.h"

namespace qb::ui {

class JobQueue : public QObject {
    Q_OBJECT
public:
    explicit JobQueue(QObject* parent = nullptr);
    ~JobQueue() override;

    /// Queues work; it starts when the jobs before it have finished. The returned job is owned
    /// by the queue; connect to Job::finished to take its result.
    Job* submit(JobKind kind, const QString& title, JobWork work);

    [[nodiscard]] const QList<Job*>& jobs() const { return m_jobs; }
    [[nodiscard]] Job* running() const { return m_running; }
    /// True while a job is running or queued.
    [[nodiscard]] bool busy() const;
    /// Removes finished jobs from the list.
    void clearFinished();
    /// Cancels every queued and running job.
    void cancelAll();
    /// Blocks until the worker threads are idle (application exit only, after cancelAll()).
    void waitForIdle();

signals:
    void jobAdded(qb::ui::Job* job);
    void jobChanged(qb::ui::Job* job);
    void jobRemoved(qb::ui::Job* job);
    void jobFinished(qb::ui::Job* job);
    /// A log line of any job, prefixed with the job's title.
    void logged(const QString& line);
    void busyChanged(bool busy);

private:
    void startNext();

    QThreadPool m_pool;
    QList<Job*> m_jobs;
    Job* m_running = nullptr;
};

}  // namespace qb::ui
