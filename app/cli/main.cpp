// quantbench-cli — headless front end: every job the GUI runs, as a thin subcommand.
// This is the only translation unit that includes CLI11.
#include <cstdio>
#include <exception>
#include <string>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "app/cli/cmd_export.h"
#include "app/cli/commands.h"
#ifdef QB_HAVE_REPORT
#include "app/cli/cmd_report.h"
#endif
#include "core/backend/backend.h"
#include "core/export/export_summary.h"
#include "core/quant/method_registry.h"
#include "core/util/error.h"
#ifdef QB_HAVE_APP_COMMON
#include "app/common/gpu_registration.h"
#include "app/common/huge_page_malloc.h"
#endif

namespace {

constexpr const char* kVersion = "quantbench-cli " QB_VERSION;
constexpr const char* kSessionHelp =
    "append this run (metrics, per-module errors, plan, protocol) to an HDF5 session the workbench opens; "
    "created when missing";

void addCommonFlags(CLI::App* cmd, int& threads) {
    cmd->set_version_flag("--version", kVersion);
    cmd->add_option("--threads", threads, "worker threads (default: all cores)")->check(CLI::Range(1, 1024));
}

// --device for the commands that do heavy matrix work.
void addDeviceFlag(CLI::App* cmd, std::string& device) {
    cmd->add_option("--device", device, "cpu or cuda:N (default: the first usable GPU, else the CPU)");
}

#ifdef QB_HAVE_APP_COMMON
// The commands that run a model's forward passes or quantizers, where malloc on huge pages pays
// for the re-exec's second process start (about 0.4 s with the CUDA libraries loaded twice).
bool runsAModel(int argc, char** argv) {
    if (argc < 2) return false;
    const std::string command = argv[1];
    for (const char* heavy : {"eval", "quantize", "plan", "inspect", "bench", "export", "check-export"})
        if (command == heavy) return true;
    return false;
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef QB_HAVE_APP_COMMON
    // First: it may replace the process (BENCHMARKS.md, "Huge pages for malloc").
    if (runsAModel(argc, argv)) qb::app::reexecWithHugePageMalloc(argv);
#endif
    CLI::App app{"quantbench-cli — post-training quantization of LLM checkpoints, headless"};
    app.set_version_flag("--version", kVersion);
    app.require_subcommand(1);
    app.failure_message(CLI::FailureMessage::simple);
    int threads = 0;
    std::string device;

    qb::cli::InfoArgs info;
    auto* infoCmd = app.add_subcommand("info", "architecture, sizes, parameters, dtypes and bytes of a checkpoint");
    infoCmd->add_option("--model", info.model, "Hugging Face model folder")->required();
    infoCmd->add_flag("--json", info.json, "print one JSON object");
    addCommonFlags(infoCmd, threads);

    qb::cli::EvalArgs eval;
    auto* evalCmd = app.add_subcommand("eval", "perplexity of a checkpoint on a text (non-overlapping windows)");
    evalCmd->add_option("--model", eval.model, "Hugging Face model folder (FP or quantized)")->required();
    evalCmd->add_option("--text", eval.text, "UTF-8 text; stories separated by <|endoftext|> lines")->required();
    evalCmd->add_option("--ctx", eval.ctx, "window length in tokens")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    evalCmd->add_option("--max-windows", eval.maxWindows, "score only the first N windows")->check(CLI::Range(1, 1 << 30));
    evalCmd->add_option("--batch", eval.batch, "windows per forward batch")->check(CLI::Range(1, 4096))->capture_default_str();
    evalCmd->add_option("--save-logits", eval.saveLogits,
                        "also write the evaluated windows' tokens [windows, ctx] (I32) and logits [windows, ctx, vocab] (F32) "
                        "to this safetensors file");
    evalCmd->add_option("--baseline", eval.baseline,
                        "also run this model folder (e.g. the FP16 original) on the same windows and print the KL divergence "
                        "of --model from it, top-1 agreement and RMS Δp");
    evalCmd->add_option("--baseline-logits", eval.baselineLogits,
                        "the same against a baseline's logits saved by eval --save-logits (same text, ctx and windows)");
    evalCmd->add_option("--session", eval.session, kSessionHelp);
    evalCmd->add_flag("--json", eval.json, "print one JSON object");
    evalCmd->add_flag("--quiet", eval.quiet, "no progress output");
    addCommonFlags(evalCmd, threads);
    addDeviceFlag(evalCmd, device);

    qb::cli::QuantizeArgs quant;
    auto* quantCmd = app.add_subcommand("quantize", "quantize a checkpoint with a per-layer plan and write the result");
    quantCmd->add_option("--model", quant.model, "Hugging Face model folder")->required();
    quantCmd->add_option("--plan", quant.plan, "plan JSON (default scheme + glob rules)")->required();
    quantCmd->add_option("--calib", quant.calib, "calibration text");
    quantCmd->add_option("--out", quant.out, "output folder (must not exist, or be an empty folder)");
    quantCmd->add_option("--calib-windows", quant.calibWindows, "calibration windows")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    quantCmd->add_option("--calib-ctx", quant.calibCtx, "tokens per calibration window")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    quantCmd->add_option("--seed", quant.seed, "seed of the calibration window sampling")->capture_default_str();
    quantCmd->add_option("--eval", quant.evalText, "also print the perplexity of the quantized model on this text");
    quantCmd->add_option("--eval-ctx", quant.evalCtx, "window length for --eval")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    quantCmd->add_option("--session", quant.session, kSessionHelp);
    quantCmd->add_option("--export", quant.exportFormat, "then export the checkpoint as export does, checked: " + qb::core::exportFormatList());
    quantCmd->add_option("--export-out", quant.exportOut, "the export's file or folder (default: OUT.gguf or OUT-FORMAT)");
    quantCmd->add_option("--type", quant.exportType, "--export gguf: type of the weight matrices (as export --type)")->capture_default_str();
    quantCmd->add_option("--output-type", quant.exportOutputType, "--export gguf: type of the output head (as export --output-type)");
    quantCmd->add_option("--checkpoint-format", quant.exportCheckpointFormat, "--export gptq: auto, gptq (v1) or gptq_v2")->capture_default_str();
    quantCmd->add_flag("--dry-run", quant.dryRun, "print the resolved scheme of every module and stop");
    quantCmd->add_flag("--resume", quant.resume,
                       "continue an interrupted run with the same arguments from OUT.quantize-state (refused, with the reason, if anything changed)");
    quantCmd->add_flag("--json", quant.json, "print one JSON object");
    quantCmd->add_flag("--quiet", quant.quiet, "no progress output");
    addCommonFlags(quantCmd, threads);
    addDeviceFlag(quantCmd, device);
    quantCmd->footer(qb::core::methodHelpText());

    qb::cli::PlanArgs plan;
    bool planAuto = false;
    auto* planCmd = app.add_subcommand("plan", "choose each module's scheme under a size budget from measured costs (--auto) and write the plan file");
    planCmd->add_flag("--auto", planAuto, "measure every candidate's KLD cost per module and solve the budgeted choice")->required();
    planCmd->add_option("--model", plan.model, "Hugging Face model folder")->required();
    planCmd->add_option("--calib", plan.calib, "calibration text the costs are measured on")->required();
    planCmd->add_option("--out", plan.out, "plan JSON to write (as quantize --plan reads)")->required();
    planCmd->add_option("--target-bpw", plan.targetBpw, "size budget in bits per weight of the linear modules");
    planCmd->add_option("--target-bytes", plan.targetBytes, "size budget in bytes of the linear modules");
    planCmd->add_option("--target-kld", plan.targetKld, "instead of a size: the smallest plan whose predicted KLD (sum of module costs, nats) is at most this");
    planCmd->add_option("--session", plan.session, "record each module's costs in this session as measured and reuse those recorded for the same model, calibration and candidates");
    planCmd->add_flag("--confirm", plan.confirm, "quantize the chosen plan (the sequential pipeline) and print its measured KLD on the cost windows next to the predicted");
    planCmd->add_option("--methods", plan.methods, "candidate methods (rtn, gptq, awq)")->capture_default_str();
    planCmd->add_option("--bits", plan.bits, "candidate bit widths: a range (2-8; widths outside 2–8 are left out) or a list")->capture_default_str();
    planCmd->add_option("--groups", plan.groups, "candidate group sizes (-1 = one group per row)")->capture_default_str();
    planCmd->add_flag("--no-fp16", plan.noFp16, "do not offer keeping a module in F16");
    planCmd->add_flag("--proxy", plan.proxy, "plan from the proxy costs (RTN output error x one measured probe per module)");
    planCmd->add_option("--calib-windows", plan.calibWindows, "calibration windows")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    planCmd->add_option("--calib-ctx", plan.calibCtx, "tokens per calibration window")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    planCmd->add_option("--seed", plan.seed, "seed of the calibration window sampling")->capture_default_str();
    planCmd->add_flag("--json", plan.json, "print one JSON object");
    planCmd->add_flag("--quiet", plan.quiet, "no progress output");
    addCommonFlags(planCmd, threads);

    qb::cli::InspectArgs inspect;
    auto* inspectCmd = app.add_subcommand("inspect", "per-module weight/activation outlier statistics and sensitivity, saved as an HDF5 session");
    inspectCmd->add_option("--model", inspect.model, "Hugging Face model folder")->required();
    inspectCmd->add_option("--calib", inspect.calib, "calibration text")->required();
    inspectCmd->add_option("--out", inspect.out, "session file to write (.h5)")->required();
    inspectCmd->add_option("--calib-windows", inspect.calibWindows, "calibration windows")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    inspectCmd->add_option("--calib-ctx", inspect.calibCtx, "tokens per calibration window")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    inspectCmd->add_option("--seed", inspect.seed, "seed of the calibration window sampling")->capture_default_str();
    inspectCmd->add_flag("--no-sensitivity", inspect.noSensitivity, "skip the RTN sensitivity table (saves the Gram matrices)");
    inspectCmd->add_option("--threshold", inspect.threshold, "LLM.int8() outlier rule: a channel with any |x| at or above this")
        ->check(CLI::PositiveNumber)->capture_default_str();
    inspectCmd->add_option("--relative-factor", inspect.relativeFactor,
                           "relative outlier rule: channel max |x| at least this many times the median channel's")
        ->check(CLI::Range(1.0, 1e6))->capture_default_str();
    inspectCmd->add_flag("--json", inspect.json, "print one JSON object");
    inspectCmd->add_flag("--quiet", inspect.quiet, "no progress output");
    addCommonFlags(inspectCmd, threads);
    addDeviceFlag(inspectCmd, device);

    qb::cli::BenchArgs bench;
    auto* benchCmd = app.add_subcommand("bench", "prefill/decode latency, weight bytes and peak RSS against FP16, or the kernels (--kernels)");
    benchCmd->add_option("--model", bench.model, "Hugging Face model folder (FP or quantized)");
    benchCmd->add_flag("--kernels", bench.kernels, "matrix-vector kernels per format instead of a model");
    benchCmd->add_option("--prompt-tokens", bench.promptTokens, "prompt length (prefill)")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    benchCmd->add_option("--gen-tokens", bench.genTokens, "greedy tokens to generate (decode)")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    benchCmd->add_option("--repeats", bench.repeats, "kernel repetitions (default 25) or prefill repetitions (default 3)")->check(CLI::Range(1, 100000));
    benchCmd->add_option("--shape", bench.shapes, "kernels: weight shape ROWSxCOLS, repeatable (default 4096x4096 11008x4096 4096x11008)");
    benchCmd->add_option("--session", bench.session, kSessionHelp);
    benchCmd->add_flag("--json", bench.json, "print one JSON object");
    addCommonFlags(benchCmd, threads);
    addDeviceFlag(benchCmd, device);

    qb::cli::TokenizeArgs tokenize;
    auto* tokenizeCmd = app.add_subcommand("tokenize", "token ids of a text file (no BOS/EOS), as the checkpoint's tokenizer encodes it");
    tokenizeCmd->add_option("--model", tokenize.model, "folder with tokenizer.json (+ tokenizer_config.json) or tokenizer.model")->required();
    tokenizeCmd->add_option("--text", tokenize.text, "UTF-8 text file")->required();
    tokenizeCmd->add_flag("--json", tokenize.json, "print {\"ids\": [...], \"count\": N}");
    tokenizeCmd->add_flag("--pieces", tokenize.pieces, "one line per token: id, a tab, the piece quoted");
    tokenizeCmd->add_flag("--timing", tokenize.timing, "print load and encode time (MB/s) on stderr");
    addCommonFlags(tokenizeCmd, threads);

    qb::cli::ExportArgs exportArgs;
    auto* exportCmd = app.add_subcommand("export", "write a checkpoint as a GGUF file for llama.cpp, then reload and check it");
    exportCmd->add_option("--model", exportArgs.model, "Hugging Face model folder (float or quantized)")->required();
    exportCmd->add_option("--format", exportArgs.format, "output format: gguf (a file), gptq, awq, compressed-tensors, or f16/bf16 (dequantized) (a folder)")->capture_default_str();
    exportCmd->add_option("--checkpoint-format", exportArgs.checkpointFormat,
                          "GPTQ only: auto (v1 unless a group needs v2), gptq (v1) or gptq_v2")->capture_default_str();
    exportCmd->add_option("--type", exportArgs.type, "type of the weight matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K")->capture_default_str();
    exportCmd->add_option("--output-type", exportArgs.outputType,
                          "GGUF: type of the output head (tied: token_embd), as llama-quantize's --output-tensor-type; default: --type for F32/F16/BF16/Q8_0, else Q6_K (Q8_0 when the rows do not fill 256-blocks)");
    exportCmd->add_option("--out", exportArgs.out, "the .gguf file, or the folder, to write (required unless --dry-run)");
    exportCmd->add_flag("--dry-run", exportArgs.dryRun, "print the compatibility summary (module -> type, kept F16 and why, expected size) and stop");
    exportCmd->add_option("--name", exportArgs.name, "general.name (default: the model folder's name)");
    exportCmd->add_option("--text", exportArgs.text, "UTF-8 text for the check's logit windows (default: seeded random ids)");
    exportCmd->add_flag("--no-check", exportArgs.noCheck, "skip reloading and checking the file");
    exportCmd->add_flag("--json", exportArgs.json, "print one JSON object");
    addCommonFlags(exportCmd, threads);

    qb::cli::CheckExportArgs checkExport;
    auto* checkExportCmd = app.add_subcommand("check-export", "reload a GGUF file with the independent reader and compare it with its model");
    checkExportCmd->add_option("file", checkExport.file, "the .gguf file")->required();
    checkExportCmd->add_option("--model", checkExport.model, "the model folder it was exported from")->required();
    checkExportCmd->add_option("--text", checkExport.text, "UTF-8 text for the logit windows (default: seeded random ids)");
    checkExportCmd->add_option("--windows", checkExport.windows, "logit windows")->check(CLI::Range(1, 1024))->capture_default_str();
    checkExportCmd->add_option("--ctx", checkExport.ctx, "tokens per window")->check(CLI::Range(2, 1 << 20))->capture_default_str();
    checkExportCmd->add_option("--dump", checkExport.dump, "also write every tensor as decoded to this safetensors file");
    checkExportCmd->add_flag("--json", checkExport.json, "print one JSON object");
    addCommonFlags(checkExportCmd, threads);

    qb::cli::SelftestArgs selftest;
    auto* selftestCmd = app.add_subcommand("selftest", "every CUDA op against the CPU, timed, then the bundled model GPTQ W4 g32 on both");
    selftestCmd->add_option("--device", selftest.device, "cuda:N (default: the first usable CUDA device)");
    selftestCmd->add_option("--model", selftest.model, "model for the end-to-end check (default: resources/models/stories260K)");
    selftestCmd->add_option("--calib", selftest.calib, "its calibration text (default: resources/data/tinystories/calib.txt)");
    selftestCmd->add_option("--text", selftest.text, "its evaluation text (default: resources/data/tinystories/eval.txt)");
    selftestCmd->add_flag("--quick", selftest.quick, "skip the 4096-wide shapes (the timing targets)");
    selftestCmd->add_flag("--json", selftest.json, "print one JSON object");
    addCommonFlags(selftestCmd, threads);

#ifdef QB_HAVE_REPORT
    qb::cli::ReportArgs report;
    auto* reportCmd = app.add_subcommand("report", "a session's report: HTML, PDF, Markdown, CSV or JSON (by --out's extension)");
    reportCmd->add_option("--session", report.session, "the HDF5 session")->required();
    reportCmd->add_option("--out", report.out, "FILE.html, .pdf, .md, .csv or .json")->required();
    reportCmd->add_option("--runs", report.runs, "only these runs, e.g. 3,5 (baselines stay)");
    reportCmd->add_option("--compare", report.compare, "the two runs 'what changed' compares, e.g. 3,5 (default: the last two with a plan)");
    reportCmd->add_option("--author", report.author, "author in the title block (default: QSettings report/author, else the login name)");
    reportCmd->add_option("--paper", report.paper, "a4 or letter, for a PDF (default: QSettings report/paper, else by the locale)");
    reportCmd->add_flag("--quiet", report.quiet, "print nothing on success");
    reportCmd->set_version_flag("--version", kVersion);
#endif

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        if (threads > 0) qb::core::setThreadCount(threads);
#ifdef QB_HAVE_APP_COMMON
        const std::string gpuLine = qb::app::registerGpuBackends();
        // A status line for people at a terminal; scripts reading stderr get only "error: ..." lines.
        const bool heavy = (*evalCmd && !eval.json) || (*quantCmd && !quant.json) || (*inspectCmd && !inspect.json);
        if (heavy && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "%s\n", gpuLine.c_str());
#endif
        if (!device.empty()) qb::core::BackendRegistry::instance().setPreferred(device);
        if (*infoCmd) return qb::cli::runInfo(info);
        if (*evalCmd) return qb::cli::runEval(eval);
        if (*quantCmd) return qb::cli::runQuantize(quant);
        if (*inspectCmd) return qb::cli::runInspect(inspect);
        if (*planCmd) return qb::cli::runPlan(plan);
        if (*benchCmd) return qb::cli::runBench(bench);
        if (*tokenizeCmd) return qb::cli::runTokenize(tokenize);
        if (*selftestCmd) return qb::cli::runSelftest(selftest);
        if (*exportCmd) return qb::cli::runExport(exportArgs);
        if (*checkExportCmd) return qb::cli::runCheckExport(checkExport);
#ifdef QB_HAVE_REPORT
        if (*reportCmd) return qb::cli::runReport(report);
#endif
    } catch (const qb::core::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "error: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
