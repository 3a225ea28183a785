#include "core/quant/pipeline.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>

#include "core/quant/awq.h"
#include "core/quant/group_capture.h"
#include "core/quant/module_quantizer.h"
#include "core/quant/omniquant/lwc_trainer.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The four groups of a decoder layer whose modules share an input, in forward order.
const std::vector<std::vector<ModuleKind>> kGroups = {{ModuleKind::Q, ModuleKind::K, ModuleKind::V},
                                                      {ModuleKind::O},
                                                      {ModuleKind::Gate, ModuleKind::Up},
                                                      {ModuleKind::Down}};

// Offers every linear input of layer L on hidden [n, d] to tap, in batches of whole windows.
void observeLayer(const ModelConfig& c, const DecoderLayer& L, const MatrixRM& hidden, Index T, Index batchRows,
                  ActivationTap* tap) {
    for (Index b = 0; b < hidden.rows(); b += batchRows) {
        const Index rows = std::min(batchRows, hidden.rows() - b);
        MatrixRM h = hidden.middleRows(b, rows);
        runDecoderLayer(c, L, h, T, tap);
    }
}

bool groupHas(const std::array<QuantScheme, 7>& schemes, const std::vector<ModuleKind>& group, QuantMethod m) {
    return std::any_of(group.begin(), group.end(), [&](ModuleKind k) { return schemes[std::size_t(k)].method == m; });
}

const QuantScheme& firstWith(const std::array<QuantScheme, 7>& schemes, const std::vector<ModuleKind>& group, QuantMethod m) {
    for (ModuleKind k : group)
        if (schemes[std::size_t(k)].method == m) return schemes[std::size_t(k)];
    return schemes[std::size_t(group.front())];
}

MatrixRM denseOf(const DecoderLayer& L, ModuleKind k) { return L.linear(k)->denseWeight(); }

void replaceDense(DecoderLayer& L, ModuleKind k, MatrixRM W, std::optional<VectorF> bias) {
    L.linear(k) = std::make_shared<DenseLinear>(std::move(W), std::move(bias));
}

// Phase A: scale transforms that keep the float function (AWQ, SmoothQuant), computed on the
// layer before any of its modules is quantized — llm-awq searches every group of a layer on
// the layer's float inputs, then applies the scales; SmoothQuant's reference likewise.
// Returns the AWQ α chosen per group (index into kGroups).
std::map<std::size_t, double> applyScaleTransforms(const ModelConfig& c, DecoderLayer& L, const std::array<QuantScheme, 7>& schemes,
                                                   const MatrixRM& hidden, Index T, Index batchRows, const QuantizeOptions& options) {
    std::map<std::size_t, double> alphas;
    std::vector<std::unique_ptr<GroupCapture>> captures(kGroups.size());
    GroupCaptures tap;
    bool any = false;
    for (std::size_t g = 0; g < kGroups.size(); ++g) {
        if (!groupHas(schemes, kGroups[g], QuantMethod::Awq) && !groupHas(schemes, kGroups[g], QuantMethod::SmoothQuant)) continue;
        const std::string name = moduleName(L.index, kGroups[g].front());
        captures[g] = std::make_unique<GroupCapture>(name, L.linear(kGroups[g].front())->inFeatures(), hidden.rows(),
                                                     options.maxRowsKept, false);
        tap.add(captures[g].get(), name);
        any = true;
    }
    if (!any) return alphas;
    observeLayer(c, L, hidden, T, batchRows, &tap);

    for (std::size_t g = 0; g < kGroups.size(); ++g) {
        if (!captures[g]) continue;
        captures[g]->finish();
        const auto& group = kGroups[g];
        std::vector<MatrixRM> W;
        for (ModuleKind k : group) W.push_back(denseOf(L, k));
        std::vector<const MatrixRM*> Wp;
        for (const auto& w : W) Wp.push_back(&w);
        // Where 1/s is folded: the RMSNorm before q/k/v and gate/up; v_proj before o_proj (only
        // when shapes match — llm-awq skips it under grouped-query attention); up_proj before down_proj.
        VectorF s;
        if (groupHas(schemes, group, QuantMethod::Awq)) {
            const QuantScheme& sc = firstWith(schemes, group, QuantMethod::Awq);
            if (group.front() == ModuleKind::O && L.linear(ModuleKind::V)->outFeatures() != L.linear(ModuleKind::O)->inFeatures())
                continue;
            const auto search = searchAwqScales(captures[g]->rows(), Wp, sc.grid, sc.awq.grid);
            alphas[g] = search.alpha;
            s = search.scales;
        } else {
            if (group.front() != ModuleKind::Q && group.front() != ModuleKind::Gate) continue;  // reference smooths norm→linears only
            s = smoothQuantScales(captures[g]->absMax(), Wp, firstWith(schemes, group, QuantMethod::SmoothQuant).smooth.alpha);
        }
        for (std::size_t i = 0; i < group.size(); ++i) {
            scaleWeightColumns(W[i], s);
            replaceDense(L, group[i], std::move(W[i]), L.linear(group[i])->bias());
        }
        if (group.front() == ModuleKind::Q) {
            divideNormWeight(L.inputNorm, s);
        } else if (group.front() == ModuleKind::Gate) {
            divideNormWeight(L.postAttentionNorm, s);
        } else {
            const ModuleKind prev = group.front() == ModuleKind::O ? ModuleKind::V : ModuleKind::Up;
            MatrixRM Wprev = denseOf(L, prev);
            std::optional<VectorF> bias = L.linear(prev)->bias();
            divideWeightRows(Wprev, s, &bias);
            replaceDense(L, prev, std::move(Wprev), std::move(bias));
        }
    }
    return alphas;
}

