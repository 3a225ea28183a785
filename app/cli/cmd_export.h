#pragma once
// quantbench-cli export / check-export: a checkpoint (float or quantized) to a GGUF file for
// llama.cpp, or a quantized checkpoint to a Hugging Face folder in the GPTQ, AWQ GEMM or
// compressed-tensors format; and the check of such a file or folder against the model through
// the independent readers.

#include <optional>
#include <string>

namespace qb::cli {

struct ExportArgs {
    std::string model;            ///< Hugging Face folder (float or a quantbench quantized checkpoint)
    std::string format = "gguf";  ///< "gguf", "gptq", "awq" or "compressed-tensors"
    std::string type = "F16";     ///< GGUF only: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K
    std::string outputType;       ///< GGUF only: the output head's type (same names); empty = llama-quantize's rule
    std::string checkpointFormat = "auto";  ///< GPTQ only: "auto", "gptq" (v1) or "gptq_v2"
    std::string out;              ///< the .gguf file (replaced when it exists), or the folder (must not exist or be empty)
    std::string name;             ///< general.name; empty = the model folder's name
    std::string text;             ///< optional UTF-8 text for the logit windows of the check
    bool noCheck = false;         ///< skip the reload check
    bool dryRun = false;          ///< print the compatibility summary only; write nothing
    bool json = false;
    bool quiet = false;
};
/// Checks what can be checked without the model: the format, --type, --checkpoint-format and
/// the output path (its folder exists; a GGUF file name is not a folder; a Hugging Face folder
/// does not exist or is empty). Throws Error naming the argument. quantize --export calls it
/// before any work.
void checkExportArgs(const ExportArgs& args);
/// Prints the compatibility summary (core::summarizeExport), then writes, reloads and checks
/// the output through core::exportAndCheck (the workbench's export dialog calls it too) and
/// prints its report; an output that fails the check is removed and Error is thrown with
/// exportAndCheck's failure line ("<out>: the reloaded … does not match the model (removed): …").
/// With dryRun only the summary is printed.
int runExport(const ExportArgs& args);

struct CheckExportArgs {
    std::string file;   ///< the .gguf file, or an exported gptq / awq / compressed-tensors folder
    std::string model;  ///< the model it was exported from
    std::string text;   ///< optional UTF-8 text for the windows; none = fixed pseudo-random ids (seed 0)
    std::string dump;   ///< optional safetensors file: every tensor as the reader decodes it (F32, GGUF names and shapes)
    int windows = 4;
    int ctx = 128;
    bool json = false;
    bool quiet = false;
};
/// Prints max |ΔW| per tensor against its type's bound (a folder: exact for quantized modules,
/// F16 rounding for plain ones), and max |Δlogit| and top-1 agreement of the dequantized file
/// against the model. Exit code 1 on any mismatch.
int runCheckExport(const CheckExportArgs& args);

}  // namespace qb::cli
