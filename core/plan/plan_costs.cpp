#include "core/plan/plan_costs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <optional>

#include "core/eval/kl_divergence.h"
#include "core/plan/rank_correlation.h"
#include "core/quant/awq.h"
#include "core/quant/gptq.h"
#include "core/quant/group_capture.h"
#include "core/quant/module_quantizer.h"
#include "core/quant/plan.h"
#include "core/quant/rtn.h"
#include "core/stats/sensitivity.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The module whose input a module reads (q/k/v read q's, gate/up read gate's).
ModuleKind inputOwner(ModuleKind k) {
    switch (k) {
        case ModuleKind::K:
        case ModuleKind::V: return ModuleKind::Q;
        case ModuleKind::Up: return ModuleKind::Gate;
        default: return k;
    }
}

// What every cost needs once: the FP hidden state at each layer input and the FP model's
// logits at the scored positions (the ctx − 1 predicting rows of each window).
struct Reference {
    std::vector<MatrixRM> hidden;  // [layers + 1] × [n, hidden]: hidden[l] is layer l's input
    std::vector<Index> scoredRows; // rows of [n] that predict a next token
    std::vector<int> targets;      // the tokens they predict
    MatrixRM logitsP;              // P: [scored, vocab]
    Index T = 0;
};

MatrixRM scoredLogits(const LlamaModel& model, const MatrixRM& hiddenOut, const std::vector<Index>& rows) {
    const MatrixRM all = model.logits(hiddenOut);  // [n, vocab]
    MatrixRM out(Index(rows.size()), all.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) out.row(Index(i)) = all.row(rows[i]);
    return out;
}

Reference makeReference(const LlamaModel& model, const CalibrationSet& calib) {
    Reference ref;
    ref.T = calib.ctx;
    ref.hidden.push_back(model.embed(calib.tokens));
    for (int l = 0; l < model.config().numLayers; ++l) {
        MatrixRM h = ref.hidden.back();
        model.runLayer(l, h, ref.T);
        ref.hidden.push_back(std::move(h));
    }
    for (int w = 0; w < calib.windows; ++w)
        for (Index t = 0; t + 1 < ref.T; ++t) {
            const Index row = Index(w) * ref.T + t;
            ref.scoredRows.push_back(row);
            ref.targets.push_back(calib.tokens[std::size_t(row + 1)]);
        }
    ref.logitsP = scoredLogits(model, ref.hidden.back(), ref.scoredRows);
    return ref;
}

// cost(m, c): kld_mean of the model with module k of layer l replaced by Ŵ [out, in].
double replacementKld(const LlamaModel& model, const Reference& ref, int l, ModuleKind k, MatrixRM What) {
    DecoderLayer L = *model.layer(l);
    L.linear(k) = std::make_shared<DenseLinear>(std::move(What), L.linear(k)->bias());
    MatrixRM h = ref.hidden[std::size_t(l)];
    runDecoderLayer(model.config(), L, h, ref.T);
    for (int j = l + 1; j < model.config().numLayers; ++j) model.runLayer(j, h, ref.T);
    KldAccumulator kld;
    kld.add(ref.logitsP, scoredLogits(model, h, ref.scoredRows), ref.targets);
    return kld.statistics().kldMean;
}

// Ŵ_{m,c} of the header, from the module's FP input (X rows, H when GPTQ is in the space).
MatrixRM candidateWeight(const QuantScheme& s, const MatrixRM& W, const GroupCapture& input, ModuleKind k, const RunContext& ctx) {
    switch (s.method) {
        case QuantMethod::Fp16: return roundToF16(W);
        case QuantMethod::Rtn: return quantizeRtn(W, s.grid).dequantize();
        case QuantMethod::Gptq: return quantizeGptq(W, input.hessian(), s.grid, s.gptq, ctx).weight.dequantize();
        case QuantMethod::Awq: {
            const ConstMatrixRef X = input.rows();                                     // [n, in]
            const VectorF sc = searchAwqScales(X, {&W}, s.grid, s.awq.grid).scales;    // s [in]
            MatrixRM Ws = W;                                                            // W·diag(s)
            scaleWeightColumns(Ws, sc);
            if (s.awq.clipSearch && k != ModuleKind::Q && k != ModuleKind::K) {
                const MatrixRM Xs = X * sc.cwiseInverse().asDiagonal();              // X·diag(s)⁻¹
                applyAwqClip(Ws, searchAwqClip(Xs, Ws, s.grid), s.grid);
            }
            return quantizeRtn(Ws, s.grid).dequantize() * sc.cwiseInverse().asDiagonal();  // Q(W·diag(s))·diag(s)⁻¹
        }
        default: throw Error("plan costs: " + methodName(s.method) + " is not a candidate method");
    }
}