// Runs layer on every window of hidden [n, d] in place, in batches of whole windows.
void runLayerOn(const ModelConfig& c, const DecoderLayer& layer, MatrixRM& hidden, Index T, Index batchRows) {
    for (Index b = 0; b < hidden.rows(); b += batchRows) {
        const Index rows = std::min(batchRows, hidden.rows() - b);
        MatrixRM h = hidden.middleRows(b, rows);
        runDecoderLayer(c, layer, h, T);
        hidden.middleRows(b, rows) = h;
    }
}

bool planUses(const QuantPlan& plan, const ModelConfig& c, QuantMethod m) {
    const auto names = linearModuleNames(c);
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return plan.resolve(n).method == m; });
}

// OmniQuant's training for the modules of layer L whose scheme is omniquant, on the block (the
// others keep their float weights meanwhile and are quantized by their own method after).
// fpHidden: the FP model's input of this layer; on return its output (the next layer's input).
// A LET pair (let.h) is learned when every module it transforms is omniquant with LET on.
omniquant::LwcLayerResult trainOmniQuant(const ModelConfig& c, const DecoderLayer& fpLayer, const DecoderLayer& L,
                                         const std::array<QuantScheme, 7>& schemes, const MatrixRM& hidden, MatrixRM& fpHidden,
                                         Index T, Index batchRows, const RunContext& ctx) {
    omniquant::OmniQuantLayerSpec spec;
    const QuantScheme* first = nullptr;
    for (ModuleKind k : kAllModuleKinds)
        if (schemes[std::size_t(k)].method == QuantMethod::OmniQuant) {
            spec.grids[std::size_t(k)] = schemes[std::size_t(k)].grid;
            if (!first) first = &schemes[std::size_t(k)];
        }
    // One optimisation per layer: its epochs, learning rates and activation bits are those of the layer's first omniquant module.
    spec.actBits = first->gridActBits.value_or(0);
    const auto letOn = [&](std::initializer_list<ModuleKind> kinds) {
        return std::all_of(kinds.begin(), kinds.end(), [&](ModuleKind k) {
            const QuantScheme& s = schemes[std::size_t(k)];
            return s.method == QuantMethod::OmniQuant && s.gridActBits && s.omniquant.let;
        });
    };
    spec.letQkv = letOn({ModuleKind::Q, ModuleKind::K, ModuleKind::V});
    spec.letFc1 = letOn({ModuleKind::Gate, ModuleKind::Up});
    spec.letOut = letOn({ModuleKind::V, ModuleKind::O});
    const bool let = spec.letQkv || spec.letFc1 || spec.letOut;
    MatrixRM fpInputs = let ? fpHidden : MatrixRM();
    runLayerOn(c, fpLayer, fpHidden, T, batchRows);  // F(W, X_fp): the targets
    return omniquant::trainLayerOmniQuant(c, L, spec, hidden, fpInputs, fpHidden, T, first->omniquant, ctx);
}

// A journal's restored state must fit this model and calibration set; a state that does not
// (its fingerprint should have refused it) is an error, never a silently wrong checkpoint.
void checkPartial(const PartialQuantization& p, const ModelConfig& c, const CalibrationSet& calibration, bool omni, bool withLayers) {
    const Index n = Index(calibration.windows) * Index(calibration.ctx);
    const auto fits = [&](const MatrixRM& h) { return h.rows() == n && h.cols() == Index(c.hiddenSize); };
    if (p.layersDone < 1 || p.layersDone > c.numLayers || p.modules.size() != std::size_t(p.layersDone) * kAllModuleKinds.size() ||
        (withLayers && int(p.layers.size()) != p.layersDone) || !fits(p.hidden) || (omni && !fits(p.fpHidden)))
        throw Error("quantize: the resumed state does not fit this model and calibration set");
    for (std::size_t i = 0; i < p.layers.size(); ++i)
        if (!p.layers[i] || p.layers[i]->index != int(i))
            throw Error("quantize: the resumed state does not hold layer " + std::to_string(i));
}

