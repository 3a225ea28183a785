#pragma once
// Job — one core call run on a worker thread: load, inspect, evaluate, quantize, benchmark.
//
// The work is a function of a core::RunContext returning an immutable result
// (std::shared_ptr<const T>, type-erased here). Job::start() hands it to QtConcurrent::run with
// a QPromise; the worker reports progress through the promise's progress value/text and log
// lines as promise results, and a QFutureWatcher delivers them to this object on the GUI
// thread. Cancel travels the other way through the RunContext's stop flag (an atomic). The
// worker never touches this QObject, so deleting a job while it runs is safe (it asks the work
// to stop and the late results go nowhere). No exception leaves the worker: core::Error becomes
// the job's one-line message "error: <what>", exactly as the CLI prints it.
// Thread-affinity: GUI thread.

#include <memory>

#include <vector>

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>
#include <QPointF>
#include <QString>
#include <QVector>

#include "ui/util/named_curve.h"

#include "core/util/run_context.h"

class QThreadPool;

namespace qb::ui {

enum class JobKind { Load, Inspect, Evaluate, Quantize, Benchmark, Session, Plan };
enum class JobState { Queued, Running, Succeeded, Failed, Cancelled };

[[nodiscard]] QString jobKindName(JobKind kind);
[[nodiscard]] QString jobStateName(JobState state);

using JobResult = std::shared_ptr<const void>;
using JobWork = std::function<JobResult(const core::RunContext&)>;

/// Wraps a function returning std::shared_ptr<const T> (or T) as JobWork.
template <class F>
JobWork makeJobWork(F f) {
    return [f = std::move(f)](const core::RunContext& ctx) -> JobResult {
        auto r = f(ctx);
        if constexpr (requires { r.use_count(); }) {
            return std::static_pointer_cast<const void>(r);
        } else {
            return std::make_shared<const decltype(r)>(std::move(r));
        }
    };
}

/// What the worker sends back: a log line, a point of a curve, or the final outcome.
struct JobEvent {
    enum class Type { Log, Point, Done, Failed, Cancelled };
    Type type = Type::Log;
    QString text;      ///< the log line, the curve's name (Point), or the failure message
    JobResult result;  ///< Done only
    QPointF point;     ///< Point only
};

/// A curve the work reported point by point (core::RunContext::curvePoint).
using JobCurve = NamedCurve;

class Job : public QObject {
    Q_OBJECT
public:
    Job(JobKind kind, QString title, JobWork work, QObject* parent = nullptr);
    ~Job() override;

    [[nodiscard]] JobKind kind() const { return m_kind; }
    [[nodiscard]] const QString& title() const { return m_title; }
    [[nodiscard]] JobState state() const { return m_state; }
    [[nodiscard]] bool isFinished() const;
    [[nodiscard]] double progress() const { return m_progress; }  ///< [0, 1]
    [[nodiscard]] const QString& stage() const { return m_stage; }
    /// The compute device the job started on ("cpu", "cuda:0"): the backend registry's
    /// preferred backend at start(); empty while queued.
    [[nodiscard]] const QString& device() const { return m_device; }
    /// Seconds since the job started (0 while queued; frozen when finished).
    [[nodiscard]] double elapsedSeconds() const;
    /// Estimated seconds left from the progress rate; negative when unknown.
    [[nodiscard]] double etaSeconds() const;
    /// "error: <core message>" after a failure; empty otherwise.
    [[nodiscard]] const QString& errorMessage() const { return m_error; }
    /// The curves the work reported so far, in the order their first points arrived.
    [[nodiscard]] const std::vector<JobCurve>& curves() const { return m_curves; }

    /// The result after Succeeded, as the type the work returned.
    template <class T>
    [[nodiscard]] std::shared_ptr<const T> result() const {
        return std::static_pointer_cast<const T>(m_result);
    }

    /// Runs the work on pool. Only from Queued.
    void start(QThreadPool* pool);
    /// Asks the work to stop (a queued job is cancelled at once). Returns immediately.
    void cancel();

signals:
    void stateChanged(qb::ui::JobState state);
    void progressChanged(double fraction, const QString& stage);
    void logged(const QString& line);
    /// New points arrived in curves() (batched: once per delivery from the worker).
    void curvesChanged();
    /// Emitted once with the final state (Succeeded, Failed or Cancelled).
    void finished(qb::ui::JobState state);

private:
    void onResultsReady(int begin, int end);
    void onFutureFinished();
    void finish(JobState state);

    JobKind m_kind;
    QString m_title;
    JobWork m_work;
    core::RunContext m_ctx;  // shares its stop flag with the worker's copy
    struct Sink;
    std::shared_ptr<Sink> m_sink;
    QFutureWatcher<JobEvent> m_watcher;
    JobState m_state = JobState::Queued;
    double m_progress = 0.0;
    QString m_stage;
    QString m_device;
    QString m_error;
    std::vector<JobCurve> m_curves;
    JobResult m_result;
    QElapsedTimer m_clock;
    double m_finalSeconds = 0.0;
};

}  // namespace qb::ui
