// quantbench-cli plan --auto: measures what each candidate scheme costs each module (KL
// divergence from the FP model on calibration windows), solves the size-budgeted choice
// (core/plan) and writes the plan file `quantize --plan` reads.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/plan/autoplan.h"
#include "core/quant/pipeline.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/store/plan_cost_store.h"
#include "core/store/session_provenance.h"
#include "core/store/session_store.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace qb::cli {

namespace {

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

core::CandidateSpace candidateSpace(const PlanArgs& args, std::vector<int>& bitsLeftOut) {
    core::CandidateSpace space;
    space.methods.clear();
    for (const auto& name : splitList(args.methods)) {
        const auto m = core::methodFromName(name);
        if (!m || (*m != core::QuantMethod::Rtn && *m != core::QuantMethod::Gptq && *m != core::QuantMethod::Awq))
            throw core::Error("--methods " + args.methods + ": '" + name + "' is not a method the autopilot plans (rtn, gptq, awq)");
        space.methods.push_back(*m);
    }
    const core::BitsSelection bits = core::parseBitsSelection(args.bits);
    space.bits = bits.bits;
    bitsLeftOut = bits.leftOut;
    space.groupSizes.clear();
    for (const auto& g : splitList(args.groups)) {
        char* end = nullptr;
        const long v = std::strtol(g.c_str(), &end, 10);
        if (g.empty() || *end != '\0' || (v <= 0 && v != -1)) throw core::Error("--groups " + args.groups + ": '" + g + "' is not a group size (≥ 1, or -1 for one group per row)");
        space.groupSizes.push_back(v == -1 ? std::nullopt : std::optional<int>(int(v)));
    }
    space.includeFp16 = !args.noFp16;
    core::checkCandidateSpace(space);
    return space;
}

void checkOutput(const std::string& out) {
    const std::filesystem::path p(out);
    const auto folder = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    if (std::error_code ec; !std::filesystem::is_directory(folder, ec)) throw core::Error(out + ": the folder " + folder.string() + " does not exist");
    if (std::filesystem::is_directory(p)) throw core::Error(out + ": is a folder, not a plan file");
}

// The chosen plan run through the real pipeline (quantize --plan on the cost windows) and its
// whole-model KLD on those windows, next to the additive prediction.
struct Confirmation {
    double predicted = 0.0;
    double measured = 0.0;
    std::uint64_t bytes = 0;
    double seconds = 0.0;
    std::string runId;  ///< the session run that records it; empty without --session
};

void printText(const PlanArgs& args, const core::PlanCostTable& costs, const core::AutoPlanResult& r,
               const std::optional<Confirmation>& confirm) {
    std::printf("%-36s %-24s %10s %6s %12s\n", "module", "choice", "bytes", "bpw", "cost (nats)");
    for (const auto& m : r.modules)
        std::printf("%-36s %-24s %10llu %6.2f %12.3e\n", m.name.c_str(), m.scheme.label().c_str(), static_cast<unsigned long long>(m.bytes),
                    8.0 * double(m.bytes) / double(m.outFeatures * m.inFeatures), m.predictedCost);
    if (args.targetKld)
        std::printf("\ntotal: %s bytes, %.3f bits per weight (the smallest plan with predicted KLD <= %.4e) over %s linear weights\n",
                    withThousands(r.bytes).c_str(), r.bitsPerWeight, *args.targetKld, withThousands(r.weights).c_str());
    else
        std::printf("\ntotal: %s bytes, %.3f bits per weight (budget %s bytes) over %s linear weights\n", withThousands(r.bytes).c_str(),
                    r.bitsPerWeight, withThousands(r.budgetBytes).c_str(), withThousands(r.weights).c_str());
    std::printf("predicted cost: %.4e nats (sum of the modules' %s KLD increases; lower bound %.4e, %s)\n", r.predictedCost,
                r.source == core::PlanCostSource::Proxy ? "proxy" : "measured", r.solver.lowerBound,
                r.solver.exact ? "the DP is exact" : "the DP rounded sizes up");
    std::size_t pairs = 0;
    for (const auto& m : costs.modules) pairs += m.measured.size();
    if (costs.proxySpearman)
        std::printf("proxy vs measured cost: Spearman rho = %.3f over %zu (module, candidate) pairs\n", *costs.proxySpearman, pairs);
    std::printf("costs: %d windows x %d tokens of %s, %zu forwards, %.1f s (forwards %.1f s, quantizing %.1f s, capture %.1f s); solve %.3f s\n",
                costs.windows, costs.ctx, args.calib.c_str(), costs.forwards, costs.secondsTotal, costs.secondsForward,
                costs.secondsQuantize, costs.secondsCapture, r.secondsSolve);
    if (!args.session.empty())
        std::printf("session %s: %zu modules measured now, %zu reused from it\n", args.session.c_str(), costs.measuredModules,
                    costs.reusedModules);
    if (confirm)
        std::printf("confirmation (quantize pipeline, %.1f s, %s bytes): KLD on the cost windows predicted %.4e, measured %.4e "
                    "(measured/predicted %.2f)%s%s\n",
                    confirm->seconds, withThousands(confirm->bytes).c_str(), confirm->predicted, confirm->measured,
                    confirm->predicted > 0.0 ? confirm->measured / confirm->predicted : 0.0,
                    confirm->runId.empty() ? "" : "; recorded as ", confirm->runId.c_str());
    std::printf("plan written to %s\n", args.out.c_str());
}

nlohmann::ordered_json resultJson(const PlanArgs& args, const core::PlanCostTable& costs, const core::AutoPlanResult& r,
                                  const std::optional<Confirmation>& confirm) {
    nlohmann::ordered_json j;
    j["plan_file"] = args.out;
    j["cost_source"] = r.source == core::PlanCostSource::Proxy ? "proxy" : "measured";
    for (const auto& m : r.modules)
        j["modules"].push_back({{"name", m.name}, {"scheme", nlohmann::json::parse(core::schemeToJson(m.scheme))}, {"label", m.scheme.label()},
                                {"bytes", m.bytes}, {"predicted_cost", m.predictedCost}});
    j["budget_bytes"] = r.budgetBytes;
    j["bytes"] = r.bytes;
    j["weights"] = r.weights;
    j["bits_per_weight"] = r.bitsPerWeight;
    j["predicted_cost"] = r.predictedCost;
    j["lower_bound"] = r.solver.lowerBound;
    j["solver_exact"] = r.solver.exact;
    j["proxy_spearman"] = costs.proxySpearman ? nlohmann::json(*costs.proxySpearman) : nlohmann::json();
    j["calibration"] = {{"file", args.calib}, {"windows", costs.windows}, {"ctx", costs.ctx}, {"seed", args.seed}};
    j["forwards"] = costs.forwards;
    j["modules_measured"] = costs.measuredModules;
    j["modules_reused"] = costs.reusedModules;
    if (args.targetKld) j["target_kld"] = *args.targetKld;
    if (confirm)
        j["confirmation"] = {{"predicted_kld", confirm->predicted}, {"measured_kld", confirm->measured}, {"bytes", confirm->bytes},
                             {"seconds", confirm->seconds}, {"session_run", confirm->runId}};
    j["seconds"] = {{"costs", costs.secondsTotal}, {"forwards", costs.secondsForward}, {"quantize", costs.secondsQuantize},
                    {"capture", costs.secondsCapture}, {"solve", r.secondsSolve}};
    return j;
}


Confirmation confirmPlan(const PlanArgs& args, const core::LlamaModel& model, const core::CalibrationSet& calibration,
                         const core::AutoPlanResult& r, const core::SessionProvenance* provenance, const core::RunContext& ctx) {
    Confirmation c;
    c.predicted = r.predictedCost;
    const core::QuantizeResult q = core::quantizeModel(model, r.plan, calibration, ctx);
    c.seconds = q.seconds;
    c.bytes = q.linearBytes;
    c.measured = core::measureModelKld(*q.model, model, calibration);
    if (provenance) {
        core::RunRecord run;
        run.planJson = r.plan.toJsonText();
        run.command = "plan";
        run.metrics = {{"predicted_kld", c.predicted}, {"measured_kld", c.measured}, {"bytes", double(c.bytes)},
                       {"bits_per_weight", q.bitsPerWeight}, {"seconds", c.seconds}};
        for (const auto& m : q.modules) run.moduleErrors[m.name] = m.relativeError;
        run.trainingLoss = core::trainingLossByLayer(q.modules);
        c.runId = core::SessionStore::appendNumberedRun(args.session, run, *provenance);
    }
    return c;
}

}  // namespace