// The probe of the proxy: RTN at the lowest bits and the largest group of the space (per row
// when the space has it); the first candidate when the space has no grid method.
QuantScheme probeScheme(const CandidateSpace& space) {
    QuantScheme p;
    p.method = QuantMethod::Rtn;
    p.grid.bits = *std::min_element(space.bits.begin(), space.bits.end());
    p.grid.sym = space.sym;
    p.grid.groupSize = space.groupSizes.front();
    for (const auto& g : space.groupSizes)
        if (!g || (p.grid.groupSize && *g > *p.grid.groupSize)) p.grid.groupSize = g;
    return p;
}

// e(c) for every candidate: the relative output error of RTN on the candidate's grid.
std::vector<double> rtnErrors(const std::vector<PlanCandidate>& cands, const MatrixRM& W, const MatrixRMd& G) {
    std::vector<double> e;
    std::map<std::string, double> byGrid;
    for (const auto& c : cands) {
        if (c.scheme.method == QuantMethod::Fp16) {
            e.push_back(relativeOutputError(W, roundToF16(W), G));
            continue;
        }
        QuantScheme r = c.scheme;
        r.method = QuantMethod::Rtn;
        const std::string key = r.label();
        if (!byGrid.count(key)) byGrid[key] = relativeOutputError(W, quantizeRtn(W, r.grid).dequantize(), G);
        e.push_back(byGrid[key]);
    }
    return e;
}

// A recorded module stands for pending: same name, shape and candidates (schemes and bytes),
// costs of the right length (measured ones when the sweep measures).
bool reusable(const ModuleCosts& known, const ModuleCosts& pending, bool measure) {
    if (known.name != pending.name || known.outFeatures != pending.outFeatures || known.inFeatures != pending.inFeatures ||
        known.candidates.size() != pending.candidates.size() || known.proxy.size() != pending.candidates.size())
        return false;
    if (measure && known.measured.size() != pending.candidates.size()) return false;
    for (std::size_t i = 0; i < pending.candidates.size(); ++i)
        if (known.candidates[i].bytes != pending.candidates[i].bytes ||
            schemeToJson(known.candidates[i].scheme) != schemeToJson(pending.candidates[i].scheme))
            return false;
    return true;
}

void checkCalibration(const CalibrationSet& calib) {
    if (calib.windows < 1 || calib.ctx < 2 || calib.tokens.size() != std::size_t(calib.windows) * std::size_t(calib.ctx))
        throw Error("plan costs: the calibration set is empty or inconsistent");
}

}  // namespace

double measureModelKld(const LlamaModel& model, const LlamaModel& fp, const CalibrationSet& calib) {
    checkCalibration(calib);
    const Reference ref = makeReference(fp, calib);
    MatrixRM h = model.embed(calib.tokens);
    for (int l = 0; l < model.config().numLayers; ++l) model.runLayer(l, h, ref.T);
    KldAccumulator kld;
    kld.add(ref.logitsP, scoredLogits(model, h, ref.scoredRows), ref.targets);
    return kld.statistics().kldMean;
}

