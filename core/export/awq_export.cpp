// AWQ GEMM export: AutoAWQ's WQLinear_GEMM layout (awq/modules/linear/gemm.py), which
// transformers and vLLM ("awq") load:
//   qweight int32 [in, out/8]   the 4-bit codes of input row i, 8 output columns per word;
//                               nibble p of word j holds column 8j + kAwqOrder[p]
//   qzeros  int32 [in/g, out/8] the zero points (as is, no "− 1"), packed like qweight
//   scales  F16   [in/g, out]
// Dequantization: W[o, i] = scales[i/g, o] · (q[i, o] − z[i/g, o]). Groups are consecutive
// input rows, so act-order (a g_idx permutation) has no AWQ form and is refused; so are codes
// other than 4-bit and plans with several group sizes (the config holds one). Modules whose
// in is not a multiple of the group or out not a multiple of 8 are written F16 and listed in
// modules_to_not_convert.
#include <set>

#include <nlohmann/json.hpp>

#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};  // AutoAWQ's AWQ_ORDER

// values [rows, cols] (cols % 8 == 0) packed along cols in AutoAWQ's interleaved order.
std::vector<std::int32_t> packAwqRows(Index rows, Index cols, const std::function<std::uint32_t(Index r, Index c)>& value) {
    std::vector<std::int32_t> out(std::size_t(rows * cols / 8));
    for (Index r = 0; r < rows; ++r)
        for (Index j = 0; j < cols / 8; ++j) {
            std::uint32_t word = 0;
            for (int p = 0; p < 8; ++p) word |= (value(r, 8 * j + kAwqOrder[p]) & 0xFu) << (4 * p);
            out[std::size_t(r * (cols / 8) + j)] = std::int32_t(word);
        }
    return out;
}

}  // namespace

HfFolderPlan planAwqExport(const LlamaModel& model) {
    HfFolderPlan plan;
    plan.report.variant = "gemm";
    std::set<std::string> packed;
    std::optional<Index> group;  // the one group size of the checkpoint (in_features for per-row groups)
    std::string groupModule;
    nlohmann::ordered_json notConverted = nlohmann::ordered_json::array();
    for (const auto& [name, linear] : linearModules(model)) {
        refuseInt8Module(name, *linear, "AWQ");
        const auto* q = dynamic_cast<const QuantizedLinear*>(linear.get());
        if (!q) {
            plan.report.modules.push_back({name, "F16", {}});
            notConverted.push_back(name);
            continue;
        }
        const QuantizedWeight w = q->weight();
        if (w.bits != 4)
            throw Error("AWQ export: " + name + " is " + q->format() + "; the AWQ GEMM layout holds 4-bit codes only (use --format gptq for 2, 3 or 8 bits, gguf for 5–7)");
        if (!w.hasSequentialGroups())
            throw Error("AWQ export: " + name + " was quantized with act-order (its g_idx permutes the groups); AWQ's groups are consecutive "
                        "input rows and have no g_idx (use --format gptq or compressed-tensors, or quantize without act_order)");
        const Index g = w.groupSize ? Index(*w.groupSize) : w.cols;
        std::string why;
        if (w.cols % g != 0) why = "in_features " + std::to_string(w.cols) + " is not a multiple of the group size " + std::to_string(g);
        else if (w.rows % 8 != 0) why = "out_features " + std::to_string(w.rows) + " is not a multiple of 8";
        if (!why.empty()) {
            keepF16(plan.report, name, q->format(), why, "AWQ");
            notConverted.push_back(name);
            continue;
        }
        if (group && *group != g)
            throw Error("AWQ export: " + name + " has groups of " + std::to_string(g) + " columns and " + groupModule + " of " + std::to_string(*group) +
                        "; an AWQ checkpoint has one group_size (use --format gptq or compressed-tensors for mixed plans)");
        group = g;
        groupModule = name;
        packed.insert(name);
        plan.report.modules.push_back({name, "awq int4 g" + std::to_string(g), {}});
    }
    if (packed.empty()) throw Error("AWQ export: no module fits the AWQ packing (see the warnings); nothing would be quantized");
    nlohmann::ordered_json q{{"quant_method", "awq"}, {"zero_point", true}, {"group_size", *group}, {"bits", 4}, {"version", "gemm"}};
    q["modules_to_not_convert"] = notConverted.empty() ? nlohmann::ordered_json(nullptr) : notConverted;
    plan.quantizationConfigJson = q.dump();
    plan.extraFileName = "quant_config.json";  // AutoAWQ's own file
    plan.extraFileJson = nlohmann::ordered_json{{"zero_point", true}, {"q_group_size", *group}, {"w_bit", 4}, {"version", "GEMM"},
                                                {"modules_to_not_convert", q["modules_to_not_convert"]}}.dump(2);

    plan.moduleTensors = [packed](const std::string& name, const Linear& linear) -> std::vector<TensorBlob> {
        if (!packed.count(name)) return f16ModuleTensors(name, linear);
        const auto& ql = dynamic_cast<const QuantizedLinear&>(linear);
        const QuantizedWeight w = ql.weight();
        const Index in = w.cols, out = w.rows, groups = w.groups();
        std::vector<TensorBlob> v;
        v.push_back(int32Blob(name + ".qweight", {in, out / 8}, packAwqRows(in, out, [&](Index i, Index o) { return std::uint32_t(w.codes(o, i)); })));
        v.push_back(int32Blob(name + ".qzeros", {groups, out / 8}, packAwqRows(groups, out, [&](Index g, Index o) { return std::uint32_t(w.zeros(o, g)); })));
        MatrixRM scales = w.scales.transpose();  // [groups, out]
        v.push_back(makeFloatBlob(name + ".scales", {groups, out}, scales.data(), DType::F16));
        if (const auto& b = ql.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), DType::F16));
        return v;
    };
    return plan;
}

}  // namespace qb::core
