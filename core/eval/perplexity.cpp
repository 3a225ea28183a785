#include "core/eval/perplexity.h"

#include <chrono>
#include <cmath>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

double negativeLogLikelihood(const ConstMatrixRef& logits, const std::vector<int>& targets) {
    const Index n = logits.rows();
    double total = 0.0;
#pragma omp parallel for num_threads(threadCount()) reduction(+ : total) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) {
        const auto row = logits.row(r);
        const float m = row.maxCoeff();
        const double logSum = double(m) + std::log(double((row.array() - m).exp().sum()));
        total += logSum - double(row(targets[std::size_t(r)]));
    }
    return total;
}

int perplexityWindowCount(std::size_t tokens, const PerplexityOptions& options) {
    if (options.ctx < 2) return 0;
    int windows = int(tokens / std::size_t(options.ctx));
    if (windows > 0 && options.maxWindows) windows = std::min(windows, std::max(1, *options.maxWindows));
    return windows;
}

PerplexityResult evaluatePerplexity(const LlamaModel& model, const std::vector<int>& stream, const PerplexityOptions& options,
                                    const RunContext& ctx) {
    if (options.ctx < 2) throw Error("perplexity: context must be at least 2 tokens");
    const Index T = options.ctx;
    const int windows = perplexityWindowCount(stream.size(), options);
    if (windows == 0)
        throw Error("perplexity: the text holds " + std::to_string(stream.size()) + " tokens, fewer than one window of " +
                    std::to_string(T));
    const int batch = std::max(1, options.batchWindows);

    const auto start = std::chrono::steady_clock::now();
    double nll = 0.0;
    for (int w0 = 0; w0 < windows; w0 += batch) {
        ctx.throwIfStopped();
        const int nw = std::min(batch, windows - w0);
        std::vector<int> tokens(stream.begin() + std::ptrdiff_t(w0) * T, stream.begin() + std::ptrdiff_t(w0 + nw) * T);
        const MatrixRM hidden = model.forwardHidden(tokens, T, nullptr, &ctx);
        // Logits one window at a time: [T, vocab] stays small even for 100k-token vocabularies.
        for (int w = 0; w < nw; ++w) {
            const auto first = tokens.begin() + std::ptrdiff_t(w) * T;
            if (options.logitsSink) {  // every position's logits, the last one included
                const MatrixRM logits = model.logits(hidden.middleRows(Index(w) * T, T));
                nll += negativeLogLikelihood(logits.topRows(T - 1), std::vector<int>(first + 1, first + T));
                options.logitsSink(std::vector<int>(first, first + T), logits);
                continue;
            }
            // The T − 1 scored positions, in row blocks of at most 32 MiB of logits: a
            // 128k-entry vocabulary would need 262 MB for a whole window of 512.
            const Index block = std::max<Index>(1, (Index(32) << 20) / (Index(sizeof(float)) * model.config().vocabSize));
            for (Index r0 = 0; r0 < T - 1; r0 += block) {
                const Index rows = std::min(block, T - 1 - r0);
                const MatrixRM logits = model.logits(hidden.middleRows(Index(w) * T + r0, rows));
                nll += negativeLogLikelihood(logits, std::vector<int>(first + r0 + 1, first + r0 + 1 + rows));
            }
        }
        ctx.progress(double(w0 + nw) / windows, "perplexity");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    PerplexityResult r;
    r.windows = windows;
    r.ctx = int(T);
    r.predictions = std::int64_t(windows) * (T - 1);
    r.meanLoss = nll / double(r.predictions);
    r.perplexity = std::exp(r.meanLoss);
    r.seconds = seconds;
    r.tokensPerSecond = double(windows) * double(T) / std::max(seconds, 1e-9);
    return r;
}

}  // namespace qb::core
