#pragma once
// QuantizeResumeState — the durable per-layer state of a quantize run, so that a run killed
// at any moment (SIGKILL, power loss) can be continued by `quantize --resume` and produce the
// checkpoint an uninterrupted run would have, byte for byte.
//
// The state lives in a folder beside the output, "<out>.quantize-state/":
//   fingerprint.json         QuantizeFingerprint of the run (written first)
//   owner.pid                the process that uses the folder (a second live run is refused)
//   layer-00003.safetensors  layer 3 as quantized: its norms, each module's exact contents
//                            (grid codes packed as the checkpoint packs them, int8 codes and
//                            row scales, F16 weights, bias; core/quant/layer_state_file.h) and,
//                            in the metadata, its module reports and seconds. A run that does
//                            not keep its layers in memory writes its checkpoint from these.
//   hidden-00003.safetensors layer 3's output (the next layer's calibration input), F32
//                            [windows·ctx, hidden], and the float model's with OmniQuant
// Each file is written as "<name>.part", fsync'ed, renamed, and the folder fsync'ed: a file
// that exists under its final name is complete. After layer k is written, hidden-(k−1) is
// removed, so the folder holds one layer's activations. A resume takes the longest prefix
// 0..k−1 of layer files for which hidden-(k−1) exists and goes on with layer k.

#include <filesystem>
#include <memory>
#include <optional>

#include "core/quant/pipeline.h"
#include "core/quant/quantize_fingerprint.h"
#include "core/util/run_context.h"

namespace qb::core {

class QuantizeResumeState final : public LayerJournal {
public:
    /// "<outDir>.quantize-state" (a trailing slash of outDir ignored).
    [[nodiscard]] static std::filesystem::path folderFor(const std::filesystem::path& outDir);
    /// How many leading layers a state folder holds complete (a resume would skip them); 0 when
    /// the folder is missing or holds none. Never throws.
    [[nodiscard]] static int completeLayers(const std::filesystem::path& folder);

    /// For a fresh run: removes what is in folder (an interrupted run's state; ctx.log says how
    /// many layers it held), then creates it and writes fingerprint. Throws Error naming the
    /// folder when it cannot be written or another live process owns it.
    [[nodiscard]] static std::unique_ptr<QuantizeResumeState> startFresh(const std::filesystem::path& folder,
                                                                          const QuantizeFingerprint& fingerprint,
                                                                          const RunContext& ctx = {});
    /// For --resume: the state in folder, whose layers restore() hands to the driver. Throws
    /// Error "cannot resume from <folder>: the plan changed …" when its fingerprint differs.
    /// A missing folder (nothing was interrupted) starts a fresh state, and ctx.log says so.
    [[nodiscard]] static std::unique_ptr<QuantizeResumeState> resume(const std::filesystem::path& folder,
                                                                      const QuantizeFingerprint& fingerprint,
                                                                      const RunContext& ctx = {});

    [[nodiscard]] const std::filesystem::path& folder() const { return m_folder; }

    /// LayerJournal: the complete prefix of layers (nullopt for none). Throws Error naming the
    /// file when a layer file is unreadable or does not fit model.
    [[nodiscard]] std::optional<PartialQuantization> restore(const LlamaModel& model, const QuantPlan& plan, bool withLayers) override;
    /// LayerJournal: writes layer-<i> and hidden-<i> durably, then drops hidden-<i−1>.
    void layerDone(const DecoderLayer& layer, const std::vector<ModuleReport>& modules, double seconds,
                   const MatrixRM& hidden, const MatrixRM& fpHidden) override;

    /// Layer `index` as layerDone() wrote it (a run that does not keep its layers writes its
    /// checkpoint from here, one layer at a time). Throws Error naming the file.
    [[nodiscard]] std::shared_ptr<const DecoderLayer> layer(int index, const ModelConfig& config, const QuantPlan& plan) const;

    /// Removes the folder (the checkpoint is written; nothing is left to resume), its fingerprint
    /// first. Best effort.
    void remove();
    /// True when outDir is a checkpoint whose quantbench_report.json records fingerprint (the
    /// run wrote it; QuantizeResult::fingerprintJson). False for anything else; never throws.
    [[nodiscard]] static bool outputHoldsRun(const std::filesystem::path& outDir, const QuantizeFingerprint& fingerprint);
    /// True when folder holds a run's fingerprint; false for a missing folder or one whose
    /// removal was cut short (remove() drops the fingerprint first).
    [[nodiscard]] static bool holdsRun(const std::filesystem::path& folder);

private:
    explicit QuantizeResumeState(std::filesystem::path folder) : m_folder(std::move(folder)) {}
    void claim();  // writes owner.pid; throws when another live process owns the folder

    std::filesystem::path m_folder;
};

}  // namespace qb::core