PlanCostTable measurePlanCosts(const LlamaModel& model, const CalibrationSet& calib, const PlanCostOptions& options,
                               const RunContext& ctx) {
    checkCandidateSpace(options.space);
    if (options.space.methods.empty()) throw Error("plan costs: no grid method to plan with");
    checkCalibration(calib);
    const auto start = Clock::now();
    const ModelConfig& c = model.config();
    const bool wantHessian = std::count(options.space.methods.begin(), options.space.methods.end(), QuantMethod::Gptq) > 0;
    const QuantScheme probe = probeScheme(options.space);
    PlanCostTable table;
    table.windows = calib.windows;
    table.ctx = calib.ctx;
    const Reference ref = makeReference(model, calib);
    table.positions = std::int64_t(ref.scoredRows.size());
    table.secondsCapture += secondsSince(start);

    for (int l = 0; l < c.numLayers; ++l) {
        ctx.throwIfStopped();
        const auto layer = model.layer(l);
        // Phase 0: what a resumed sweep has already measured of layer l.
        std::map<ModuleKind, ModuleCosts> done;
        for (ModuleKind k : kAllModuleKinds) {
            ModuleCosts pending;
            pending.name = moduleName(l, k);
            pending.outFeatures = layer->linear(k)->outFeatures();
            pending.inFeatures = layer->linear(k)->inFeatures();
            pending.candidates = planCandidates(options.space, pending.outFeatures, pending.inFeatures);
            if (!options.reuse) continue;
            std::optional<ModuleCosts> known = options.reuse(pending);
            if (known && reusable(*known, pending, options.measure)) done.emplace(k, std::move(*known));
        }
        if (done.size() == kAllModuleKinds.size()) {
            for (ModuleKind k : kAllModuleKinds) table.modules.push_back(std::move(done.at(k)));
            table.reusedModules += done.size();
            ctx.progress(double(table.modules.size()) / double(c.numLayers * 7), "costs: layer " + std::to_string(l) + " recorded");
            continue;
        }
        // Phase 1: the FP input of each module input of layer l (rows for AWQ and the proxy, H for GPTQ).
        auto t0 = Clock::now();
        const Index n = ref.hidden[std::size_t(l)].rows();
        std::map<ModuleKind, std::unique_ptr<GroupCapture>> inputs;
        GroupCaptures taps;
        for (ModuleKind owner : {ModuleKind::Q, ModuleKind::O, ModuleKind::Gate, ModuleKind::Down}) {
            inputs[owner] = std::make_unique<GroupCapture>(moduleName(l, owner), layer->linear(owner)->inFeatures(), n, n, wantHessian);
            taps.add(inputs[owner].get(), moduleName(l, owner));
        }
        MatrixRM h = ref.hidden[std::size_t(l)];
        runDecoderLayer(c, *layer, h, ref.T, &taps);
        for (auto& [owner, capture] : inputs) capture->finish();
        table.secondsCapture += secondsSince(t0);

        // Phase 2: per module, Ŵ for every candidate, its measured cost, and the proxy. Each
        // (module, candidate) cost of the layer is one task — Ŵ, then a forward from layer l with
        // only that module replaced — and the tasks run on the OpenMP threads at once: they read
        // the model, the reference and the captured inputs and write only their own result. Inside
        // a task the GEMMs run on one thread (OpenMP nesting is off), so a layer offers
        // 7 × candidates independent tasks however many cores there are, instead of splitting
        // small products. Results, callbacks and progress follow in module order on this thread.
        struct Pending {
            ModuleKind kind;
            ModuleCosts costs;
            MatrixRM W;                  // [out, in]
            std::vector<double> e;       // [candidates] e(c)
            std::vector<double> kld;     // [candidates] measured costs, then the probe's if separate
            std::vector<double> quantizeSeconds, forwardSeconds;  // [candidates + 1] per task
        };
        std::vector<Pending> pending;
        for (ModuleKind k : kAllModuleKinds) {
            if (done.count(k)) continue;
            const GroupCapture& input = *inputs.at(inputOwner(k));
            Pending p{k, {}, layer->linear(k)->denseWeight(), {}, {}, {}, {}};
            ModuleCosts& m = p.costs;
            m.name = moduleName(l, k);
            m.outFeatures = p.W.rows();
            m.inFeatures = p.W.cols();
            m.candidates = planCandidates(options.space, p.W.rows(), p.W.cols());
            t0 = Clock::now();
            const MatrixRMd G = input.rows().cast<double>().transpose() * input.rows().cast<double>();  // XᵀX [in, in]
            p.e = rtnErrors(m.candidates, p.W, G);
            m.probeRtnError = relativeOutputError(p.W, quantizeRtn(p.W, probe.grid).dequantize(), G);
            table.secondsQuantize += secondsSince(t0);
            pending.push_back(std::move(p));
        }
        // The tasks: (module, candidate) when measuring, and (module, probe) where the probe's
        // cost is not one of them.
        struct Task {
            std::size_t module;
            std::size_t candidate;  // == candidates.size(): the probe's own forward
        };
        std::vector<Task> tasks;
        std::vector<std::optional<std::size_t>> probeIndex(pending.size());
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const auto& cands = pending[i].costs.candidates;
            const auto it = std::find_if(cands.begin(), cands.end(), [&](const PlanCandidate& pc) { return pc.scheme.label() == probe.label(); });
            if (options.measure && it != cands.end()) probeIndex[i] = std::size_t(it - cands.begin());
            if (options.measure)
                for (std::size_t j = 0; j < cands.size(); ++j) tasks.push_back({i, j});
            if (!probeIndex[i]) tasks.push_back({i, cands.size()});
            pending[i].kld.assign(cands.size() + 1, 0.0);
            pending[i].quantizeSeconds.assign(cands.size() + 1, 0.0);
            pending[i].forwardSeconds.assign(cands.size() + 1, 0.0);
        }
        std::exception_ptr failure;
        std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1)
        for (std::ptrdiff_t t = 0; t < std::ptrdiff_t(tasks.size()); ++t) {
            if (failed.load() || ctx.stopRequested()) continue;
            Pending& p = pending[tasks[std::size_t(t)].module];
            const std::size_t j = tasks[std::size_t(t)].candidate;
            try {
                auto t1 = Clock::now();
                const GroupCapture& input = *inputs.at(inputOwner(p.kind));
                // No callbacks from worker threads: a fresh context (stop is polled per task above).
                MatrixRM What = j < p.costs.candidates.size()
                                    ? withErrorContext(p.costs.name, [&] { return candidateWeight(p.costs.candidates[j].scheme, p.W, input, p.kind, RunContext{}); })
                                    : quantizeRtn(p.W, probe.grid).dequantize();
                p.quantizeSeconds[j] = secondsSince(t1);
                t1 = Clock::now();
                p.kld[j] = replacementKld(model, ref, l, p.kind, std::move(What));
                p.forwardSeconds[j] = secondsSince(t1);
            } catch (...) {
#pragma omp critical(qb_plan_costs_failure)
                if (!failure) failure = std::current_exception();
                failed.store(true);
            }
        }
        if (failure) std::rethrow_exception(failure);
        ctx.throwIfStopped();
        for (std::size_t i = 0; i < pending.size(); ++i) {
            Pending& p = pending[i];
            ModuleCosts& m = p.costs;
            const std::size_t nc = m.candidates.size();
            if (options.measure) m.measured.assign(p.kld.begin(), p.kld.begin() + std::ptrdiff_t(nc));
            m.probeKld = probeIndex[i] ? p.kld[*probeIndex[i]] : p.kld[nc];
            table.forwards += (options.measure ? nc : 0) + (probeIndex[i] ? 0 : 1);
            for (double sec : p.quantizeSeconds) table.secondsQuantize += sec;  // thread-seconds of the tasks
            for (double sec : p.forwardSeconds) table.secondsForward += sec;
            const double beta = m.probeRtnError > 0.0 ? m.probeKld / m.probeRtnError : 0.0;  // nats per unit of e
            for (double ec : p.e) m.proxy.push_back(beta * ec);
        }
        for (ModuleKind k : kAllModuleKinds) {
            if (const auto it = done.find(k); it != done.end()) {
                table.modules.push_back(std::move(it->second));
                ++table.reusedModules;
                continue;
            }
            auto it = std::find_if(pending.begin(), pending.end(), [k](const Pending& p) { return p.kind == k; });
            if (options.finished) options.finished(it->costs);
            ++table.measuredModules;
            table.modules.push_back(std::move(it->costs));
            ctx.progress(double(table.modules.size()) / double(c.numLayers * 7), "costs: " + table.modules.back().name);
        }
    }
    if (options.measure) {
        std::vector<double> proxy, measured;
        for (const auto& m : table.modules) {
            proxy.insert(proxy.end(), m.proxy.begin(), m.proxy.end());
            measured.insert(measured.end(), m.measured.begin(), m.measured.end());
        }
        table.proxySpearman = spearmanRankCorrelation(proxy, measured);
    }
    table.secondsTotal = secondsSince(start);
    return table;
}

}  // namespace qb::core
