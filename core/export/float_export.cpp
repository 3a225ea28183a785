// The dequantized float export (--format f16 | bf16): every linear module's dense weight — the
// values the quantized model computes with — rounded once to F16 or BF16, in a plain Hugging
// Face folder without quantization_config, so any engine that reads float checkpoints runs it.
// The quantization grid is lost (the file is as large as an F16 model); the accuracy is the
// quantized model's up to that one rounding. Modules that quantized their activations at run
// time (w8a8, smoothquant, llm_int8) keep only their weights' effect: the engine computes their
// activations in float, which the report says.
#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/util/error.h"

namespace qb::core {

HfFolderPlan planFloatExport(const LlamaModel& model, DType dtype) {
    if (dtype != DType::F16 && dtype != DType::BF16) throw Error("float export: " + dtypeName(dtype) + " is not F16 or BF16");
    const std::string storage = dtypeName(dtype);
    HfFolderPlan plan;
    plan.torchDtype = dtype == DType::BF16 ? "bfloat16" : "float16";
    plan.report.variant = "dequantized " + storage;
    for (const auto& [name, linear] : linearModules(model)) {
        plan.report.modules.push_back({name, storage, {}});
        const std::string f = linear->format();
        if (f.find("w8a") != std::string::npos || f.rfind("llm_int8", 0) == 0)
            plan.report.warnings.push_back(name + " (" + f + ") quantized its activations at run time; the " + storage +
                                           " export keeps its weights, and engines run its activations in float");
    }
    plan.moduleTensors = [dtype](const std::string& name, const Linear& linear) {
        std::vector<TensorBlob> v;
        const MatrixRM W = linear.denseWeight();  // [out, in]
        v.push_back(makeFloatBlob(name + ".weight", {W.rows(), W.cols()}, W.data(), dtype));
        if (const auto& b = linear.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), dtype));
        return v;
    };
    return plan;
}

}  // namespace qb::core
