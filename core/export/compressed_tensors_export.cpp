// compressed-tensors export: vLLM's native format as llm-compressor writes it
// (compressed_tensors/compressors/quantized_compressors/pack_quantized.py, quant_args.py,
// quant_config.py). Weight-only modules use "pack-quantized":
//   weight_packed     int32 [out, ceil(in/(32/bits))]  code + 2^(bits−1) offset form of the signed
//                     value, i.e. quantbench's unsigned code; element c at bits (c mod 32/bits)·bits
//                     of word c/(32/bits), zero-padded at the end of each row
//   weight_scale      F16   [out, groups]
//   weight_zero_point int32 [ceil(out/(32/bits)), groups]  asymmetric only; packed along out
//   weight_g_idx      int32 [in]   act-order only ("actorder": "group")
//   weight_shape      int64 [2]    [out, in]
// Dequantization: W = (q_signed − zp_signed) · scale = (code − zero) · scale. W8A8 and
// SmoothQuant modules use "int-quantized": weight int8 [out, in], weight_scale F32 [out, 1],
// activations int8 per token, dynamic, symmetric. With both kinds the config's format is
// "mixed-precision" and each group names its own. Modules in F16 are listed in "ignore".
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"

namespace qb::core {

using OrderedJson = nlohmann::ordered_json;

namespace {

struct CtScheme {
    int bits = 4;
    int groupSize = 0;  // 0 = channel strategy
    bool sym = false;
    bool actOrder = false;
    bool int8Activations = false;  // int-quantized W8A8
    auto key() const { return std::tie(int8Activations, bits, groupSize, sym, actOrder); }
    bool operator<(const CtScheme& o) const { return key() < o.key(); }
    [[nodiscard]] const char* format() const { return int8Activations ? "int-quantized" : "pack-quantized"; }
    [[nodiscard]] OrderedJson weights() const {
        OrderedJson w{{"num_bits", bits}, {"type", "int"}, {"symmetric", sym}, {"group_size", groupSize > 0 ? OrderedJson(groupSize) : OrderedJson(nullptr)},
                      {"strategy", groupSize > 0 ? "group" : "channel"}, {"block_structure", nullptr}, {"dynamic", false},
                      {"actorder", actOrder ? OrderedJson("group") : OrderedJson(nullptr)}, {"observer", "minmax"}, {"observer_kwargs", OrderedJson::object()}};
        return w;
    }
};

bool zerosAreMidpoint(const QuantizedWeight& w) { return (w.zeros.array() == (1 << (w.bits - 1))).all(); }

// values [rows, cols] packed along cols, 32/bits per word, low bits first, rows zero-padded.
std::vector<std::int32_t> packRows(Index rows, Index cols, int bits, const std::function<std::uint32_t(Index, Index)>& value) {
    const Index pf = 32 / bits, words = (cols + pf - 1) / pf;
    const std::uint32_t mask = (1u << bits) - 1u;
    std::vector<std::int32_t> out(std::size_t(rows * words), 0);
    for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < cols; ++c)
            out[std::size_t(r * words + c / pf)] = std::int32_t(std::uint32_t(out[std::size_t(r * words + c / pf)]) | ((value(r, c) & mask) << (bits * (c % pf))));
    return out;
}

std::vector<TensorBlob> packedTensors(const std::string& name, const QuantizedLinear& ql, const CtScheme& s) {
    const QuantizedWeight w = ql.weight();
    const Index out = w.rows, in = w.cols, groups = w.groups(), pf = 32 / w.bits;
    std::vector<TensorBlob> v;
    v.push_back(int32Blob(name + ".weight_packed", {out, (in + pf - 1) / pf}, packRows(out, in, w.bits, [&](Index o, Index c) { return std::uint32_t(w.codes(o, c)); })));
    v.push_back(makeFloatBlob(name + ".weight_scale", {out, groups}, w.scales.data(), DType::F16));
    if (!s.sym) {
        // Packed along out: transpose [out, groups] → [groups, out], pack rows, transpose back.
        const auto t = packRows(groups, out, w.bits, [&](Index g, Index o) { return std::uint32_t(w.zeros(o, g)); });
        const Index words = (out + pf - 1) / pf;
        std::vector<std::int32_t> zp(std::size_t(words * groups));
        for (Index g = 0; g < groups; ++g)
            for (Index j = 0; j < words; ++j) zp[std::size_t(j * groups + g)] = t[std::size_t(g * words + j)];
        v.push_back(int32Blob(name + ".weight_zero_point", {words, groups}, zp));
    }
    if (s.actOrder) v.push_back(int32Blob(name + ".weight_g_idx", {in}, w.gIdx));
    TensorBlob shape{name + ".weight_shape", DType::I64, {2}, std::vector<std::byte>(16)};
    const std::int64_t dims[2] = {out, in};
    std::memcpy(shape.bytes.data(), dims, 16);
    v.push_back(std::move(shape));
    if (const auto& b = ql.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), DType::F16));
    return v;
}

