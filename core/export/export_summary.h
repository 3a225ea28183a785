#pragma once
// The compatibility summary of an export, computed before anything is written: for a
// (quantized) model and a target format, which module goes to which type or packing, which
// stay F16 and why (a width that does not fill the block or pack, a grid GGUF cannot hold, …),
// and the expected size. The CLI's `export` prints it (`--dry-run` only it) and the workbench's
// export dialog shows it as a table; both call summarizeExport, so the words are the same.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/export/gguf_types.h"
#include "core/model/llama_model.h"
#include "core/quant/gptq_pack.h"

namespace qb::core {

/// The export formats quantbench writes, in the order menus list them: "gguf" (a file), then
/// the Hugging Face folders "gptq", "awq", "compressed-tensors".
[[nodiscard]] const std::vector<std::string>& exportFormatNames();
/// The names for a message: "gguf, gptq, awq, compressed-tensors, f16 or bf16".
[[nodiscard]] std::string exportFormatList();

struct ExportTarget {
    std::string format = "gguf";             ///< one of exportFormatNames()
    GgmlType ggufType = GgmlType::F16;       ///< GGUF: the type asked for the weight matrices
    /// GGUF: the output head's type (llama-quantize's --output-tensor-type); empty = its rule
    /// (core/export/gguf_writer: ggufOutputType).
    std::optional<GgmlType> ggufOutputType;
    std::optional<GptqZeroFormat> gptqZeros; ///< GPTQ: v1/v2; empty = quantbench chooses
};

/// One weight matrix of the export.
struct ExportSummaryRow {
    std::string module;   ///< the name in the file (GGUF tensor name, or HF module name)
    std::string source;   ///< the checkpoint's storage: "rtn int4 g32", "f32", …
    std::string target;   ///< what the file holds: "Q4_1", "gptq int4 g32", "F16", …
    std::string how;      ///< "codes placed", "re-quantized", "packed", "converted", "kept F16"
    std::string reason;   ///< why a quantized module is kept F16 or re-quantized; empty otherwise
    std::uint64_t bytes = 0;
};

struct ExportSummary {
    std::string format;   ///< as in ExportTarget
    std::string variant;  ///< GGUF: the type asked for; GPTQ: checkpoint_format; AWQ "gemm"; compressed-tensors' format
    std::vector<ExportSummaryRow> rows;  ///< the weight matrices in file order
    std::uint64_t expectedBytes = 0;
    /// True when expectedBytes is the file's exact size (GGUF); false when it leaves out the
    /// safetensors header and the JSON files (a few kB, the Hugging Face folders).
    bool exactSize = false;
    std::vector<std::string> warnings;
    [[nodiscard]] int keptF16() const;      ///< quantized modules the file holds as F16
    [[nodiscard]] int codesPlaced() const;  ///< GGUF: modules whose codes go on the blocks unchanged
    [[nodiscard]] int requantized() const;  ///< GGUF: quantized modules rounded a second time
};

/// The summary of exporting model (read from modelDir: tokenizer, config, embedding dtype) as
/// target, without writing. Throws Error as the export would refuse (an unknown format, a
/// module the format cannot represent, a float model for the Hugging Face formats).
[[nodiscard]] ExportSummary summarizeExport(const LlamaModel& model, const std::filesystem::path& modelDir, const ExportTarget& target);

/// A fixed-width text table of the summary (one line per row, then the totals), as the CLI
/// prints it.
[[nodiscard]] std::string exportSummaryText(const ExportSummary& summary);

}  // namespace qb::core
