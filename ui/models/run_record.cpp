#include "ui/models/run_record.h"

namespace qb::ui {

namespace {

std::string textWithSha(const std::string& name, const std::string& sha256) {
    return sha256.empty() ? name : name + " (sha256 " + sha256.substr(0, 12) + ")";
}

}  // namespace

std::string calibrationProtocol(const RunRecord& run) {
    if (!run.hasCalibration()) return {};
    return textWithSha(run.calibrationText, run.calibrationSha256) + ", " + std::to_string(run.calibrationWindows) + " windows × " +
           std::to_string(run.calibrationCtx) + " tokens, seed " + std::to_string(run.calibrationSeed);
}

std::string evaluationProtocol(const RunRecord& run) {
    if (run.evaluationText.empty()) return {};
    std::string text = textWithSha(run.evaluationText, run.evaluationSha256);
    if (run.perplexity) text += ", ctx " + std::to_string(run.perplexity->ctx) + ", " + std::to_string(run.perplexity->windows) + " windows";
    return text;
}

}  // namespace qb::ui