// Adds the seconds f takes to acc; returns what f returns.
template <class F>
decltype(auto) timed(double& acc, F&& f) {
    struct Add {
        double& acc;
        Clock::time_point t0 = Clock::now();
        ~Add() { acc += secondsSince(t0); }
    } add{acc};
    return f();
}

std::string lossText(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

}  // namespace

std::vector<std::pair<std::string, double>> QuantizeStageSeconds::entries() const {
    return {{"embed", embed},           {"scale search", scaleSearch},    {"lwc training", lwcTraining},
            {"forward", forward},       {"capture", capture},             {"gptq prepare", gptqPrepare},
            {"gptq factor", gptqFactor}, {"gptq sweep", gptqSweep},       {"gptq objective", gptqObjective},
            {"other quantizers", otherQuantizers}, {"output error", outputError}, {"journal", journal}};
}

double QuantizeStageSeconds::total() const {
    double t = 0.0;
    for (const auto& [name, seconds] : entries()) t += seconds;
    return t;
}

std::vector<std::string> linearModuleNames(const ModelConfig& config) {
    std::vector<std::string> names;
    for (int i = 0; i < config.numLayers; ++i)
        for (ModuleKind k : kAllModuleKinds) names.push_back(moduleName(i, k));
    return names;
}

std::map<int, std::vector<double>> trainingLossByLayer(const std::vector<ModuleReport>& modules) {
    static constexpr std::string_view kPrefix = "model.layers.";
    std::map<int, std::vector<double>> byLayer;
    for (const ModuleReport& m : modules) {
        if (m.lwcEpochLoss.empty() || m.name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
        const std::size_t dot = m.name.find('.', kPrefix.size());
        int layer = -1;
        const char* first = m.name.data() + kPrefix.size();
        const char* last = m.name.data() + (dot == std::string::npos ? m.name.size() : dot);
        if (std::from_chars(first, last, layer).ptr != last || layer < 0) continue;
        byLayer.try_emplace(layer, m.lwcEpochLoss);  // the layer's modules share one history
    }
    return byLayer;
}

QuantizeResult quantizeModel(const LlamaModel& model, const QuantPlan& plan, const CalibrationSet& calibration,
                             const RunContext& ctx, const QuantizeOptions& options) {
    const auto start = Clock::now();
    const ModelConfig& c = model.config();
    QuantizeResult result;
    result.notes = plan.check(linearModuleNames(c));
    if (calibration.shortened) result.notes.push_back(calibration.note);
    if (calibration.windows < 1 || calibration.ctx < 1 ||
        calibration.tokens.size() != std::size_t(calibration.windows) * std::size_t(calibration.ctx))
        throw Error("quantize: the calibration set is empty or inconsistent");

    const Index T = calibration.ctx;
    const Index batchRows = std::max<Index>(1, 8192 / T) * T;
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    const double stepsPerLayer = double(kGroups.size() + 1);
    // OmniQuant's targets come from the full-precision model: its hidden states run alongside.
    const bool omni = planUses(plan, c, QuantMethod::OmniQuant);
    MatrixRM hidden;    // [windows·T, hidden]: layer i's input
    MatrixRM fpHidden;  // the same through the float model (OmniQuant)
    double priorSeconds = 0.0;
    if (!options.keepLayers && !options.journal) throw Error("quantize: a run that does not keep its layers needs a journal to hold them");
    int done = 0;  // layers 0..done−1 are quantized (in `layers`, or only in the journal)
    if (auto partial = options.journal ? options.journal->restore(model, plan, options.keepLayers) : std::nullopt) {
        checkPartial(*partial, c, calibration, omni, options.keepLayers);
        done = partial->layersDone;
        layers = std::move(partial->layers);
        result.modules = std::move(partial->modules);
        result.linearWeights = partial->linearWeights;
        result.linearBytes = partial->linearBytes;
        priorSeconds = partial->seconds;
        hidden = std::move(partial->hidden);
        fpHidden = std::move(partial->fpHidden);
        ctx.log("resuming after layer " + std::to_string(done - 1) + " (" + std::to_string(done) + " of " +
                std::to_string(c.numLayers) + " layers were done)");
    } else {
        hidden = timed(result.stages.embed, [&] { return model.embed(calibration.tokens); });
        if (omni) fpHidden = hidden;
    }
    QuantizeStageSeconds& stage = result.stages;

    for (int i = done; i < c.numLayers; ++i) {
        ctx.throwIfStopped();
        const auto layerStart = Clock::now();
        const std::size_t firstModule = result.modules.size();
        const std::string layerName = "layer " + std::to_string(i);
        ctx.progress(i / double(c.numLayers), layerName + ": calibration");
        DecoderLayer L = *model.layer(i);
        std::array<QuantScheme, 7> schemes;
        for (ModuleKind k : kAllModuleKinds) schemes[std::size_t(k)] = plan.resolve(moduleName(i, k));

        const bool scaled = std::any_of(schemes.begin(), schemes.end(), [](const QuantScheme& s) {
            return s.method == QuantMethod::Awq || s.method == QuantMethod::SmoothQuant;
        });
        const auto alphas = scaled ? timed(stage.scaleSearch, [&] { return applyScaleTransforms(c, L, schemes, hidden, T, batchRows, options); })
                                   : std::map<std::size_t, double>{};

        // OmniQuant: the layer's clipping is trained first; it takes most of the layer's progress share.
        const bool omniLayer = std::any_of(schemes.begin(), schemes.end(), [](const QuantScheme& s) { return s.method == QuantMethod::OmniQuant; });
        const double trainShare = omniLayer ? 0.9 : 0.0;
        omniquant::LwcLayerResult lwc;
        if (omniLayer) {
            lwc = timed(stage.lwcTraining, [&] {
                return trainOmniQuant(c, *model.layer(i), L, schemes, hidden, fpHidden, T, batchRows,
                                      ctx.sub(i / double(c.numLayers), (i + trainShare) / double(c.numLayers)));
            });
            const std::string losses = lwc.epochLoss.empty() ? "no training"
                                                             : "loss " + lossText(lwc.epochLoss.front()) + " → " + lossText(lwc.epochLoss.back()) +
                                                                   " over " + std::to_string(lwc.epochLoss.size()) + " epochs";
            const QuantScheme& first = *std::find_if(schemes.begin(), schemes.end(), [](const QuantScheme& s) { return s.method == QuantMethod::OmniQuant; });
            ctx.log(layerName + ": omniquant " + omniquant::omniQuantTrainingName(first.omniquant.lwc, lwc.let.has_value()) + " " + losses + ", " +
                    lossText(lwc.seconds) + " s");
            if (lwc.let)  // the float layer the other modules and every later forward see: W̃, g̃
                omniquant::foldLet(L, *lwc.let, {c.numHeads, c.numKvHeads, c.headDim, T, c.windowOfLayer(i)});
        } else if (omni) {
            timed(stage.lwcTraining, [&] { runLayerOn(c, *model.layer(i), fpHidden, T, batchRows); });
        }
        const int trainedModules = int(std::count_if(lwc.weights.begin(), lwc.weights.end(), [](const auto& w) { return w.has_value(); }));

        // The groups in forward order; each group's input comes from the layer with the groups
        // before it already quantized (GPTQ's true-sequential order). The staged forward keeps
        // attn (o_proj's input) between groups 1 and 2, so attention runs once per layer rather
        // than once per group: the result is the same as re-running the whole layer each time.
        MatrixRM attn;  // [n, H·d]
        for (std::size_t g = 0; g < kGroups.size(); ++g) {
            ctx.throwIfStopped();
            const auto& group = kGroups[g];
            const std::string captureName = moduleName(i, group.front());
            GroupCapture capture(captureName, L.linear(group.front())->inFeatures(), hidden.rows(),
                                 options.maxRowsKept, groupHas(schemes, group, QuantMethod::Gptq));
            if (g == 2) {  // o_proj is quantized now: h = x + o_proj(attn)
                timed(stage.forward, [&] {
                    for (Index b = 0; b < hidden.rows(); b += batchRows) {
                        const Index rows = std::min(batchRows, hidden.rows() - b);
                        MatrixRM h = hidden.middleRows(b, rows);
                        addAttentionOutput(L, attn.middleRows(b, rows), h);
                        hidden.middleRows(b, rows) = h;
                    }
                });
                attn = MatrixRM();
            }
            if (g == 1) attn.resize(hidden.rows(), L.linear(ModuleKind::O)->inFeatures());
            for (Index b = 0; b < hidden.rows(); b += batchRows) {
                ctx.throwIfStopped();
                const Index rows = std::min(batchRows, hidden.rows() - b);
                const auto h = hidden.middleRows(b, rows);
                MatrixRM X;  // [rows, in]: the group's input
                timed(stage.forward, [&] {
                    switch (g) {
                        case 0: X = attentionInput(c, L, h); break;
                        case 1: attn.middleRows(b, rows) = attentionMixer(c, L, h, T); break;
                        case 2: X = mlpInput(c, L, h); break;
                        default: X = mlpMixer(c, L, h); break;
                    }
                });
                timed(stage.capture, [&] {
                    if (g == 1)
                        capture.observe(captureName, attn.middleRows(b, rows));
                    else
                        capture.observe(captureName, X);
                });
            }
            timed(stage.capture, [&] { capture.finish(); });
            for (ModuleKind k : group) {
                ctx.throwIfStopped();
                const std::string name = moduleName(i, k);
                const QuantScheme& scheme = schemes[std::size_t(k)];
                const auto t0 = Clock::now();
                const MatrixRM W = denseOf(L, k);
                const bool clip = k != ModuleKind::Q && k != ModuleKind::K;  // llm-awq does not clip q/k
                auto mq = withErrorContext(name, [&] {
                    if (scheme.method == QuantMethod::OmniQuant) return learnedGridModule(*lwc.weights[std::size_t(k)], L.linear(k)->bias(), scheme);
                    return quantizeModule(name, scheme, W, L.linear(k)->bias(), capture, clip, ctx);
                });
                ModuleReport rep;
                rep.seconds = secondsSince(t0);
                const double gptqSeconds = mq.gptqSecondsPrepare + mq.gptqSecondsFactor + mq.gptqSecondsSweep + mq.gptqSecondsObjective;
                stage.gptqPrepare += mq.gptqSecondsPrepare;
                stage.gptqFactor += mq.gptqSecondsFactor;
                stage.gptqSweep += mq.gptqSecondsSweep;
                stage.gptqObjective += mq.gptqSecondsObjective;
                stage.otherQuantizers += std::max(0.0, rep.seconds - gptqSeconds);
                if (scheme.method == QuantMethod::OmniQuant) {  // the layer's training, shared by its trained modules
                    rep.seconds += lwc.seconds / trainedModules;
                    rep.lwcEpochLoss = lwc.epochLoss;
                }
                rep.name = name;
                rep.scheme = scheme;
                rep.format = mq.linear->format();
                rep.outFeatures = W.rows();
                rep.inFeatures = W.cols();
                rep.relativeError = timed(stage.outputError, [&] { return relativeOutputError(capture, W, *mq.linear); });
                rep.bytes = mq.linear->storageBytes();
                rep.bitsPerWeight = 8.0 * double(rep.bytes) / double(W.size());
                rep.outlierColumnFraction = mq.outlierColumnFraction;
                rep.gptqDamping = mq.gptqDamping;
                if (auto a = alphas.find(g); a != alphas.end() && scheme.method == QuantMethod::Awq) rep.awqAlpha = a->second;
                result.linearWeights += std::uint64_t(W.size());
                result.linearBytes += rep.bytes;
                result.modules.push_back(std::move(rep));
                L.linear(k) = std::move(mq.linear);
            }
            ctx.progress((i + trainShare + (1.0 - trainShare) * (g + 1) / stepsPerLayer) / c.numLayers,
                         layerName + ": " + moduleSuffix(group.front()));
        }
        timed(stage.forward, [&] {
            for (Index b = 0; b < hidden.rows(); b += batchRows) {  // next layer's input: h + down_proj(·)
                const Index rows = std::min(batchRows, hidden.rows() - b);
                MatrixRM h = hidden.middleRows(b, rows);
                runMlpBlock(c, L, h);
                hidden.middleRows(b, rows) = h;
            }
        });
        if (options.journal) {
            const std::vector<ModuleReport> reports(result.modules.begin() + std::ptrdiff_t(firstModule), result.modules.end());
            timed(stage.journal, [&] { options.journal->layerDone(L, reports, secondsSince(layerStart), hidden, fpHidden); });
        }
        if (options.keepLayers) layers.push_back(std::make_shared<const DecoderLayer>(std::move(L)));  // else the journal holds it
    }

    if (options.keepLayers)
        result.model = LlamaModel::fromParts(c, model.embeddingPtr(), std::move(layers), model.finalNorm(),
                                             c.tieWordEmbeddings ? nullptr : model.lmHeadPtr());
    result.bitsPerWeight = result.linearWeights ? 8.0 * double(result.linearBytes) / double(result.linearWeights) : 0.0;
    result.seconds = priorSeconds + secondsSince(start);
    ctx.progress(1.0, "done");
    return result;
}

}  // namespace qb::core
