#include "core/stats/inspect.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/util/error.h"

namespace qb::core {
namespace {

/// The module whose tap call carries the input of kind (q for q/k/v, gate for gate/up).
ModuleKind inputOwner(ModuleKind kind) {
    switch (kind) {
        case ModuleKind::K:
        case ModuleKind::V: return ModuleKind::Q;
        case ModuleKind::Up: return ModuleKind::Gate;
        default: return kind;
    }
}

/// Statistics of one distinct module input.
struct InputCollector {
    InputCollector(Index in, Index tokens, const InspectOptions& options) : activation(in, options.activation) {
        if (options.computeSensitivity) sensitivity.emplace(in, tokens);
    }
    ActivationStatsAccumulator activation;
    std::optional<SensitivityInputs> sensitivity;  ///< X or XᵀX; released after the input's last reader
    int readers = 0;                               ///< modules of the layer that read this input
};

/// Offers the four distinct inputs of layer `layer` to their collectors; skips the others.
class InspectTap final : public ActivationTap {
public:
    explicit InspectTap(std::map<std::string, InputCollector*> collectors) : m_collectors(std::move(collectors)) {}
    [[nodiscard]] bool wants(const std::string& name) const override { return m_collectors.count(name) > 0; }
    void observe(const std::string& name, const ConstMatrixRef& X) override {
        InputCollector& c = *m_collectors.at(name);
        c.activation.add(X);
        if (c.sensitivity) c.sensitivity->add(X);
    }

private:
    std::map<std::string, InputCollector*> m_collectors;
};

void validate(const LlamaModel& model, const CalibrationSet& calib, const InspectOptions& options) {
    if (calib.windows < 1 || calib.ctx < 1) throw Error("inspect: the calibration set is empty");
    if (calib.tokens.size() != std::size_t(calib.windows) * std::size_t(calib.ctx))
        throw Error("inspect: the calibration set holds " + std::to_string(calib.tokens.size()) + " tokens, expected " +
                    std::to_string(calib.windows) + " windows × " + std::to_string(calib.ctx));
    if (options.batchWindows < 0) throw Error("inspect: batchWindows must not be negative");
    if (model.config().numLayers < 1) throw Error("inspect: the model has no decoder layer");
}

/// Windows per forward batch (InspectOptions::batchWindows).
int windowsPerBatch(const ModelConfig& c, const CalibrationSet& calib, const InspectOptions& options) {
    if (options.batchWindows > 0) return options.batchWindows;
    const double widestWindow = double(calib.ctx) * double(std::max(c.hiddenSize, c.intermediateSize)) * sizeof(float);
    return int(std::clamp(std::floor(double(options.batchBudgetBytes) / widestWindow), 1.0, double(calib.windows)));
}

/// Runs layer i over all windows in batches, feeding tap; hidden is updated in place.
void runLayerBatched(const LlamaModel& model, int i, MatrixRM& hidden, const CalibrationSet& calib,
                     const InspectOptions& options, InspectTap& tap, const RunContext& ctx) {
    const int L = model.config().numLayers;
    const int batch = windowsPerBatch(model.config(), calib, options);
    for (int w0 = 0; w0 < calib.windows; w0 += batch) {
        ctx.throwIfStopped();
        const int nw = std::min(batch, calib.windows - w0);
        const Index begin = Index(w0) * calib.ctx;
        const Index rows = Index(nw) * calib.ctx;
        MatrixRM batch = hidden.middleRows(begin, rows);  // [nw × ctx, hidden]
        model.runLayer(i, batch, calib.ctx, &tap);
        hidden.middleRows(begin, rows) = batch;
        ctx.progress((i + 0.8 * double(w0 + nw) / calib.windows) / L, "inspect: layer " + std::to_string(i));
    }
}

}  // namespace

void inspectModel(const LlamaModel& model, const CalibrationSet& calibration, const InspectOptions& options,
                  const ModuleStatsSink& sink, const RunContext& ctx) {
    validate(model, calibration, options);
    if (!sink) throw Error("inspect: no receiver for the module statistics");
    const int L = model.config().numLayers;
    const Index tokens = Index(calibration.windows) * calibration.ctx;
    MatrixRM hidden = model.embed(calibration.tokens);  // [windows × ctx, hidden]
    for (int i = 0; i < L; ++i) {
        ctx.throwIfStopped();
        withErrorContext("inspect: layer " + std::to_string(i), [&] {
            std::shared_ptr<const DecoderLayer> layer = model.layer(i);
            std::map<ModuleKind, InputCollector> collectors;
            std::map<std::string, InputCollector*> byName;
            for (ModuleKind kind : kAllModuleKinds) {
                const ModuleKind owner = inputOwner(kind);
                auto [it, inserted] = collectors.try_emplace(owner, layer->linear(owner)->inFeatures(), tokens, options);
                ++it->second.readers;
                byName[moduleName(i, owner)] = &it->second;
            }
            InspectTap tap(byName);
            runLayerBatched(model, i, hidden, calibration, options, tap, ctx);

            std::map<ModuleKind, std::shared_ptr<const ActivationStats>> activations;
            for (auto& [kind, collector] : collectors)
                activations[kind] = std::make_shared<const ActivationStats>(collector.activation.finish());
            for (ModuleKind kind : kAllModuleKinds) {
                ctx.throwIfStopped();
                const Linear& linear = *layer->linear(kind);
                // W [out, in]: the layer's own float weights when it holds them, else a dense copy.
                const auto* dense = dynamic_cast<const DenseLinear*>(&linear);
                const MatrixRM copy = dense ? MatrixRM() : linear.denseWeight();
                const MatrixRM& W = dense ? dense->weight() : copy;
                ModuleStats m;
                m.name = moduleName(i, kind);
                m.outFeatures = linear.outFeatures();
                m.inFeatures = linear.inFeatures();
                m.weight = computeWeightStats(W, options.weight);
                const ModuleKind owner = inputOwner(kind);
                m.activation = activations.at(owner);
                InputCollector& collector = collectors.at(owner);
                if (collector.sensitivity) m.sensitivity = computeSensitivity(W, *collector.sensitivity, options.sensitivity);
                if (--collector.readers == 0) collector.sensitivity.reset();
                sink(std::move(m));
            }
        });
        ctx.progress(double(i + 1) / L, "inspect: layer " + std::to_string(i));
        ctx.log("inspect: layer " + std::to_string(i + 1) + "/" + std::to_string(L) + " done");
    }
}

InspectResult inspectModel(const LlamaModel& model, const CalibrationSet& calibration, const InspectOptions& options,
                           const RunContext& ctx) {
    InspectResult result;
    result.windows = calibration.windows;
    result.ctx = calibration.ctx;
    inspectModel(model, calibration, options, [&](ModuleStats&& m) { result.modules.push_back(std::move(m)); }, ctx);
    return result;
}

}  // namespace qb::core
