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

std::vector<std::string> protocolDifferences(const RunRecord& a, const RunRecord& b) {
    if (a.protocol && b.protocol) return core::compareProtocols(*a.protocol, *b.protocol);
    std::vector<std::string> out;
    for (const RunRecord* r : {&a, &b})
        if (!r->protocol) out.push_back(r->name + " has no recorded protocol (a session written before protocols were kept)");
    return out;
}

}  // namespace qb::ui
