#pragma once
// exportAndCheck — one export as the user asks for it: write the GGUF file or Hugging Face
// folder, reload it with the independent reader, check it against the model, and remove it when
// the check fails. quantbench-cli export (and quantize --export) and the workbench's export
// dialog both call it, so the two check the same windows and fail with the same words.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/export/export_summary.h"
#include "core/export/gguf_check.h"
#include "core/export/gguf_writer.h"
#include "core/export/hf_check.h"
#include "core/export/hf_export.h"
#include "core/model/llama_model.h"
#include "core/util/run_context.h"

namespace qb::core {

struct ExportRunOptions {
    ExportTarget target;            ///< format, GGUF type, GPTQ zero convention
    std::filesystem::path out;      ///< the .gguf file (replaced), or the folder (absent or empty)
    std::string name;               ///< GGUF general.name; empty = the model folder's name
    std::filesystem::path checkText;  ///< UTF-8 text for the check's windows; empty = pseudo-random ids (seed 0)
    bool check = true;              ///< reload and check the output
    int checkWindows = 4;           ///< windows of min(128, max_position_embeddings) tokens
};

struct ExportRunResult {
    std::optional<GgufExportReport> gguf;    ///< set for the GGUF format
    std::optional<HfExportReport> hf;        ///< set for the Hugging Face formats
    std::optional<GgufCheckReport> ggufCheck;
    std::optional<HfCheckReport> hfCheck;
    std::string checkSource;  ///< where the check's tokens came from ("eval.txt", "pseudo-random ids (seed 0)")
    /// Empty when the output passed (or was not checked); otherwise the one-line error, the
    /// output already removed: "<out>: the reloaded file does not match the model (removed): <first problem>".
    std::string failure;
    [[nodiscard]] bool ok() const { return failure.empty(); }
};

/// Throws Error "<out>: …" when out cannot take the export: a GGUF file whose folder does not
/// exist or that names a folder; a Hugging Face folder that exists and is not empty.
void checkExportOutput(const std::string& format, const std::filesystem::path& out);

/// windows × ctx token ids for the check: the first windows of textFile (encoded with the
/// tokenizer of modelDir; ctx shrinks to the text when it is shorter), else fixed pseudo-random
/// ids (seed 0). source names which. Throws Error when an id lies outside the vocabulary.
[[nodiscard]] std::vector<int> exportCheckTokens(const LlamaModel& model, const std::filesystem::path& modelDir,
                                                 const std::filesystem::path& textFile, int windows, int& ctx, std::string& source);

/// Exports model (the checkpoint read from modelDir, whose tokenizer and config the output
/// takes) as options say, then checks the output unless told not to; a failed check removes
/// the output and sets failure. Progress: 0–0.5 writing, 0.5–1 checking; cancel through ctx
/// (Cancelled; a partial output is removed). Throws Error for what stops the export itself
/// (checkExportOutput's, the writers' and readers' errors).
[[nodiscard]] ExportRunResult exportAndCheck(const LlamaModel& model, const std::filesystem::path& modelDir, const ExportRunOptions& options,
                                             const RunContext* ctx = nullptr);

}  // namespace qb::core
