#include "core/export/export_run.h"

#include <algorithm>
#include <random>

#include "core/calib/calibration.h"
#include "core/export/gguf_reader.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace qb::core {

void checkExportOutput(const std::string& format, const std::filesystem::path& out) {
    if (out.empty()) throw Error("export: no output path");
    if (format != "gguf") {
        checkQuantizedCheckpointOutput(out);
        return;
    }
    const auto parent = std::filesystem::absolute(out).parent_path();
    if (!std::filesystem::is_directory(parent)) throw Error(out.string() + ": the folder " + parent.string() + " does not exist");
    if (std::filesystem::is_directory(out)) throw Error(out.string() + ": is a folder, not a file name");
}

std::vector<int> exportCheckTokens(const LlamaModel& model, const std::filesystem::path& modelDir, const std::filesystem::path& textFile,
                                   int windows, int& ctx, std::string& source) {
    const int vocab = int(model.embedding().rows());
    std::vector<int> ids;
    if (!textFile.empty()) {
        const auto& c = model.config();
        ids = encodeDocuments(*Tokenizer::load(modelDir, c.bosTokenId, c.eosTokenId), readTextFile(textFile));
        ctx = std::min<int>(ctx, int(ids.size()));
        const int n = std::min<int>(windows, int(ids.size()) / std::max(1, ctx));
        ids.resize(std::size_t(n) * std::size_t(ctx));
        source = textFile.string();
    } else {
        std::mt19937_64 rng(0);
        std::uniform_int_distribution<int> pick(0, vocab - 1);
        ids.resize(std::size_t(windows) * std::size_t(ctx));
        for (int& id : ids) id = pick(rng);
        source = "pseudo-random ids (seed 0)";
    }
    for (int id : ids)
        if (id < 0 || id >= vocab) throw Error(textFile.string() + ": token id " + std::to_string(id) + " is outside the model's vocabulary");
    return ids;
}

namespace {

// Removes out (file or folder) on the way out of a failed or cancelled export.
void removeOutput(const std::filesystem::path& out) {
    std::error_code ec;
    std::filesystem::remove_all(out, ec);
}

std::string failureLine(const std::filesystem::path& out, const char* what, const std::vector<std::string>& problems) {
    return out.string() + ": the reloaded " + what + " does not match the model (removed)" + (problems.empty() ? "" : ": " + problems.front());
}

}  // namespace

ExportRunResult exportAndCheck(const LlamaModel& model, const std::filesystem::path& modelDir, const ExportRunOptions& options,
                               const RunContext* ctx) {
    checkExportOutput(options.target.format, options.out);
    const RunContext none;
    const RunContext& run = ctx ? *ctx : none;
    const RunContext writing = run.sub(0.0, 0.5), checking = run.sub(0.5, 1.0);
    ExportRunResult result;
    const auto hf = parseHfExportFormat(options.target.format);
    if (!hf && options.target.format != "gguf") throw Error("format " + options.target.format + ": use " + exportFormatList());
    if (hf) {
        HfExportOptions o;
        o.format = *hf;
        o.gptqZeros = options.target.gptqZeros;
        result.hf = exportHf(model, modelDir, options.out, o, &writing);
    } else {
        GgufExportOptions o;
        o.type = options.target.ggufType;
        o.outputType = options.target.ggufOutputType;
        o.name = options.name;
        result.gguf = exportGguf(model, modelDir, options.out, o, &writing);
    }
    if (!options.check) return result;
    try {
        int checkCtx = std::min(128, std::max(2, model.config().maxPositions));
        const auto tokens = exportCheckTokens(model, modelDir, options.checkText, options.checkWindows, checkCtx, result.checkSource);
        if (hf) {
            result.hfCheck = checkHfExport(*openExportedFolder(options.out), model, tokens, checkCtx, &checking);
            if (!result.hfCheck->ok()) result.failure = failureLine(options.out, "folder", result.hfCheck->problems);
        } else {
            result.ggufCheck = checkGgufExport(*GgufReader::open(options.out), model, tokens, checkCtx, &checking);
            if (!result.ggufCheck->ok()) result.failure = failureLine(options.out, "file", result.ggufCheck->problems);
        }
    } catch (...) {
        removeOutput(options.out);
        throw;
    }
    if (!result.ok()) removeOutput(options.out);
    return result;
}

}  // namespace qb::core
