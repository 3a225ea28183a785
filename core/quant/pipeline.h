#pragma once
// quantizeModel — the sequential calibration driver (GPTQ reference, "true sequential").
//
// Decoder layer i is calibrated on the outputs of the already-quantized layers 0..i−1.
// Inside a layer the modules are quantized in four groups that share an input:
//   {q, k, v} → {o} → {gate, up} → {down}
// and each group's inputs are recomputed after the previous group is quantized. Per group:
//   GPTQ        H = 2/n·XᵀX of the group input, then the column sweep per module;
//   AWQ         activation-aware scale search on the group input, scales folded into the
//               preceding RMSNorm (q/k/v, gate/up) or linear (up→down; v→o only when
//               their shapes match, as llm-awq), then clipping search (not for q/k);
//   SmoothQuant s_j = max|X_j|^α / max|W_j|^(1−α) folded into the preceding RMSNorm
//               (q/k/v and gate/up, as the reference smooths them); W8A8 after;
//   OmniQuant   before the groups: the layer's learnable weight clipping is trained on the
//               whole block (omniquant/lwc_trainer.h) against the FP model's layer output, whose
//               hidden states the driver carries alongside; the groups then take the learned grids;
//   W8A8, LLM.int8(), RTN, fp16 need no statistics beyond the error measurement.
// Peak memory: one layer's weights plus the calibration activations of one group input.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/calib/calibration.h"
#include "core/model/llama_model.h"
#include "core/quant/plan.h"
#include "core/util/run_context.h"

