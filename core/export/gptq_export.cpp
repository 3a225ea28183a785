// GPTQ export: the layout transformers, AutoGPTQ, GPTQModel and vLLM load (see gptq_pack.h for
// the packing, docs/quantized-format.md for the folder). Per checkpoint, v1 zero points
// ("gptq", zero − 1) when every group has a zero point ≥ 1, else GPTQModel's v2 ("gptq_v2",
// zero as is); modules whose widths the standard packing does not hold are written F16 and
// listed under "dynamic" with "-:" (GPTQModel and vLLM then skip them).
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"

namespace qb::core {

using OrderedJson = nlohmann::ordered_json;

namespace {

struct GptqScheme {
    int bits = 4;
    int groupSize = -1;
    bool sym = false;
    bool descAct = false;
    auto key() const { return std::tie(bits, groupSize, sym, descAct); }
    bool operator==(const GptqScheme& o) const { return key() == o.key(); }
    bool operator<(const GptqScheme& o) const { return key() < o.key(); }
    [[nodiscard]] OrderedJson json() const { return {{"bits", bits}, {"group_size", groupSize}, {"sym", sym}, {"desc_act", descAct}}; }
};

GptqScheme schemeOf(const QuantizedWeight& w) {
    return {w.bits, w.groupSize ? *w.groupSize : -1, w.sym, !w.hasSequentialGroups()};
}

}  // namespace

HfFolderPlan planGptqExport(const LlamaModel& model, const HfExportOptions& options) {
    HfFolderPlan plan;
    std::map<std::string, GptqScheme> packed;  // modules written as qweight/qzeros/scales/g_idx
    std::map<GptqScheme, int> count;
    Index zeroPointsOfZero = 0;
    std::string firstZeroModule;
    for (const auto& [name, linear] : linearModules(model)) {
        refuseInt8Module(name, *linear, "GPTQ");
        const auto* q = dynamic_cast<const QuantizedLinear*>(linear.get());
        if (!q) {
            plan.report.modules.push_back({name, "F16", {}});
            continue;
        }
        const QuantizedWeight w = q->weight();
        if (w.bits != 2 && w.bits != 3 && w.bits != 4 && w.bits != 8)
            throw Error("GPTQ export: " + name + " is " + q->format() + "; the GPTQ loaders (AutoGPTQ, GPTQModel, transformers, vLLM) " +
                        "read 2, 3, 4 or 8 bits (5–7-bit codes stay in quantbench's own checkpoint; GGUF Q5_0/Q5_1 hold 5-bit g32 codes as they are)");
        if (const std::string why = gptqStandardLayoutProblem(w.bits, w.groupSize, w.cols, w.rows); !why.empty()) {
            keepF16(plan.report, name, q->format(), why, "GPTQ");
            continue;
        }
        if (const Index n = gptqZeroPointsBelowOne(w); n > 0 && firstZeroModule.empty()) firstZeroModule = name;
        zeroPointsOfZero += gptqZeroPointsBelowOne(w);
        const GptqScheme s = schemeOf(w);
        packed[name] = s;
        ++count[s];
        plan.report.modules.push_back({name, "gptq " + q->format().substr(q->format().find(' ') + 1), {}});
    }
    if (packed.empty()) throw Error("GPTQ export: no module fits the GPTQ packing (see the warnings); nothing would be quantized");

    GptqZeroFormat zf = zeroPointsOfZero > 0 ? GptqZeroFormat::V2 : GptqZeroFormat::V1;
    if (options.gptqZeros) {
        if (*options.gptqZeros == GptqZeroFormat::V1 && zeroPointsOfZero > 0)
            throw Error("GPTQ export: v1 (checkpoint_format \"gptq\") stores zero − 1 and cannot hold a zero point of 0, which " +
                        std::to_string(zeroPointsOfZero) + " groups have (first in " + firstZeroModule +
                        "); a v1 loader would decode them with zero 1. Use v2 (gptq_v2, GPTQModel) or leave the choice to quantbench");
        zf = *options.gptqZeros;
    }
    if (zf == GptqZeroFormat::V2)
        plan.report.warnings.push_back("checkpoint_format gptq_v2 (zero points stored as is): " + std::to_string(zeroPointsOfZero) +
                                       " groups have a zero point of 0, which v1 cannot hold; GPTQModel and vLLM with gptq_v2 support (vllm-project/vllm PR 26092) "
                                       "load v2, AutoGPTQ and older vLLM would read it as v1");
    plan.report.variant = gptqCheckpointFormatName(zf);

    // The default scheme is the most common one; the others are GPTQModel "dynamic" overrides.
    GptqScheme def = count.begin()->first;
    for (const auto& [s, n] : count)
        if (n > count[def]) def = s;
    OrderedJson dynamic = OrderedJson::object();
    for (const auto& m : plan.report.modules) {
        std::string re = "^";  // appended: GCC 12 warns falsely (-Wstringop-overflow) on "lit" + std::string&&
        re += escapeRegex(m.name);
        re += '$';
        if (const auto it = packed.find(m.name); it == packed.end()) dynamic["-:" + re] = OrderedJson::object();
        else if (!(it->second == def)) dynamic["+:" + re] = it->second.json();
    }
    OrderedJson q = def.json();
    q["quant_method"] = "gptq";
    q["checkpoint_format"] = plan.report.variant;
    q["pack_dtype"] = "int32";
    q["lm_head"] = false;
    if (!dynamic.empty()) q["dynamic"] = dynamic;
    q["quantizer"] = "quantbench " QB_VERSION;
    plan.quantizationConfigJson = q.dump();
    plan.extraFileName = "quantize_config.json";
    OrderedJson qc = def.json();
    qc["checkpoint_format"] = plan.report.variant;
    qc["quant_method"] = "gptq";
    qc["static_groups"] = false;
    qc["true_sequential"] = true;
    if (!dynamic.empty()) qc["dynamic"] = dynamic;
    plan.extraFileJson = qc.dump(2);

    plan.moduleTensors = [packed, zf](const std::string& name, const Linear& linear) -> std::vector<TensorBlob> {
        if (!packed.count(name)) return f16ModuleTensors(name, linear);
        const auto& q = dynamic_cast<const QuantizedLinear&>(linear);
        const GptqTensors t = packGptq(q.weight(), zf);
        std::vector<TensorBlob> v;
        v.push_back(int32Blob(name + ".qweight", {t.qweightShape[0], t.qweightShape[1]}, t.qweight));
        v.push_back(int32Blob(name + ".qzeros", {t.qzerosShape[0], t.qzerosShape[1]}, t.qzeros));
        v.push_back(f16BitsBlob(name + ".scales", {t.scalesShape[0], t.scalesShape[1]}, t.scalesF16));
        v.push_back(int32Blob(name + ".g_idx", {t.gIdxSize}, t.g_idx));
        if (const auto& b = q.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), DType::F16));
        return v;
    };
    return plan;
}

}  // namespace qb::core
