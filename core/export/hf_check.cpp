#include "core/export/hf_check.h"

#include <cmath>

#include "core/kernels/fp16_linear.h"
#include "core/model/decoder_layer.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr double kF16Relative = 1.0 / 2048.0;  // half an F16 ulp, relative
constexpr double kF16Subnormal = 3.0e-8;       // half the smallest F16 subnormal step (2^-25)
constexpr double kBf16Relative = 1.0 / 256.0;   // half a BF16 ulp (8 significant bits), relative

class Comparer {
public:
    explicit Comparer(HfCheckReport& r) : m_r(r) {}
    // exact: every value must be equal; otherwise within F16 rounding of the reference.
    void compare(const std::string& name, const std::string& storage, const MatrixRM& got, const MatrixRM& ref, bool exact) {
        HfTensorCheck c{name, storage, 0.0, 0.0, true};
        if (got.rows() != ref.rows() || got.cols() != ref.cols()) {
            c.ok = false;
            m_r.problems.push_back(name + ": decoded shape differs from the model's");
        } else {
            double worst = 0.0;  // max over values of |Δ| − bound
            for (Index i = 0; i < ref.size(); ++i) {
                const double x = ref.data()[i], d = std::fabs(double(got.data()[i]) - x);
                const double bound = exact ? 0.0 : std::fabs(x) * (storage == "BF16" ? kBf16Relative : kF16Relative) + kF16Subnormal;
                c.maxAbsDiff = std::max(c.maxAbsDiff, d);
                c.bound = std::max(c.bound, bound);
                worst = std::max(worst, d - bound);
                if (!std::isfinite(got.data()[i])) worst = INFINITY;
            }
            c.ok = worst <= 0.0;
            if (!c.ok)
                m_r.problems.push_back(name + " (" + storage + "): max |dW| " + std::to_string(c.maxAbsDiff) + " where " +
                                       (exact ? std::string("the quantized values must decode exactly") : storage + " rounding allows " + std::to_string(c.bound)));
        }
        m_r.tensors.push_back(c);
    }
    void vector(const std::string& name, const HfFolder& f, const VectorF& ref, VectorF& out) {
        const MatrixRM got = f.floats(name, {ref.size()});
        compare(name, f.dtypeOf(name), got, MatrixRM(ref.transpose()), true);
        out = got.row(0).transpose();
    }

private:
    HfCheckReport& m_r;
};

bool isQuantized(const Linear& l) { return !dynamic_cast<const Fp16Linear*>(&l) && !dynamic_cast<const DenseLinear*>(&l); }

void compareLogits(HfCheckReport& report, const MatrixRM& ref, const MatrixRM& got, int windows, int ctx) {
    HfLogitCheck l{windows, ctx, 0.0, 0.0, 0.0};
    Index agree = 0;
    bool finite = true;
    for (Index r = 0; r < ref.rows(); ++r) {
        Index a = 0, b = 0;
        for (Index j = 0; j < ref.cols(); ++j) {
            finite = finite && std::isfinite(got(r, j));
            l.maxAbsDiff = std::max(l.maxAbsDiff, double(std::fabs(ref(r, j) - got(r, j))));
            l.maxAbsLogit = std::max(l.maxAbsLogit, double(std::fabs(ref(r, j))));
            if (ref(r, j) > ref(r, a)) a = j;
            if (got(r, j) > got(r, b)) b = j;
        }
        agree += a == b;
    }
    l.top1Agreement = double(agree) / double(std::max<Index>(1, ref.rows()));
    std::string line;  // built in steps: GCC 12 warns falsely (-Warray-bounds) on a temporary pushed here
    if (!finite) line = "the decoded weights give NaN/Inf logits";
    else if (l.top1Agreement < kHfMinTop1) {
        line = "top-1 agreement ";
        line += std::to_string(l.top1Agreement);
        line += " is below ";
        line += std::to_string(kHfMinTop1);
    }
    if (!line.empty()) report.problems.push_back(line);
    report.logits = l;
}

}  // namespace

