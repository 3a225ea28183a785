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

namespace H5 {
class Group;
}

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

/// Wires a sweep to the session at path: the modules recorded there under fingerprint are
/// offered for reuse (options.reuse, as reusePlanCosts), and each freshly measured module is
/// recorded as it finishes (options.finished, writePlanCostModule with its index in
/// moduleOrder, the model's linear modules in forward order). Reads the session now; throws
/// Error "<file>: <problem>" as readPlanCosts.
void attachPlanCostSession(const std::filesystem::path& path, const std::string& fingerprint, const std::vector<std::string>& moduleOrder,
                           const SessionProvenance& provenanceIfNew, PlanCostOptions& options);

/// Sets options.reuse to offer known's modules by name (measurePlanCosts takes one only when
/// its candidates are the pending module's, with measured costs when options.measure).
void reusePlanCosts(std::vector<ModuleCosts> known, PlanCostOptions& options);

/// For SessionStore's read and write of a whole session: every sweep under root's /plan_costs
/// (modules in their recorded order, sweeps by fingerprint), and writing them under a root
/// that has no /plan_costs yet.
[[nodiscard]] std::vector<PlanCostSweep> readPlanCostSweeps(const H5::Group& root);
void writePlanCostSweeps(const H5::Group& root, const std::vector<PlanCostSweep>& sweeps);

}  // namespace qb::core
