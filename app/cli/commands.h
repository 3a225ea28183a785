#pragma once
// The subcommands of quantbench-cli. Each takes parsed options, calls one core function and
// prints what a user needs; it returns the process exit code and throws qb::core::Error on
// bad input (main() prints it in one line).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qb::cli {

struct InfoArgs {
    std::string model;
    bool json = false;
};
int runInfo(const InfoArgs& args);

struct EvalArgs {
    std::string model;
    std::string text;
    int ctx = 512;
    std::optional<int> maxWindows;
    int batch = 8;
    std::string saveLogits;  ///< optional safetensors file: tokens and logits of every window
    std::string baseline;        ///< optional model folder: KL divergence of --model against it
    std::string baselineLogits;  ///< optional --save-logits file of a baseline (instead of --baseline)
    std::string session;         ///< optional HDF5 session the run is appended to (created when missing)
    bool json = false;
    bool quiet = false;
};
int runEval(const EvalArgs& args);

}  // namespace qb::cli

namespace qb::cli {

struct QuantizeArgs {
    std::string model;
    std::string plan;
    std::string calib;
    std::string out;
    int calibWindows = 128;
    int calibCtx = 512;
    std::uint64_t seed = 0;
    std::string evalText;  ///< optional: perplexity of the quantized model on this text
    int evalCtx = 512;
    std::string session;   ///< optional HDF5 session the run is appended to (created when missing)
    std::string exportFormat;  ///< optional: also export the checkpoint (gguf, gptq, awq, compressed-tensors) through runExport
    std::string exportOut;     ///< the export's file or folder; empty = "<out>.gguf" or "<out>-<format>"
    std::string exportType = "F16";           ///< GGUF type of the export
    std::string exportOutputType;             ///< GGUF output head's type (export --output-type); empty = llama-quantize's rule
    std::string exportCheckpointFormat = "auto";  ///< GPTQ v1/v2 of the export
    bool dryRun = false;
    bool json = false;
    bool quiet = false;
    bool resume = false;  ///< continue an interrupted run from its state folder "<out>.quantize-state"
};
/// Quantizes, writes the checkpoint, and with exportFormat exports it as `export` does
/// (runExport, its check included): a failed check removes the export and throws Error; the
/// checkpoint stays.
int runQuantize(const QuantizeArgs& args);

}  // namespace qb::cli

namespace qb::cli {

struct InspectArgs {
    std::string model;
    std::string calib;
    std::string out;
    int calibWindows = 128;
    int calibCtx = 512;
    std::uint64_t seed = 0;
    bool noSensitivity = false;
    double threshold = 6.0;          ///< LLM.int8() rule: |x| at or above it
    double relativeFactor = 20.0;    ///< relative rule: channel absmax >= factor × median channel absmax
    bool json = false;
    bool quiet = false;
};
int runInspect(const InspectArgs& args);

struct BenchArgs {
    std::string model;
    bool kernels = false;          ///< matrix–vector kernel benchmark instead of a model
    int promptTokens = 128;
    int genTokens = 128;
    std::optional<int> repeats;    ///< kernels: repetitions (25); model: prefill repetitions (3)
    std::vector<std::string> shapes;  ///< kernels: "ROWSxCOLS" each; empty = the default shapes
    std::string session;   ///< model bench: optional HDF5 session the run is appended to (created when missing)
    bool json = false;
};
int runBench(const BenchArgs& args);

}  // namespace qb::cli

namespace qb::cli {

struct TokenizeArgs {
    std::string model;  ///< folder with tokenizer.json (+ tokenizer_config.json) or tokenizer.model
    std::string text;   ///< UTF-8 text file
    bool json = false;
    bool pieces = false;  ///< one line per token: id, tab, the piece's bytes quoted
    bool timing = false;  ///< load and encode time, MB/s on stderr
};
int runTokenize(const TokenizeArgs& args);

}  // namespace qb::cli

namespace qb::cli {

struct SelftestArgs {
    std::string device;  ///< "cuda:0"; empty: the first CUDA device
    std::string model;   ///< default resources/models/stories260K (from the repository root)
    std::string calib;
    std::string text;
    bool quick = false;
    bool json = false;
};
/// Every CUDA op against the CPU backend, then the bundled model GPTQ W4 g32 on both
/// (gpu/selftest.h). Exit 0 when every check passes, 1 otherwise; throws Error when there is
/// no CUDA backend or device.
int runSelftest(const SelftestArgs& args);

}  // namespace qb::cli

namespace qb::cli {

struct PlanArgs {
    std::string model;
    std::string calib;
    std::string out;
    std::optional<double> targetBpw;
    std::optional<std::uint64_t> targetBytes;
    std::optional<double> targetKld;  ///< the smallest plan whose predicted KLD (nats) is within it
    std::string session;              ///< record the costs here and reuse those recorded (resumable)
    bool confirm = false;             ///< quantize the plan sequentially and measure its KLD
    std::string methods = "gptq,awq,rtn";
    std::string bits = "2-8";      ///< a range keeps what plans accept (2–8)
    std::string groups = "32,128";  ///< -1 = one group per row
    bool noFp16 = false;
    bool proxy = false;            ///< plan from the proxy costs (one forward per module)
    int calibWindows = 8;
    int calibCtx = 128;
    std::uint64_t seed = 0;
    bool json = false;
    bool quiet = false;
};
/// plan --auto: per-module costs, the budgeted plan, the plan file (core/plan/autoplan.h).
int runPlan(const PlanArgs& args);

}  // namespace qb::cli
