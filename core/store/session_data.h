#pragma once
// SessionData — what one quantbench session file holds (docs/session-format.md): provenance,
// per-module statistics from inspect, and the plans and runs later issues append.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/module_costs.h"
#include "core/stats/module_stats.h"
#include "core/store/run_protocol.h"

namespace qb::core {

/// The session schema this build writes and the newest it reads.
inline constexpr int kSessionSchemaVersion = 1;
/// The root "format" attribute that marks an HDF5 file as a quantbench session.
inline constexpr const char* kSessionFormat = "quantbench-session";

/// SHA-256 of one safetensors file's JSON header (SafetensorsFile::headerText()).
struct SafetensorsHeaderHash {
    std::string file;    ///< file name inside the model folder, e.g. "model-00001-of-00002.safetensors"
    std::string sha256;  ///< 64 lowercase hex characters
};

/// Where the numbers of a session came from.
struct SessionProvenance {
    std::string modelPath;          ///< the model folder as given by the user (UTF-8)
    std::string configSha256;       ///< SHA-256 of config.json
    std::vector<SafetensorsHeaderHash> safetensorsHeaders;
    std::string calibrationSha256;  ///< SHA-256 of the calibration text file's bytes
    int calibrationWindows = 0;     ///< windows actually used
    int calibrationCtx = 0;         ///< tokens per window actually used
    std::uint64_t calibrationSeed = 0;
    std::string quantbenchVersion;  ///< QB_VERSION of the writer
    std::string createdUtc;         ///< ISO-8601, e.g. "2025-01-31T17:04:05Z"
};

/// A quantization plan stored in the session (the plan file's JSON text, unparsed).
struct PlanRecord {
    std::string name;        ///< unique in the session; no '/'
    std::string json;
    std::string createdUtc;  ///< filled with the current time when empty at write
};

/// The outcome of one run: a quantization, an evaluation or a benchmark.
struct RunRecord {
    std::string id;          ///< unique in the session; no '/'
    std::string planName;
    std::string planJson;    ///< the plan as it was run
    std::map<std::string, double> metrics;       ///< e.g. "perplexity", "seconds", "bytes"
    std::map<std::string, double> moduleErrors;  ///< module name -> relative output error
    std::string createdUtc;  ///< filled with the current time when empty at write
    /// How the run's figures were measured; empty for runs written before the protocol existed
    /// (and for the workbench's runs, which do not record one yet).
    std::optional<Protocol> protocol;
    /// Runs appended by quantbench-cli: "eval", "quantize" or "bench"; empty for the workbench's.
    std::string command;
    /// The model the figures are of (an absolute folder): for a CLI run of eval or bench, the
    /// --model given (the session's model or a quantized checkpoint of it); empty otherwise.
    std::string modelPath;
    /// KLD runs: KL(baseline‖model) at every scored position in scoring order (window by
    /// window, ctx − 1 positions each; core/eval/kl_divergence.h), nats, and the token id each
    /// position predicted (same length). Empty when the run kept none (CLI runs, older sessions).
    std::vector<float> tokenKld;
    std::vector<std::int32_t> tokenKldTargets;
    /// OmniQuant runs: each trained decoder layer's block loss per epoch (layer index → the
    /// epochs' mean losses, core::trainingLossByLayer); empty for other runs and older sessions.
    std::map<int, std::vector<double>> trainingLoss;
};

struct SessionData {
    /// The schema of the file read; write() always writes kSessionSchemaVersion.
    int schemaVersion = kSessionSchemaVersion;
    SessionProvenance provenance;
    std::vector<ModuleStats> modules;  ///< in model order
    std::vector<PlanRecord> plans;     ///< sorted by name when read
    std::vector<RunRecord> runs;       ///< in the order they were written
    /// The plan autopilot's measured costs (/plan_costs: `plan --auto --session`, the
    /// workbench's Optimize), one sweep per fingerprint, sorted by fingerprint when read.
    std::vector<PlanCostSweep> planCosts;
};

}  // namespace qb::core
