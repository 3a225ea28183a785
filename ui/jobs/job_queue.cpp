#include "ui/jobs/job_queue.h"

namespace qb::ui {

JobQueue::JobQueue(QObject* parent) : QObject(parent) {
    m_pool.setMaxThreadCount(1);
    m_pool.setObjectName(QStringLiteral("quantbench-jobs"));
}

JobQueue::~JobQueue() {
    cancelAll();
    m_pool.waitForDone();
    qDeleteAll(m_jobs);
}

Job* JobQueue::submit(JobKind kind, const QString& title, JobWork work) {
    const bool wasBusy = busy();
    auto* job = new Job(kind, title, std::move(work), this);
    m_jobs.append(job);
    connect(job, &Job::progressChanged, this, [this, job] { emit jobChanged(job); });
    connect(job, &Job::stateChanged, this, [this, job] { emit jobChanged(job); });
    connect(job, &Job::curvesChanged, this, [this, job] { emit jobChanged(job); });
    connect(job, &Job::logged, this, [this, job](const QString& line) { emit logged(job->title() + QStringLiteral(": ") + line); });
    connect(job, &Job::finished, this, [this, job](JobState state) {
        if (state == JobState::Failed) emit logged(job->title() + QStringLiteral(": ") + job->errorMessage());
        else emit logged(job->title() + QStringLiteral(": ") + jobStateName(state) +
                         QStringLiteral(" in %1 s").arg(job->elapsedSeconds(), 0, 'f', 2));
        if (job == m_running) m_running = nullptr;
        emit jobFinished(job);
        startNext();
        if (!busy()) emit busyChanged(false);
    });
    emit jobAdded(job);
    emit logged(title + QStringLiteral(": queued"));
    if (!wasBusy) emit busyChanged(true);
    startNext();
    return job;
}

bool JobQueue::busy() const {
    return std::any_of(m_jobs.begin(), m_jobs.end(), [](const Job* j) { return !j->isFinished(); });
}

void JobQueue::startNext() {
    if (m_running) return;
    for (Job* job : m_jobs) {
        if (job->state() == JobState::Queued) {
            m_running = job;
            job->start(&m_pool);
            return;
        }
    }
}

void JobQueue::clearFinished() {
    for (auto it = m_jobs.begin(); it != m_jobs.end();) {
        if ((*it)->isFinished()) {
            Job* job = *it;
            it = m_jobs.erase(it);
            emit jobRemoved(job);
            job->deleteLater();
        } else {
            ++it;
        }
    }
}

void JobQueue::cancelAll() {
    for (Job* job : m_jobs) job->cancel();
}

void JobQueue::waitForIdle() { m_pool.waitForDone(); }

}  // namespace qb::ui