HfCheckReport checkHfExport(const ExportedFolderReader& reader, const LlamaModel& model, const std::vector<int>& tokens, int ctx,
                            const RunContext* run) {
    HfCheckReport report;
    report.format = reader.format();
    report.variant = reader.variant();
    Comparer cmp(report);
    const HfFolder& f = reader.folder();
    const ModelConfig& c = model.config();
    const bool logits = !tokens.empty() && ctx > 0;

    const MatrixRM embRef = model.embedding().dense();
    const MatrixRM emb = f.floats("model.embed_tokens.weight", {embRef.rows(), embRef.cols()});
    cmp.compare("model.embed_tokens.weight", f.dtypeOf("model.embed_tokens.weight"), emb, embRef, true);
    MatrixRM hRef, hFile;
    if (logits) {
        hRef = model.embed(tokens);
        hFile.resize(Index(tokens.size()), emb.cols());
        for (std::size_t t = 0; t < tokens.size(); ++t) hFile.row(Index(t)) = emb.row(tokens[t]);
    }
    for (int i = 0; i < c.numLayers; ++i) {
        if (run) {
            run->throwIfStopped();
            run->progress(double(i) / c.numLayers, "check layer " + std::to_string(i));
        }
        const auto ref = model.layer(i);
        auto layer = std::make_shared<DecoderLayer>();
        layer->index = i;
        const std::string p = "model.layers." + std::to_string(i) + ".";
        cmp.vector(p + "input_layernorm.weight", f, ref->inputNorm, layer->inputNorm);
        cmp.vector(p + "post_attention_layernorm.weight", f, ref->postAttentionNorm, layer->postAttentionNorm);
        if (ref->qNorm.size() > 0) {
            cmp.vector(p + "self_attn.q_norm.weight", f, ref->qNorm, layer->qNorm);
            cmp.vector(p + "self_attn.k_norm.weight", f, ref->kNorm, layer->kNorm);
        }
        for (ModuleKind k : kAllModuleKinds) {
            const Linear& l = *ref->linear(k);
            const std::string name = moduleName(i, k);
            DecodedLinear d = reader.linear(name, l.outFeatures(), l.inFeatures());
            const bool plain = d.storage == "F16" || d.storage == "BF16" || d.storage == "F32";
            // Held quantized: exact. Held plain: exact when the model's module is F16 (or the file F32),
            // else (a quantized module kept in F16) within F16 rounding.
            const bool exact = !plain || d.storage == "F32" || (d.storage == "F16" && !isQuantized(l) && dynamic_cast<const Fp16Linear*>(&l));
            cmp.compare(name, d.storage, d.weight, l.denseWeight(), exact);
            (plain ? report.f16Modules : report.exactModules) += 1;
            if (l.bias().has_value() != d.bias.has_value()) report.problems.push_back(name + ": the bias is " + (d.bias ? "extra" : "missing"));
            else if (d.bias) cmp.compare(name + ".bias", "bias", MatrixRM(d.bias->transpose()), MatrixRM(l.bias()->transpose()), false);
            layer->linear(k) = std::make_shared<DenseLinear>(std::move(d.weight), std::move(d.bias));
        }
        if (logits) {
            model.runLayer(i, hRef, ctx);
            runDecoderLayer(c, *layer, hFile, ctx);
        }
    }
    VectorF norm;
    cmp.vector("model.norm.weight", f, model.finalNorm(), norm);
    MatrixRM head = emb;
    if (!c.tieWordEmbeddings) {
        const MatrixRM headRef = model.lmHead().denseWeight();
        head = f.floats("lm_head.weight", {headRef.rows(), headRef.cols()});
        cmp.compare("lm_head.weight", f.dtypeOf("lm_head.weight"), head, headRef, true);
    }
    if (logits) {
        MatrixRM y, got;
        rmsNorm(hFile, norm, c.rmsNormEps, y);
        DenseLinear(std::move(head)).forward(y, got);
        compareLogits(report, model.logits(hRef), got, int(tokens.size()) / ctx, ctx);
    }
    return report;
}

}  // namespace qb::core
