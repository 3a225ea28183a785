#pragma once
// QuantizeFingerprint — what makes two quantize runs the same run, so that an interrupted one
// may be continued (quantize --resume, core/quant/resume_state.h) only by a run that would
// have produced the same checkpoint from its first layer.
//
// Each field has a short user-facing name and a value: a SHA-256 for files and texts, the
// literal for numbers. The fields, in order:
//   quantbench version   QB_VERSION (a new build may quantize differently)
//   model config         SHA-256 of config.json
//   model weights        SHA-256 over every safetensors file's header, size, and every tensor's
//                        first and last 4 KiB (a re-downloaded fine-tune of the same shape differs
//                        there; hashing a 70B model's 140 GB whole would take minutes)
//   plan                 SHA-256 of the plan's canonical JSON (QuantPlan::toJsonText)
//   calibration text     SHA-256 of the text
//   calibration windows, calibration ctx, seed    literals
//   calibration tokens   SHA-256 of the sampled windows' token ids (catches a changed tokenizer)
//   rows kept            QuantizeOptions::maxRowsKept
//   device               the backend that runs the quantizers ("cpu", "cuda:0"): GPU arithmetic
//                        differs from the CPU's in the last bits
// The thread count is not a field: on the CPU, GPTQ on the bundled model with --threads 1 and
// with 2 threads wrote the same checkpoint bytes.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/calib/calibration.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"

namespace qb::core {

struct FingerprintField {
    std::string name;   ///< "plan", "seed", …
    std::string value;  ///< a hex digest or a literal
    bool literal = false;  ///< true: the value is shown in a reason ("seed changed (0 → 7)")

    friend bool operator==(const FingerprintField&, const FingerprintField&) = default;
};

class QuantizeFingerprint {
public:
    void add(std::string name, std::string value, bool literal = false);
    [[nodiscard]] const std::vector<FingerprintField>& fields() const { return m_fields; }

    /// One JSON object {"name": value, …} in field order, with a trailing newline.
    [[nodiscard]] std::string toJson() const;
    /// Parses toJson()'s text. Throws Error "<origin>: …" on anything else.
    [[nodiscard]] static QuantizeFingerprint fromJson(const std::string& text, const std::string& origin);

    /// Why a run with this fingerprint is not the run `before` recorded: "the plan changed",
    /// "the seed changed (0 → 7)", naming the first field that differs; nullopt when none does.
    [[nodiscard]] std::optional<std::string> changeFrom(const QuantizeFingerprint& before) const;

private:
    std::vector<FingerprintField> m_fields;
};

/// The fingerprint of quantizing the model in modelDir with plan on calibration (sampled from
/// calibText with seed) under options, on the backend named device. Reads config.json and a
/// few KiB of every tensor. Throws Error naming the file when the model cannot be read.
[[nodiscard]] QuantizeFingerprint quantizeFingerprint(const std::filesystem::path& modelDir, const QuantPlan& plan,
                                                      const std::string& calibText, const CalibrationSet& calibration,
                                                      std::uint64_t seed, const QuantizeOptions& options,
                                                      const std::string& device);

}  // namespace qb::core
