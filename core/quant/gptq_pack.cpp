#include "core/quant/gptq_pack.h"

#include <string>

#include "core/quant/quant_scheme.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

namespace {


void checkGptqFormatBits(int bits) {
    if (!isSupportedWeightBits(bits))
        throw Error("GPTQ format: bits must be in " + std::string(kSupportedWeightBitsText) + ", got " + std::to_string(bits));
}

// Value k (0..31) of a 32-value stream occupies bits [k·bits, (k+1)·bits) of the little-endian
// concatenation of `bits` 32-bit words. word(k) and offset(k) locate its low bit.
void putValue(std::uint32_t* words, int k, int bits, std::uint32_t v) {
    const int pos = k * bits;
    const int word = pos / 32;
    const int off = pos % 32;
    words[word] |= v << off;
    if (off + bits > 32) words[word + 1] |= v >> (32 - off);
}

std::uint32_t getValue(const std::uint32_t* words, int k, int bits) {
    const int pos = k * bits;
    const int word = pos / 32;
    const int off = pos % 32;
    std::uint32_t v = words[word] >> off;
    if (off + bits > 32) v |= words[word + 1] << (32 - off);
    return v & ((1u << bits) - 1u);
}

void checkSize(const char* tensor, std::size_t have, const std::array<Index, 2>& shape) {
    const std::size_t want = std::size_t(shape[0] * shape[1]);
    if (have != want)
        throw Error(std::string("GPTQ tensors: ") + tensor + " has " + std::to_string(have) + " elements, expected [" +
                    std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + "] = " + std::to_string(want));
}

}  // namespace

GptqTensors gptqShapes(int bits, const std::optional<int>& groupSize, Index inFeatures, Index outFeatures) {
    checkGptqFormatBits(bits);
    const Index nGroups = groupCount(inFeatures, groupSize);
    GptqTensors t;
    t.qweightShape = {ceilDiv(inFeatures, 32) * bits, outFeatures};
    t.qzerosShape = {nGroups, ceilDiv(outFeatures, 32) * bits};
    t.scalesShape = {nGroups, outFeatures};
    t.gIdxSize = inFeatures;
    return t;
}

const char* gptqCheckpointFormatName(GptqZeroFormat f) { return f == GptqZeroFormat::V1 ? "gptq" : "gptq_v2"; }

Index gptqZeroPointsBelowOne(const QuantizedWeight& Q) { return Index((Q.zeros.array() < 1).count()); }

std::string gptqStandardLayoutProblem(int bits, const std::optional<int>& groupSize, Index inFeatures, Index outFeatures) {
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        return std::to_string(bits) + "-bit codes: the GPTQ loaders (AutoGPTQ, GPTQModel, transformers, vLLM) read 2, 3, 4 or 8 bits";
    if (inFeatures % 32 != 0) return "in_features " + std::to_string(inFeatures) + " is not a multiple of 32";
    if (outFeatures % 32 != 0) return "out_features " + std::to_string(outFeatures) + " is not a multiple of 32";
    if (groupSize && inFeatures % *groupSize != 0)
        return "in_features " + std::to_string(inFeatures) + " is not a multiple of the group size " + std::to_string(*groupSize);
    return {};
}