int runPlan(const PlanArgs& args) {
    if (int(bool(args.targetBpw)) + int(bool(args.targetBytes)) + int(bool(args.targetKld)) != 1)
        throw core::Error("plan: give --target-bpw, --target-bytes or --target-kld (one of them)");
    std::vector<int> bitsLeftOut;
    core::PlanCostOptions options;
    options.space = candidateSpace(args, bitsLeftOut);
    options.measure = !args.proxy;
    checkOutput(args.out);
    if (!args.session.empty() && std::filesystem::exists(args.session)) core::SessionStore::checkAppendable(args.session);
    if (!bitsLeftOut.empty() && !args.json)
        std::fprintf(stderr, "note: --bits %s: %zu widths left out; plans accept 2–8\n",
                     args.bits.c_str(), bitsLeftOut.size());

    const auto ctx = terminalContext(args.quiet || args.json);
    const StopOnSignal stopOnSignal(ctx);
    const auto model = core::loadModel(args.model);
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const std::string calibText = core::readTextFile(args.calib);
    const auto calibration = core::sampleCalibration(core::encodeDocuments(*tokenizer, calibText), {args.calibWindows, args.calibCtx, args.seed});
    if (calibration.shortened) std::fprintf(stderr, "note: %s: %s\n", args.calib.c_str(), calibration.note.c_str());
    std::optional<core::SessionProvenance> provenance;
    if (!args.session.empty()) {
        provenance = core::makeSessionProvenance(*core::Checkpoint::open(args.model), calibText, calibration, args.seed);
        core::attachPlanCostSession(args.session, core::planCostFingerprint(*provenance, calibration, options),
                                    core::linearModuleNames(model->config()), *provenance, options);
    }

    const core::PlanCostTable costs = core::measurePlanCosts(*model, calibration, options, ctx);
    const core::AutoPlanResult r = core::solveAutoPlan(costs, {args.targetBpw, args.targetBytes, args.targetKld},
                                                       args.proxy ? core::PlanCostSource::Proxy : core::PlanCostSource::Measured);
    r.plan.saveFile(args.out);  // atomic: a temporary name, then rename
    std::optional<Confirmation> confirm;
    if (args.confirm) confirm = confirmPlan(args, *model, calibration, r, provenance ? &*provenance : nullptr, ctx);
    if (args.json)
        std::printf("%s\n", resultJson(args, costs, r, confirm).dump(2).c_str());
    else
        printText(args, costs, r, confirm);
    return 0;
}

}  // namespace qb::cli
