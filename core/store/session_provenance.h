#pragma once
// Provenance of a session: hashes that tie the stored numbers to the exact model and
// calibration text they came from.

#include <cstdint>
#include <string>

#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/store/session_data.h"

namespace qb::core {

/// Fills SessionProvenance: modelPath = checkpoint.dir(); SHA-256 of dir/config.json and of the
/// JSON header of every safetensors file (in checkpoint order); SHA-256 of calibrationText (the
/// calibration file's bytes); windows/ctx as sampled in calibration, the seed given; QB_VERSION;
/// the current UTC time. Throws Error "<file>: cannot read" when config.json cannot be read.
[[nodiscard]] SessionProvenance makeSessionProvenance(const Checkpoint& checkpoint, const std::string& calibrationText,
                                                      const CalibrationSet& calibration, std::uint64_t seed);

/// The same for a session that starts without calibration (quantbench-cli eval or bench
/// --session creating it): modelPath is the checkpoint folder made absolute, so the workbench
/// finds it from any working directory; the calibration fields stay empty/0.
[[nodiscard]] SessionProvenance makeSessionProvenance(const Checkpoint& checkpoint);

}  // namespace qb::core