GptqTensors packGptq(const QuantizedWeight& Q, GptqZeroFormat f) {
    Q.validate();
    if (f == GptqZeroFormat::V1)
        if (const Index n = gptqZeroPointsBelowOne(Q); n > 0)
            throw Error("GPTQ v1 (checkpoint_format \"gptq\") stores zero − 1 and cannot hold a zero point of 0 (" + std::to_string(n) +
                        " groups have one); use v2 (\"gptq_v2\")");
    GptqTensors t = gptqShapes(Q.bits, Q.groupSize, Q.cols, Q.rows);
    const int bits = Q.bits;
    const Index out = Q.rows;
    const Index nGroups = Q.groups();
    const std::uint32_t mask = (1u << bits) - 1u;

    // qweight[b·bits + word, o]: the 32 input rows 32b..32b+31 of output column o.
    t.qweight.assign(std::size_t(t.qweightShape[0] * out), 0);
    std::vector<std::uint32_t> words(static_cast<std::size_t>(bits));
    for (Index o = 0; o < out; ++o) {
        const std::uint8_t* q = Q.codes.row(o).data();
        for (Index b = 0; b < ceilDiv(Q.cols, 32); ++b) {
            std::fill(words.begin(), words.end(), 0u);
            for (int k = 0; k < 32 && b * 32 + k < Q.cols; ++k) putValue(words.data(), k, bits, q[b * 32 + k]);
            for (int w = 0; w < bits; ++w) t.qweight[std::size_t((b * bits + w) * out + o)] = std::int32_t(words[w]);
        }
    }

    // qzeros[g, b·bits + word]: the zero points of output columns 32b..32b+31 (v1: zero − 1).
    const std::int32_t offset = f == GptqZeroFormat::V1 ? 1 : 0;
    t.qzeros.assign(std::size_t(nGroups * t.qzerosShape[1]), 0);
    for (Index g = 0; g < nGroups; ++g) {
        for (Index b = 0; b < ceilDiv(out, 32); ++b) {
            std::fill(words.begin(), words.end(), 0u);
            for (int k = 0; k < 32 && b * 32 + k < out; ++k) {
                putValue(words.data(), k, bits, std::uint32_t(Q.zeros(b * 32 + k, g) - offset) & mask);
            }
            for (int w = 0; w < bits; ++w) t.qzeros[std::size_t(g * t.qzerosShape[1] + b * bits + w)] = std::int32_t(words[w]);
        }
    }

    // scales[g, o] in F16 (the values are F16-exact already, so this is lossless).
    t.scalesF16.resize(std::size_t(nGroups * out));
    for (Index g = 0; g < nGroups; ++g)
        for (Index o = 0; o < out; ++o) t.scalesF16[std::size_t(g * out + o)] = floatToF16(Q.scales(o, g));

    t.g_idx = Q.gIdx;
    return t;
}

QuantizedWeight unpackGptq(const GptqTensors& tensors, int bits, const std::optional<int>& groupSize, bool sym,
                           Index inFeatures, Index outFeatures, GptqZeroFormat f) {
    const GptqTensors shape = gptqShapes(bits, groupSize, inFeatures, outFeatures);
    checkSize("qweight", tensors.qweight.size(), shape.qweightShape);
    checkSize("qzeros", tensors.qzeros.size(), shape.qzerosShape);
    checkSize("scales", tensors.scalesF16.size(), shape.scalesShape);
    if (Index(tensors.g_idx.size()) != inFeatures)
        throw Error("GPTQ tensors: g_idx has " + std::to_string(tensors.g_idx.size()) + " elements, expected " +
                    std::to_string(inFeatures));

    QuantizedWeight Q = QuantizedWeight::allocate(outFeatures, inFeatures, {bits, groupSize, sym});
    const Index out = outFeatures;
    const Index nGroups = Q.groups();
    const std::uint32_t mask = (1u << bits) - 1u;
    std::vector<std::uint32_t> words(static_cast<std::size_t>(bits));
    const std::uint32_t offset = f == GptqZeroFormat::V1 ? 1u : 0u;

    for (Index o = 0; o < out; ++o) {
        std::uint8_t* q = Q.codes.row(o).data();
        for (Index b = 0; b < ceilDiv(inFeatures, 32); ++b) {
            for (int w = 0; w < bits; ++w) words[w] = std::uint32_t(tensors.qweight[std::size_t((b * bits + w) * out + o)]);
            for (int k = 0; k < 32 && b * 32 + k < inFeatures; ++k) q[b * 32 + k] = std::uint8_t(getValue(words.data(), k, bits));
        }
    }
    for (Index g = 0; g < nGroups; ++g) {
        for (Index b = 0; b < ceilDiv(out, 32); ++b) {
            for (int w = 0; w < bits; ++w) words[w] = std::uint32_t(tensors.qzeros[std::size_t(g * shape.qzerosShape[1] + b * bits + w)]);
            for (int k = 0; k < 32 && b * 32 + k < out; ++k)
                Q.zeros(b * 32 + k, g) = std::int32_t((getValue(words.data(), k, bits) + offset) & mask);
        }
        for (Index o = 0; o < out; ++o) Q.scales(o, g) = f16ToFloat(tensors.scalesF16[std::size_t(g * out + o)]);
    }
    for (Index c = 0; c < inFeatures; ++c) {
        const std::int32_t g = tensors.g_idx[std::size_t(c)];
        if (g < 0 || g >= nGroups)
            throw Error("GPTQ tensors: g_idx[" + std::to_string(c) + "] = " + std::to_string(g) + " is not one of the " +
                        std::to_string(nGroups) + " groups");
        Q.gIdx[std::size_t(c)] = g;
    }
    return Q;
}

}  // namespace qb::core