namespace qb::core {

struct ModuleReport {
    std::string name;              ///< "model.layers.0.self_attn.q_proj"
    QuantScheme scheme;            ///< as resolved from the plan
    std::string format;            ///< Linear::format() of the result, e.g. "gptq int4 g32"
    Index outFeatures = 0;
    Index inFeatures = 0;
    double relativeError = 0.0;    ///< ‖XWᵀ − Linear(X)‖² / ‖XWᵀ‖² on calibration inputs X
    double seconds = 0.0;          ///< time spent quantizing this module (search + sweep)
    std::size_t bytes = 0;         ///< Linear::storageBytes() of the result
    double bitsPerWeight = 0.0;    ///< 8·bytes / (out·in)
    std::optional<double> outlierColumnFraction;  ///< LLM.int8(): input columns kept in FP
    std::optional<double> awqAlpha;               ///< AWQ: the chosen α of the module's group
    std::optional<double> gptqDamping;            ///< GPTQ: λ actually used
    std::vector<double> lwcEpochLoss;             ///< OmniQuant: the layer's block MSE per epoch (shared by its modules)
};

/// Where a quantize run's wall time went, summed over the layers this process ran (a resumed
/// run's earlier layers are not in it). The stages partition the run: total() is the run's
/// wall time less what falls between them (progress reports, copying a layer).
struct QuantizeStageSeconds {
    double embed = 0.0;             ///< the calibration windows' token embeddings
    double scaleSearch = 0.0;       ///< AWQ / SmoothQuant before the layer's quantization: capture forward, search, folding
    double lwcTraining = 0.0;       ///< OmniQuant: the layer's clipping training (and the float model's forward)
    double forward = 0.0;           ///< the staged forward through the layer being quantized, to the next layer's input
    double capture = 0.0;           ///< GroupCapture: Hessian 2/n·XᵀX, the kept rows, max|X|
    double gptqPrepare = 0.0;       ///< GPTQ: dead columns, permutation, static groups, damping
    double gptqFactor = 0.0;        ///< GPTQ: the Cholesky factor of H⁻¹
    double gptqSweep = 0.0;         ///< GPTQ: the column sweep
    double gptqObjective = 0.0;     ///< GPTQ: the objective tr(ΔW H ΔWᵀ) and its reference
    double otherQuantizers = 0.0;   ///< every other method's quantizer (RTN, AWQ clip + grid, int8, fp16)
    double outputError = 0.0;       ///< each module's relative output error on its captured input
    double journal = 0.0;           ///< writing each layer's resume state
    /// The stages in run order with their names as printed ("forward", "gptq factor", …).
    [[nodiscard]] std::vector<std::pair<std::string, double>> entries() const;
    [[nodiscard]] double total() const;
};

struct QuantizeResult {
    std::shared_ptr<LlamaModel> model;  ///< the quantized model (layers resident); null when options.keepLayers is false
    std::vector<ModuleReport> modules;  ///< in forward order
    std::uint64_t linearWeights = 0;    ///< number of weights in the linear modules
    std::uint64_t linearBytes = 0;      ///< their storage bytes after quantization
    double bitsPerWeight = 0.0;         ///< over the linear modules
    double seconds = 0.0;               ///< wall time of the whole run
    QuantizeStageSeconds stages;        ///< this process's share of it, by stage
    std::vector<std::string> notes;     ///< e.g. calibration shortened, plan rule warnings
    /// The run's QuantizeFingerprint as JSON (its toJson()), set by a caller that has one: the
    /// checkpoint's quantbench_report.json records it, so that `quantize --resume` killed after
    /// its state was removed knows the output is this run's.
    std::string fingerprintJson;
};

/// A run after its first layers.size() decoder layers: everything the driver needs to go on
/// with layer layers.size() exactly as if it had never stopped.
struct PartialQuantization {
    int layersDone = 0;                                       ///< k
    std::vector<std::shared_ptr<const DecoderLayer>> layers;  ///< layers 0..k−1, quantized (empty when not asked for)
    std::vector<ModuleReport> modules;                        ///< their modules, in forward order
    std::uint64_t linearWeights = 0;
    std::uint64_t linearBytes = 0;
    double seconds = 0.0;  ///< wall time the run spent on these layers
    MatrixRM hidden;       ///< [windows·T, hidden]: layer k's calibration input
    MatrixRM fpHidden;     ///< the same through the float model (OmniQuant plans; else empty)
};

/// Durable per-layer state of a run (core/quant/resume_state.h writes it to disk). The
/// driver asks restore() once before layer 0 and calls layerDone() after every layer; a
/// journal that throws stops the run with its error.
class LayerJournal {
public:
    virtual ~LayerJournal() = default;
    /// The layers an interrupted run finished (checked against model's shapes by the driver),
    /// or nullopt to start at layer 0. plan resolves the modules' schemes. withLayers false:
    /// only their reports (the driver streams layers and does not hold them).
    [[nodiscard]] virtual std::optional<PartialQuantization> restore(const LlamaModel& model, const QuantPlan& plan,
                                                                     bool withLayers) = 0;
    /// Layer layer.index is quantized: its modules' reports, the wall seconds it took, and the
    /// next layer's input hidden (fpHidden: empty unless the plan uses OmniQuant). Durable on return.
    virtual void layerDone(const DecoderLayer& layer, const std::vector<ModuleReport>& modules, double seconds,
                           const MatrixRM& hidden, const MatrixRM& fpHidden) = 0;
};

struct QuantizeOptions {
    /// Calibration rows per group input kept for the error measurement and AWQ's search;
    /// more rows are subsampled with a fixed stride. GPTQ's Hessian always sees every row.
    Index maxRowsKept = 1 << 17;
    /// Optional (not owned): resumes from its state and records every finished layer.
    LayerJournal* journal = nullptr;
    /// false: every finished layer goes to the journal (required) and is dropped from memory,
    /// so that a run holds one layer at a time however many there are (a 70B model's quantized
    /// layers are ≈ 37 GB at 4 bits); result.model is then null and the journal's files hold
    /// the layers (QuantizeResumeState::layer, which writeQuantizedCheckpoint streams from).
    bool keepLayers = true;
};

/// Quantizes a copy of `model` (the input is not modified) with `plan` on `calibration`.
/// Progress per module, cancel polled per module; a cancelled run throws Cancelled.
[[nodiscard]] QuantizeResult quantizeModel(const LlamaModel& model, const QuantPlan& plan,
                                           const CalibrationSet& calibration, const RunContext& ctx = {},
                                           const QuantizeOptions& options = {});

/// The names of all linear modules of a model, in forward order.
[[nodiscard]] std::vector<std::string> linearModuleNames(const ModelConfig& config);

/// OmniQuant's training loss per decoder layer: layer index → the block loss of each epoch,
/// taken from the reports of the layer's modules ("model.layers.<i>.…", which share it). Layers
/// whose modules were not trained are absent; empty for a run without OmniQuant. The session
/// (RunRecord::trainingLoss) and the report keep this history.
[[nodiscard]] std::map<int, std::vector<double>> trainingLossByLayer(const std::vector<ModuleReport>& modules);

}  // namespace qb::core
