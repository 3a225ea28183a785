// WorkbenchController: the plan autopilot's Optimize (issue 16). The costs are measured and the
// knapsack solved on the job queue's thread (ui/jobs/autoplan_jobs: core/plan's functions); on
// the GUI thread the chosen schemes fill the plan document as ONE undo step that marks the rows
// it changed, and the predicted frontier goes to the workspace for the Pareto plot.
#include "ui/workbench_controller.h"

#include <map>

#include "ui/jobs/job_queue.h"
#include "ui/jobs/text_source.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

QString autoPlanTargetText(const core::AutoPlanTarget& target) {
    if (target.bitsPerWeight) return QObject::tr("%1 bits per weight").arg(*target.bitsPerWeight, 0, 'f', 2);
    if (target.bytes) return QObject::tr("%1 MB").arg(double(*target.bytes) / 1e6, 0, 'f', 3);
    if (target.kld) return QObject::tr("the smallest plan with predicted ΔKLD ≤ %1 nats").arg(*target.kld, 0, 'g', 4);
    return {};
}

QString autoPlanSummary(const AutoPlanOutcome& outcome, int changedRows, int rows) {
    const auto& r = outcome.result;
    QString text = QObject::tr("Optimized: %1 bytes = %2 bits per weight (budget %3 bytes) · predicted ΔKLD %4 nats "
                               "(sum of measured single-module costs; lower bound %5) · ")
                       .arg(withThousands(r.bytes))
                       .arg(r.bitsPerWeight, 0, 'f', 3)
                       .arg(withThousands(r.budgetBytes))
                       .arg(r.predictedCost, 0, 'g', 4)
                       .arg(r.solver.lowerBound, 0, 'g', 4);
    text += outcome.proxySpearman ? QObject::tr("proxy vs measured Spearman ρ %1 · ").arg(*outcome.proxySpearman, 0, 'f', 3) : QString();
    text += QObject::tr("%1 of %2 modules changed (marked) · costs from %3 windows × %4 tokens, %5 forwards, %6 s")
                .arg(changedRows)
                .arg(rows)
                .arg(outcome.windows)
                .arg(outcome.ctx)
                .arg(outcome.forwards)
                .arg(outcome.secondsCosts, 0, 'f', 1);
    if (outcome.reusedModules > 0)
        text += QObject::tr(" (%1 of %2 modules' costs reused from an earlier measurement)")
                    .arg(outcome.reusedModules)
                    .arg(outcome.sweep.modules.size());
    return text;
}

Job* WorkbenchController::optimizePlan(const AutoPlanRequest& request) {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    const QString target = autoPlanTargetText(request.target);
    const QString title = tr("optimize plan to %1 · %2 (%3×%4, seed %5)")
                              .arg(target, toQString(textDisplayName(m_calibration.textFile)))
                              .arg(request.windows)
                              .arg(request.ctx)
                              .arg(m_calibration.seed);
    Job* job = m_jobs->submit(JobKind::Plan, title, autoPlanWork(model, m_calibration, request, m_workspace->planCosts()));
    connect(job, &Job::finished, this, [this, job, model, target](JobState state) {
        if (state == JobState::Failed) fail(tr("Optimize failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        const auto outcome = job->result<AutoPlanOutcome>();
        PlanDocument* doc = m_workspace->plan();
        std::map<std::string, core::QuantScheme> chosen;
        for (const auto& m : outcome->result.modules) chosen.emplace(m.name, m.scheme);
        std::vector<core::QuantScheme> schemes = doc->schemes();  // a module the costs do not cover keeps its scheme
        for (int i = 0; i < doc->rowCount(); ++i)
            if (const auto it = chosen.find(doc->row(i).name); it != chosen.end()) schemes[std::size_t(i)] = it->second;
        const auto changed = doc->replaceSchemesMarked(schemes, tr("Optimize to %1").arg(target));
        m_workspace->setAutoPlanFrontier(outcome->frontier);
        m_workspace->mergePlanCosts(outcome->sweep);
        const QString summary = autoPlanSummary(*outcome, int(changed.size()), doc->rowCount());
        emit logged(summary);
        emit statusReported(summary);
        emit planOptimized(summary);
    });
    return job;
}

}  // namespace qb::ui
