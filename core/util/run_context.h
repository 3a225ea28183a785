#pragma once
// RunContext — the progress/cancel/log token that every long core operation takes.
//
// Core algorithms are synchronous and thread-agnostic. They call progress() now and then,
// poll stopRequested() (or throwIfStopped()) at least once per layer or chunk, and send
// human-readable lines to log(). The caller (CLI, GUI worker) supplies the callbacks.
// Thread-safety: requestStop()/stopRequested() may be called from any thread; the
// callbacks are invoked on the thread that runs the algorithm. A third, optional callback takes
// points of curves the caller may draw live (curvePoint()).

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace qb::core {

class RunContext {
public:
    /// fraction in [0, 1] of the whole job; stage is a short human-readable label.
    using ProgressFn = std::function<void(double fraction, std::string_view stage)>;
    using LogFn = std::function<void(std::string_view line)>;
    /// A point (x, y) of a named curve the caller may draw while the work runs, e.g. OmniQuant's
    /// training loss: curve "layer 3", x the epoch, y the epoch's mean loss.
    using CurveFn = std::function<void(std::string_view curve, double x, double y)>;

    RunContext() : m_stop(std::make_shared<std::atomic<bool>>(false)) {}
    RunContext(ProgressFn progress, LogFn log)
        : m_progress(std::move(progress)), m_log(std::move(log)), m_stop(std::make_shared<std::atomic<bool>>(false)) {}

    void progress(double fraction, std::string_view stage) const {
        if (m_progress) m_progress(m_begin + (m_end - m_begin) * fraction, stage);
    }
    void log(std::string_view line) const {
        if (m_log) m_log(line);
    }
    /// Optional: receives curvePoint() calls (children made by sub() share it).
    void setCurveSink(CurveFn curve) { m_curve = std::move(curve); }
    void curvePoint(std::string_view curve, double x, double y) const {
        if (m_curve) m_curve(curve, x, y);
    }
    void requestStop() const { m_stop->store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool stopRequested() const { return m_stop->load(std::memory_order_relaxed); }
    void throwIfStopped() const {
        if (stopRequested()) throw Cancelled();
    }

    /// A child context whose progress [0,1] maps onto [begin,end] of this one; shares the stop flag.
    [[nodiscard]] RunContext sub(double begin, double end) const {
        RunContext c = *this;
        c.m_begin = m_begin + (m_end - m_begin) * begin;
        c.m_end = m_begin + (m_end - m_begin) * end;
        return c;
    }

private:
    ProgressFn m_progress;
    LogFn m_log;
    CurveFn m_curve;
    std::shared_ptr<std::atomic<bool>> m_stop;
    double m_begin = 0.0;
    double m_end = 1.0;
};

}  // namespace qb::core