std::vector<TensorBlob> int8Tensors(const std::string& name, const W8A8Linear& l) {
    const Int8RowQuantized& W = l.quantizedWeight();
    TensorBlob codes{name + ".weight", DType::I8, {W.rows, W.cols}, std::vector<std::byte>(std::size_t(W.rows * W.cols))};
    for (Index r = 0; r < W.rows; ++r) std::memcpy(codes.bytes.data() + r * W.cols, W.codes.data() + r * W.stride, std::size_t(W.cols));
    std::vector<TensorBlob> v;
    v.push_back(std::move(codes));
    v.push_back(makeFloatBlob(name + ".weight_scale", {W.rows, 1}, W.scales.data(), DType::F32));
    if (const auto& b = l.bias()) v.push_back(makeFloatBlob(name + ".bias", {b->size()}, b->data(), DType::F32));
    return v;
}

}  // namespace

HfFolderPlan planCompressedTensorsExport(const LlamaModel& model) {
    HfFolderPlan plan;
    std::map<std::string, CtScheme> schemes;
    std::map<CtScheme, std::vector<std::string>> targets;
    OrderedJson ignore = OrderedJson::array();
    for (const auto& [name, linear] : linearModules(model)) {
        CtScheme s;
        if (const auto* w8 = dynamic_cast<const W8A8Linear*>(linear.get())) {
            if (w8->actBits() != 8)
                throw Error("compressed-tensors export: " + name + " quantizes activations to " + std::to_string(w8->actBits()) + " bits; int-quantized holds 8");
            s = {8, 0, true, false, true};
            plan.report.modules.push_back({name, "int-quantized w8a8", {}});
        } else if (const auto* q = dynamic_cast<const QuantizedLinear*>(linear.get())) {
            refuseInt8Module(name, *linear, "compressed-tensors");  // refuses OmniQuant's per-token activations
            const QuantizedWeight w = q->weight();
            if (w.bits != 4 && w.bits != 8)
                throw Error("compressed-tensors export: " + name + " is " + q->format() + "; vLLM's pack-quantized kernels take 4- or 8-bit codes (W4A16, W8A16), so other widths are refused");
            if (w.groupSize && w.cols % *w.groupSize != 0) {
                keepF16(plan.report, name, q->format(), "in_features " + std::to_string(w.cols) + " is not a multiple of the group size " + std::to_string(*w.groupSize), "compressed-tensors");
                ignore.push_back(name);
                continue;
            }
            s = {w.bits, w.groupSize ? *w.groupSize : 0, w.sym && zerosAreMidpoint(w), !w.hasSequentialGroups(), false};
            plan.report.modules.push_back({name, std::string("pack-quantized ") + q->format().substr(q->format().find(' ') + 1), {}});
        } else {
            refuseInt8Module(name, *linear, "compressed-tensors");  // LLM.int8(): no compressed-tensors form
            plan.report.modules.push_back({name, "F16", {}});
            ignore.push_back(name);
            continue;
        }
        schemes[name] = s;
        targets[s].push_back(name);
    }
    if (schemes.empty()) throw Error("compressed-tensors export: no module fits (see the warnings); nothing would be quantized");
    std::set<std::string> formats;
    for (const auto& [s, names] : targets) formats.insert(s.format());
    const bool mixed = formats.size() > 1;
    plan.report.variant = mixed ? "mixed-precision" : *formats.begin();
    OrderedJson groups = OrderedJson::object();
    int gi = 0;
    for (const auto& [s, names] : targets) {
        OrderedJson g{{"targets", names}, {"weights", s.weights()}};
        g["input_activations"] = s.int8Activations ? OrderedJson{{"num_bits", 8}, {"type", "int"}, {"symmetric", true}, {"group_size", nullptr},
                                                                 {"strategy", "token"}, {"block_structure", nullptr}, {"dynamic", true},
                                                                 {"actorder", nullptr}, {"observer", nullptr}, {"observer_kwargs", OrderedJson::object()}}
                                                   : OrderedJson(nullptr);
        g["output_activations"] = nullptr;
        if (mixed) g["format"] = s.format();
        groups["group_" + std::to_string(gi++)] = g;
    }
    ignore.push_back("lm_head");
    OrderedJson q{{"quant_method", "compressed-tensors"}, {"format", plan.report.variant}, {"quantization_status", "compressed"},
                  {"config_groups", groups}, {"ignore", ignore}, {"kv_cache_scheme", nullptr}, {"global_compression_ratio", nullptr}};
    plan.quantizationConfigJson = q.dump();
    plan.moduleTensors = [schemes](const std::string& name, const Linear& linear) -> std::vector<TensorBlob> {
        const auto it = schemes.find(name);
        if (it == schemes.end()) return f16ModuleTensors(name, linear);
        if (it->second.int8Activations) return int8Tensors(name, dynamic_cast<const W8A8Linear&>(linear));
        return packedTensors(name, dynamic_cast<const QuantizedLinear&>(linear), it->second);
    };
    return plan;
}

}  // namespace qb::core
