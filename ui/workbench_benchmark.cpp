// WorkbenchController: the Benchmark job (the part that measures latency). It picks the runs to
// measure on the GUI thread, measures them on the job queue's thread, and replaces each
// measured run record in the workspace when the job succeeds.
#include "ui/workbench_controller.h"

#include "ui/jobs/job_queue.h"
#include "ui/models/workspace.h"

namespace qb::ui {

namespace {

/// The runs of workspace that hold a model and have no latency yet, the model as loaded for its
/// baseline run, and the FP16 reference (measured once; rebuilt from the loaded model).
std::vector<BenchmarkTarget> benchmarkTargets(const Workspace& workspace) {
    std::vector<BenchmarkTarget> targets;
    const auto fp16 = workspace.fp16BaselineRun();
    if (!fp16 || !fp16->measured()) targets.push_back({fp16 ? fp16->id : 0, RunKind::Fp16Baseline, "FP16", nullptr});
    for (const auto& run : workspace.runs()) {
        if (run->measured()) continue;
        if (run->kind == RunKind::Baseline)
            targets.push_back({run->id, run->kind, run->name, workspace.model()->model});
        else if (run->kind == RunKind::Quantized && run->model)
            targets.push_back({run->id, run->kind, run->name, run->model});
    }
    return targets;
}

}  // namespace

Job* WorkbenchController::benchmarkRuns() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    auto targets = benchmarkTargets(*m_workspace);
    if (targets.empty()) {
        emit statusReported(tr("Every run that holds a model is measured already"));
        return nullptr;
    }
    const int count = int(targets.size());
    Job* job = m_jobs->submit(JobKind::Benchmark,
                              tr("%n model(s), %1 + %2 tokens", nullptr, count).arg(m_benchmark.promptTokens).arg(m_benchmark.genTokens),
                              benchmarkWork(model, std::move(targets), m_benchmark));
    connect(job, &Job::finished, this, [this, job, model](JobState state) {
        if (state == JobState::Failed) fail(tr("Benchmark failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        const auto result = job->result<BenchmarkResult>();
        for (const auto& figure : result->figures) {
            RunPtr run = figure.runId ? m_workspace->findRun(figure.runId) : nullptr;
            if (!run && figure.kind == RunKind::Fp16Baseline) run = m_workspace->fp16BaselineRun();  // evaluated meanwhile
            if (run) {
                m_workspace->replaceRun(withMeasurement(*run, figure, *result));
            } else if (figure.kind == RunKind::Fp16Baseline) {
                // No FP16 baseline yet: the reference becomes one, its perplexity not measured.
                RunRecord fp16;
                fp16.kind = RunKind::Fp16Baseline;
                fp16.precision = "FP16";
                fp16.name = baselineRunName(fp16.precision);
                fp16.linearBytes = result->fp16LinearBytes;
                fp16.bitsPerWeight = result->fp16BitsPerWeight;
                std::vector<RunRecord> baselines;
                if (const auto asLoaded = m_workspace->runOfKind(RunKind::Baseline)) baselines.push_back(*asLoaded);
                baselines.push_back(withMeasurement(std::move(fp16), figure, *result));
                m_workspace->setBaselines(std::move(baselines));
            }
        }
        emit statusReported(tr("Measured the latency of %n model(s)", nullptr, int(result->figures.size())));
    });
    return job;
}

}  // namespace qb::ui
