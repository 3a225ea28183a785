#pragma once
// The plan autopilot's measured costs kept in a session, so a sweep resumes and a new target
// or solve reuses them (quantbench-cli plan --auto --session S.h5).
//
// Layout: /plan_costs/<fingerprint>/<module name>/ with attributes order (i64, forward order),
// out_features, in_features (i64), probe_kld, probe_rtn_error (f64), and datasets candidates
// (strings: each candidate's scheme JSON), bytes (u64 [candidates]), proxy (f64 [candidates])
// and, when measured, measured (f64 [candidates]). The fingerprint names what the costs depend
// on — the model, the calibration windows and the candidate space — so costs of another model,
// calibration or space are never mixed in: a different sweep gets its own group.

#include <filesystem>
#include <string>
#include <vector>

#include "core/calib/calibration.h"
#include "core/plan/plan_costs.h"
#include "core/store/session_data.h"

namespace qb::core {

/// SHA-256 (hex) over the model's config and safetensors header hashes (model.configSha256,
/// model.safetensorsHeaders), the calibration windows' tokens, windows and ctx, and every
/// field of options that changes a cost (methods, bits, groups, fp16, sym, measure).
[[nodiscard]] std::string planCostFingerprint(const SessionProvenance& model, const CalibrationSet& calibration,
                                              const PlanCostOptions& options);

/// The modules recorded under fingerprint in the session at path, in forward order; empty when
/// the file or the group does not exist. Throws Error "<file>: <problem>" for a file that is
/// not a session or a damaged record.
[[nodiscard]] std::vector<ModuleCosts> readPlanCosts(const std::filesystem::path& path, const std::string& fingerprint);

/// Records module under fingerprint (replacing a record of the same module), creating the
/// session with provenanceIfNew when path does not exist. order: the module's forward index.
/// Atomic (SessionStore::editRoot). Throws Error "<file>: <problem>".
void writePlanCostModule(const std::filesystem::path& path, const std::string& fingerprint, const ModuleCosts& module,
                         std::int64_t order, const SessionProvenance& provenanceIfNew);

}  // namespace qb::core
