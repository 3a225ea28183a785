#pragma once
// qb::core::Error — the one error type of quantbench.
//
// Carries a user-facing message. Context is added on the way up, outermost first:
//   "loading model.safetensors: tensor 'model.norm.weight' lies outside the file".
// The CLI prints what() in one line; the GUI shows the same words.
// Numerical outcomes (a damped Cholesky, a clipped value) are data, never errors.

#include <stdexcept>
#include <string>

namespace qb::core {

class Error : public std::runtime_error {
public:
    explicit Error(std::string message) : std::runtime_error(std::move(message)) {}

    /// Returns a copy whose message is "context: <this message>".
    [[nodiscard]] Error withContext(const std::string& context) const { return Error(context + ": " + what()); }
};

/// Thrown by RunContext::throwIfStopped() when the user cancelled a job.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

/// Runs f(); if it throws Error, rethrows it with "context: " prepended (Cancelled passes unchanged).
template <class F>
decltype(auto) withErrorContext(const std::string& context, F&& f) {
    try {
        return f();
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        throw e.withContext(context);
    }
}

}  // namespace qb::core
