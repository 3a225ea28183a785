#include "app/cli/cmd_export.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "core/export/export_run.h"
#include "core/export/export_summary.h"
#include "core/export/gguf_check.h"
#include "core/export/hf_check.h"
#include "core/export/hf_export.h"
#include "core/export/gguf_reader.h"
#include "core/export/gguf_writer.h"
#include "core/io/safetensors_file.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/util/error.h"

namespace qb::cli {

namespace {

nlohmann::ordered_json checkJson(const core::GgufCheckReport& r, const std::string& source) {
    nlohmann::ordered_json j;
    j["ok"] = r.ok();
    j["architecture"] = r.architecture;
    j["main_type"] = core::ggmlTypeName(r.mainType);
    double worst = 0.0;
    for (const auto& t : r.tensors) {
        j["tensors"].push_back({{"name", t.name}, {"type", core::ggmlTypeName(t.type)}, {"max_abs_dw", t.maxAbsDiff},
                                {"bound_ratio", t.worstRatio}, {"ok", t.ok}});
        worst = std::max(worst, t.worstRatio);
    }
    j["worst_bound_ratio"] = worst;
    if (r.logits)
        j["logits"] = {{"source", source},
                       {"windows", r.logits->windows},
                       {"ctx", r.logits->ctx},
                       {"max_abs_dlogit", r.logits->maxAbsDiff},
                       {"max_abs_logit", r.logits->maxAbsLogit},
                       {"top1_agreement", r.logits->top1Agreement},
                       {"min_top1", r.logits->minTop1}};
    j["problems"] = r.problems;
    return j;
}

void printCheck(const core::GgufCheckReport& r, const std::string& source, bool perTensor) {
    double worst = 0.0;
    std::string worstName;
    for (const auto& t : r.tensors) {
        if (perTensor)
            std::printf("  %-28s %-5s max|dW| %.3g  (%.2f of the bound)\n", t.name.c_str(), core::ggmlTypeName(t.type).c_str(), t.maxAbsDiff,
                        t.worstRatio);
        if (t.worstRatio >= worst) worst = t.worstRatio, worstName = t.name;
    }
    std::printf("weights         %zu tensors reloaded, worst at %.2f of its type's bound (%s)\n", r.tensors.size(), worst,
                worstName.c_str());
    if (r.logits)
        std::printf("logits          %d windows x %d tokens (%s): max |dlogit| %.4g (max |logit| %.3g), top-1 agreement %.2f %% (floor %.0f %%)\n",
                    r.logits->windows, r.logits->ctx, source.c_str(), r.logits->maxAbsDiff, r.logits->maxAbsLogit,
                    100.0 * r.logits->top1Agreement, 100.0 * r.logits->minTop1);
    for (const auto& p : r.problems) std::printf("MISMATCH        %s\n", p.c_str());
    std::printf("check           %s\n", r.ok() ? "passed" : "FAILED");
}

// Every tensor as the reader decodes it, for comparisons outside quantbench (scripts/check_gguf.py).
void dumpDecoded(const core::GgufReader& file, const std::string& path) {
    std::vector<core::TensorBlob> blobs;
    for (const auto& t : file.tensors()) {
        const core::MatrixRM m = file.dequantize(t);
        std::vector<std::int64_t> shape;
        for (auto it = t.ne.rbegin(); it != t.ne.rend(); ++it) shape.push_back(std::int64_t(*it));  // outermost first
        blobs.push_back(core::makeFloatBlob(t.name, shape, m.data(), core::DType::F32));
    }
    core::writeSafetensors(path, blobs, {{"source", file.file().string()}});
}

nlohmann::ordered_json hfCheckJson(const core::HfCheckReport& r, const std::string& source) {
    nlohmann::ordered_json j;
    j["ok"] = r.ok();
    j["format"] = r.format;
    j["variant"] = r.variant;
    j["quantized_modules"] = r.exactModules;
    j["plain_modules"] = r.f16Modules;
    double worst = 0.0;
    for (const auto& t : r.tensors) {
        j["tensors"].push_back({{"name", t.name}, {"storage", t.storage}, {"max_abs_dw", t.maxAbsDiff}, {"bound", t.bound}, {"ok", t.ok}});
        worst = std::max(worst, t.maxAbsDiff);
    }
    j["max_abs_dw"] = worst;
    if (r.logits)
        j["logits"] = {{"source", source}, {"windows", r.logits->windows}, {"ctx", r.logits->ctx}, {"max_abs_dlogit", r.logits->maxAbsDiff},
                       {"max_abs_logit", r.logits->maxAbsLogit}, {"top1_agreement", r.logits->top1Agreement}, {"min_top1", core::kHfMinTop1}};
    j["problems"] = r.problems;
    return j;
}

void printHfCheck(const core::HfCheckReport& r, const std::string& source, bool perTensor) {
    double exactWorst = 0.0, f16Worst = 0.0;
    for (const auto& t : r.tensors) {
        if (perTensor) std::printf("  %-44s %-34s max|dW| %.3g (bound %.3g)\n", t.name.c_str(), t.storage.c_str(), t.maxAbsDiff, t.bound);
        (t.bound == 0.0 ? exactWorst : f16Worst) = std::max(t.bound == 0.0 ? exactWorst : f16Worst, t.maxAbsDiff);
    }
    std::printf("weights         %zu tensors reloaded (%s %s): %d modules quantized, max |dW| %.3g (must be 0); %d plain, max |dW| %.3g (F16 rounding)\n",
                r.tensors.size(), r.format.c_str(), r.variant.c_str(), r.exactModules, exactWorst, r.f16Modules, f16Worst);
    if (r.logits)
        std::printf("logits          %d windows x %d tokens (%s): max |dlogit| %.4g (max |logit| %.3g), top-1 agreement %.2f %% (floor %.0f %%)\n",
                    r.logits->windows, r.logits->ctx, source.c_str(), r.logits->maxAbsDiff, r.logits->maxAbsLogit, 100.0 * r.logits->top1Agreement,
                    100.0 * core::kHfMinTop1);
    for (const auto& p : r.problems) std::printf("MISMATCH        %s\n", p.c_str());
    std::printf("check           %s\n", r.ok() ? "passed" : "FAILED");
}

std::optional<core::GptqZeroFormat> gptqZerosArg(const std::string& checkpointFormat) {
    if (checkpointFormat == "gptq") return core::GptqZeroFormat::V1;
    if (checkpointFormat == "gptq_v2") return core::GptqZeroFormat::V2;
    return std::nullopt;
}

// The summary before the export; --json leaves it to the export's JSON (which lists the modules).
void printSummary(const core::LlamaModel& model, const ExportArgs& args) {
    core::ExportTarget target;
    target.format = args.format;
    if (args.format == "gguf") target.ggufType = *core::parseGgmlType(args.type);
    if (!args.outputType.empty()) target.ggufOutputType = core::parseGgmlType(args.outputType);
    target.gptqZeros = gptqZerosArg(args.checkpointFormat);
    const core::ExportSummary summary = core::summarizeExport(model, args.model, target);
    if (args.dryRun && args.json) {
        nlohmann::ordered_json j;
        j["format"] = summary.format;
        j["variant"] = summary.variant;
        for (const auto& r : summary.rows)
            j["rows"].push_back({{"module", r.module}, {"source", r.source}, {"target", r.target}, {"how", r.how}, {"reason", r.reason}, {"bytes", r.bytes}});
        j["expected_bytes"] = summary.expectedBytes;
        j["exact_size"] = summary.exactSize;
        j["warnings"] = summary.warnings;
        std::printf("%s\n", j.dump(2).c_str());
    } else if (!args.json) {
        std::printf("%s", core::exportSummaryText(summary).c_str());
    }
}

// The export options the arguments describe (checkExportArgs has accepted them).
core::ExportRunOptions runOptions(const ExportArgs& args) {
    core::ExportRunOptions o;
    o.target.format = args.format;
    if (args.format == "gguf") o.target.ggufType = *core::parseGgmlType(args.type);
    if (!args.outputType.empty()) o.target.ggufOutputType = core::parseGgmlType(args.outputType);
    o.target.gptqZeros = gptqZerosArg(args.checkpointFormat);
    o.out = args.out;
    o.name = args.name;
    o.checkText = args.text;
    o.check = !args.noCheck;
    return o;
}

void printHfResult(const core::ExportRunResult& r, const ExportArgs& args) {
    const core::HfExportReport& report = *r.hf;
    if (args.json) {
        nlohmann::ordered_json j;
        j["folder"] = args.out;
        j["format"] = core::hfExportFormatName(report.format);
        j["variant"] = report.variant;
        j["bytes"] = report.bytes;
        j["seconds"] = report.seconds;
        for (const auto& m : report.modules) j["modules"].push_back({{"name", m.name}, {"storage", m.storage}, {"note", m.note}});
        j["kept_f16"] = report.keptF16();
        j["warnings"] = report.warnings;
        if (r.hfCheck) j["check"] = hfCheckJson(*r.hfCheck, r.checkSource);
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("folder          %s\n", args.out.c_str());
    std::printf("format          %s (%s), %zu linear modules, %d quantized modules kept F16\n", core::hfExportFormatName(report.format).c_str(),
                report.variant.c_str(), report.modules.size(), report.keptF16());
    std::printf("size            %s (%s bytes) in %.3f s\n", humanBytes(report.bytes).c_str(), withThousands(report.bytes).c_str(), report.seconds);
    for (const auto& w : report.warnings) std::printf("warning         %s\n", w.c_str());
    if (r.hfCheck) printHfCheck(*r.hfCheck, r.checkSource, false);
}

void printGgufResult(const core::ExportRunResult& r, const ExportArgs& args) {
    const core::GgufExportReport& report = *r.gguf;
    if (args.json) {
        nlohmann::ordered_json j;
        j["file"] = args.out;
        j["architecture"] = report.architecture;
        j["type"] = core::ggmlTypeName(report.type);
        j["bytes"] = report.fileBytes;
        j["seconds"] = report.seconds;
        for (const auto& t : report.tensors)
            j["tensors"].push_back({{"name", t.name}, {"type", core::ggmlTypeName(t.type)}, {"shape", t.ne}, {"bytes", t.bytes}, {"note", t.note}});
        j["warnings"] = report.warnings;
        if (r.ggufCheck) j["check"] = checkJson(*r.ggufCheck, r.checkSource);
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("file            %s\n", args.out.c_str());
    std::printf("architecture    %s, tensors %s (%zu tensors)\n", report.architecture.c_str(), core::ggmlTypeName(report.type).c_str(),
                report.tensors.size());
    std::printf("size            %s (%s bytes) in %.2f s\n", humanBytes(report.fileBytes).c_str(), withThousands(report.fileBytes).c_str(),
                report.seconds);
    for (const auto& w : report.warnings) std::printf("warning         %s\n", w.c_str());
    if (r.ggufCheck) printCheck(*r.ggufCheck, r.checkSource, false);
}

}  // namespace

void checkExportArgs(const ExportArgs& args) {
    const auto hf = core::parseHfExportFormat(args.format);
    if (!hf && args.format != "gguf") throw core::Error("--format " + args.format + ": use " + core::exportFormatList());
    if (args.checkpointFormat != "auto" && args.checkpointFormat != "gptq" && args.checkpointFormat != "gptq_v2")
        throw core::Error("--checkpoint-format " + args.checkpointFormat + ": use auto, gptq (v1: zero − 1) or gptq_v2 (zero as is)");
    if (hf != core::HfExportFormat::Gptq && args.checkpointFormat != "auto")
        throw core::Error("--checkpoint-format applies to --format gptq only");
    if (!hf && !core::parseGgmlType(args.type))
        throw core::Error("--type " + args.type + ": not a GGUF type quantbench writes (" + core::ggmlTypeNamesText() + ")");
    if (!args.outputType.empty() && hf) throw core::Error("--output-type applies to --format gguf only");
    if (!args.outputType.empty() && !core::parseGgmlType(args.outputType))
        throw core::Error("--output-type " + args.outputType + ": not a GGUF type quantbench writes (" + core::ggmlTypeNamesText() + ")");
    if (args.dryRun) return;  // nothing is written
    if (args.out.empty()) throw core::Error("export: --out is required (unless --dry-run)");
    core::checkExportOutput(args.format, args.out);
}

int runExport(const ExportArgs& args) {
    // Ctrl-C/SIGTERM from the start: loading stops at the next check below, the writers between
    // tensors (GGUF) or layers (Hugging Face folders), removing their temp; "error: cancelled".
    const auto ctx = terminalContext(args.quiet || args.json);
    const StopOnSignal stopOnSignal(ctx);
    checkExportArgs(args);
    ctx.progress(0.0, "loading " + args.model);
    const auto model = core::loadModel(args.model);
    ctx.throwIfStopped();
    printSummary(*model, args);
    if (args.dryRun) return 0;
    ctx.throwIfStopped();
    const core::ExportRunResult result = core::exportAndCheck(*model, args.model, runOptions(args), &ctx);
    if (result.hf) printHfResult(result, args);
    else printGgufResult(result, args);
    if (!result.ok()) throw core::Error(result.failure);
    return 0;
}

int runCheckExport(const CheckExportArgs& args) {
    if (std::filesystem::is_directory(args.file)) {
        const auto reader = core::openExportedFolder(args.file);
        const auto model = core::loadModel(args.model);
        const auto ctx = terminalContext(args.quiet || args.json);
        int checkCtx = std::max(2, args.ctx);
        std::string source;
        const auto tokens = core::exportCheckTokens(*model, args.model, args.text, std::max(1, args.windows), checkCtx, source);
        const core::HfCheckReport r = core::checkHfExport(*reader, *model, tokens, checkCtx, &ctx);
        if (args.json) std::printf("%s\n", hfCheckJson(r, source).dump(2).c_str());
        else {
            std::printf("folder          %s (%s, %s)\n", args.file.c_str(), r.format.c_str(), r.variant.c_str());
            printHfCheck(r, source, true);
        }
        return r.ok() ? 0 : 1;
    }
    const auto file = core::GgufReader::open(args.file);
    const auto model = core::loadModel(args.model);
    const auto ctx = terminalContext(args.quiet || args.json);
    int checkCtx = std::max(2, args.ctx);
    std::string source;
    const auto tokens = core::exportCheckTokens(*model, args.model, args.text, std::max(1, args.windows), checkCtx, source);
    const core::GgufCheckReport r = core::checkGgufExport(*file, *model, tokens, checkCtx, &ctx);
    if (!args.dump.empty()) dumpDecoded(*file, args.dump);
    if (args.json) std::printf("%s\n", checkJson(r, source).dump(2).c_str());
    else {
        std::printf("file            %s (GGUF v%u, %zu tensors, %zu metadata keys)\n", args.file.c_str(), file->version(), file->tensors().size(),
                    file->metadata().size());
        printCheck(r, source, true);
    }
    return r.ok() ? 0 : 1;
}

}  // namespace qb::cli
