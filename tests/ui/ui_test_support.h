#pragma once
// Helpers shared by the ui tests and the screenshot program: waiting for jobs, and the
// outlier-injected equivalent of the bundled model.

#include <memory>

#include "core/model/llama_model.h"
#include "ui/jobs/job.h"

namespace qb::test {

/// Waits (running the event loop) until job has finished; returns its final state.
ui::JobState waitForJob(ui::Job* job, int timeoutMs = 120000);

/// The bundled stories260K with channel `channel` of layer `layer`'s input RMSNorm scaled by
/// `factor` and column `channel` of q/k/v divided by it: the same function (outputs equal up to
/// rounding), but the q/k/v input activations carry a planted outlier channel. Built with
/// LlamaModel::fromParts from the checkpoint's weights.
std::shared_ptr<const core::LlamaModel> outlierInjectedModel(int layer, int channel, float factor);

}  // namespace qb::test
