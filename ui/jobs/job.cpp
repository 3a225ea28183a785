#include "ui/jobs/job.h"

#include <algorithm>

#include <QPromise>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include "core/backend/backend.h"

namespace qb::ui {

namespace {
constexpr int kProgressSteps = 10000;  // progress value range of the promise
}

QString jobKindName(JobKind kind) {
    switch (kind) {
        case JobKind::Load: return QStringLiteral("Load");
        case JobKind::Inspect: return QStringLiteral("Inspect");
        case JobKind::Evaluate: return QStringLiteral("Evaluate");
        case JobKind::Quantize: return QStringLiteral("Quantize");
        case JobKind::Benchmark: return QStringLiteral("Benchmark");
        case JobKind::Session: return QStringLiteral("Session");
        case JobKind::Plan: return QStringLiteral("Plan");
    }
    return {};
}

QString jobStateName(JobState state) {
    switch (state) {
        case JobState::Queued: return QStringLiteral("queued");
        case JobState::Running: return QStringLiteral("running");
        case JobState::Succeeded: return QStringLiteral("done");
        case JobState::Failed: return QStringLiteral("failed");
        case JobState::Cancelled: return QStringLiteral("cancelled");
    }
    return {};
}

// The worker-side end of the RunContext callbacks: the promise of the running call. Written
// and read only on the worker thread (set before the work starts).
struct Job::Sink {
    QPromise<JobEvent>* promise = nullptr;
};

Job::Job(JobKind kind, QString title, JobWork work, QObject* parent)
    : QObject(parent), m_kind(kind), m_title(std::move(title)), m_work(std::move(work)), m_sink(std::make_shared<Sink>()) {
    const auto sink = m_sink;
    m_ctx = core::RunContext(
        [sink](double fraction, std::string_view stage) {
            if (!sink->promise) return;
            const int value = std::clamp(int(fraction * kProgressSteps), 0, kProgressSteps);
            sink->promise->setProgressValueAndText(value, QString::fromUtf8(stage.data(), qsizetype(stage.size())));
        },
        [sink](std::string_view line) {
            if (sink->promise)
                sink->promise->addResult(JobEvent{JobEvent::Type::Log, QString::fromUtf8(line.data(), qsizetype(line.size())), {}, {}});
        });
    m_ctx.setCurveSink([sink](std::string_view curve, double x, double y) {
        if (sink->promise)
            sink->promise->addResult(
                JobEvent{JobEvent::Type::Point, QString::fromUtf8(curve.data(), qsizetype(curve.size())), {}, QPointF(x, y)});
    });
    connect(&m_watcher, &QFutureWatcher<JobEvent>::resultsReadyAt, this, &Job::onResultsReady);
    connect(&m_watcher, &QFutureWatcher<JobEvent>::finished, this, &Job::onFutureFinished);
    connect(&m_watcher, &QFutureWatcher<JobEvent>::progressValueChanged, this, [this](int value) {
        m_progress = double(value) / kProgressSteps;
        emit progressChanged(m_progress, m_stage);
    });
    connect(&m_watcher, &QFutureWatcher<JobEvent>::progressTextChanged, this, [this](const QString& text) {
        m_stage = text;
        emit progressChanged(m_progress, m_stage);
    });
}

Job::~Job() {
    m_ctx.requestStop();
    disconnect(&m_watcher, nullptr, this, nullptr);
}

bool Job::isFinished() const {
    return m_state == JobState::Succeeded || m_state == JobState::Failed || m_state == JobState::Cancelled;
}

double Job::elapsedSeconds() const {
    if (isFinished()) return m_finalSeconds;
    return m_clock.isValid() ? double(m_clock.nsecsElapsed()) * 1e-9 : 0.0;
}

double Job::etaSeconds() const {
    if (m_state != JobState::Running || m_progress < 0.02) return -1.0;
    return elapsedSeconds() * (1.0 - m_progress) / m_progress;
}

void Job::start(QThreadPool* pool) {
    if (m_state != JobState::Queued) return;
    m_state = JobState::Running;
    m_device = QString::fromStdString(core::BackendRegistry::instance().preferred()->name());
    m_clock.start();
    emit stateChanged(m_state);
    auto future = QtConcurrent::run(pool, [work = m_work, ctx = m_ctx, sink = m_sink](QPromise<JobEvent>& promise) {
        sink->promise = &promise;
        promise.setProgressRange(0, kProgressSteps);
        JobEvent outcome;
        try {
            outcome.result = work(ctx);
            outcome.type = ctx.stopRequested() ? JobEvent::Type::Cancelled : JobEvent::Type::Done;
            if (ctx.stopRequested()) outcome.result.reset();  // a cancelled job leaves no output
        } catch (const core::Cancelled&) {
            outcome.type = JobEvent::Type::Cancelled;
        } catch (const std::bad_alloc&) {
            outcome.type = JobEvent::Type::Failed;
            outcome.text = QStringLiteral("error: out of memory");
        } catch (const std::exception& e) {
            outcome.type = JobEvent::Type::Failed;
            outcome.text = QStringLiteral("error: ") + QString::fromUtf8(e.what());
        } catch (...) {
            outcome.type = JobEvent::Type::Failed;
            outcome.text = QStringLiteral("error: unknown failure");
        }
        promise.addResult(std::move(outcome));
        sink->promise = nullptr;
    });
    m_watcher.setFuture(future);
}

void Job::cancel() {
    if (isFinished()) return;
    m_ctx.requestStop();
    if (m_state == JobState::Queued) finish(JobState::Cancelled);
}

void Job::onResultsReady(int begin, int end) {
    bool newPoints = false;
    for (int i = begin; i < end; ++i) {
        const JobEvent event = m_watcher.resultAt(i);
        switch (event.type) {
            case JobEvent::Type::Log: emit logged(event.text); break;
            case JobEvent::Type::Point: {
                auto it = std::find_if(m_curves.begin(), m_curves.end(), [&](const JobCurve& c) { return c.name == event.text; });
                if (it == m_curves.end()) it = m_curves.insert(m_curves.end(), JobCurve{event.text, {}});
                it->points.push_back(event.point);
                newPoints = true;
                break;
            }
            case JobEvent::Type::Done: m_result = event.result; break;
            case JobEvent::Type::Failed: m_error = event.text; break;
            case JobEvent::Type::Cancelled: break;
        }
    }
    if (newPoints) emit curvesChanged();
}

void Job::onFutureFinished() {
    if (isFinished()) return;
    // The terminal event is the last result; resultsReadyAt has been delivered before finished.
    const auto count = m_watcher.future().resultCount();
    const JobEvent::Type last = count > 0 ? m_watcher.resultAt(count - 1).type : JobEvent::Type::Cancelled;
    if (last == JobEvent::Type::Done && m_result) {
        m_progress = 1.0;
        finish(JobState::Succeeded);
    } else if (last == JobEvent::Type::Failed) {
        finish(JobState::Failed);
    } else {
        finish(JobState::Cancelled);
    }
}

void Job::finish(JobState state) {
    m_finalSeconds = m_clock.isValid() ? double(m_clock.nsecsElapsed()) * 1e-9 : 0.0;
    m_state = state;
    if (state == JobState::Succeeded) m_stage = tr("finished");
    if (state == JobState::Cancelled) m_stage = tr("cancelled — no output kept");
    emit stateChanged(state);
    emit finished(state);
}

}  // namespace qb::ui
