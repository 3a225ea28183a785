#include "core/quant/module_quantizer.h"

#include "core/backend/backend.h"
#include "core/kernels/fp16_linear.h"
#include "core/quant/awq.h"
#include "core/quant/gptq.h"
#include "core/quant/llm_int8.h"
#include "core/quant/quant_accelerator.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "core/quant/smoothquant.h"
#include "core/stats/sensitivity.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

MatrixRM roundToF16(const MatrixRM& W) {
    return W.unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); });
}

namespace {
std::optional<VectorF> roundBias(const std::optional<VectorF>& bias) {
    if (!bias) return std::nullopt;
    return VectorF(bias->unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); }));
}
}  // namespace

ModuleQuantization quantizeModule(const std::string& name, const QuantScheme& scheme, const MatrixRM& W,
                                  const std::optional<VectorF>& bias, const GroupCapture& input, bool clip,
                                  const RunContext& ctx) {
    ModuleQuantization out;
    const std::string method = methodName(scheme.method);
    switch (scheme.method) {
        case QuantMethod::Fp16:
            out.linear = std::make_shared<Fp16Linear>(W, bias);  // held in F16: 2 bytes per weight
            break;
        case QuantMethod::Rtn:
            out.linear = std::make_shared<QuantizedLinear>(quantizeRtnPreferred(W, scheme.grid, ctx, name), roundBias(bias), method,
                                                           scheme.gridActBits);
            break;
        case QuantMethod::Gptq: {
            if (input.hessian().size() == 0) throw Error(name + ": GPTQ needs the Hessian of its input");
            auto r = quantizeGptqPreferred(W, input.hessian(), scheme.grid, scheme.gptq, ctx, name);
            out.gptqDamping = r.report.damping;
            out.gptqSecondsPrepare = r.report.secondsPrepare;
            out.gptqSecondsFactor = r.report.secondsCholesky;
            out.gptqSecondsSweep = r.report.secondsSweep;
            out.gptqSecondsObjective = r.report.secondsObjective;
            out.linear = std::make_shared<QuantizedLinear>(std::move(r.weight), roundBias(bias), method, scheme.gridActBits);
            break;
        }
        case QuantMethod::Awq: {
            // The activation-aware scales are already folded into W (pipeline); what remains
            // is llm-awq's clipping search on the scaled input, then the grid.
            MatrixRM Wc = W;
            if (clip && scheme.awq.clipSearch && input.rows().rows() > 0)
                applyAwqClip(Wc, searchAwqClip(input.rows(), Wc, scheme.grid), scheme.grid);
            out.linear = std::make_shared<QuantizedLinear>(quantizeRtn(Wc, scheme.grid), roundBias(bias), method, scheme.gridActBits);
            break;
        }
        case QuantMethod::W8A8:
        case QuantMethod::SmoothQuant:
            out.linear = std::make_shared<W8A8Linear>(W, bias, scheme.smooth.actBits, method);
            break;
        case QuantMethod::OmniQuant:
            // The clipping is trained on the whole decoder layer, not one module: the pipeline
            // runs omniquant::trainLayerLwc and never sends these modules here.
            throw Error(name + ": omniquant is trained per decoder layer by the pipeline, not module by module");
        case QuantMethod::LlmInt8: {
            // The outlier features seen in calibration keep FP16 weights (paper §3.2: they are
            // systematic, so the same dimensions carry them at run time).
            std::vector<int> cols;
            if (input.rows().rows() > 0) cols = llmInt8OutlierColumns(input.rows(), scheme.llmInt8.threshold);
            out.outlierColumnFraction = double(cols.size()) / double(W.cols());
            out.linear = std::make_shared<LlmInt8Linear>(W, bias, scheme.llmInt8.threshold, std::move(cols));
            break;
        }
    }
    return out;
}

ModuleQuantization learnedGridModule(const QuantizedWeight& weight, const std::optional<VectorF>& bias, const QuantScheme& scheme) {
    ModuleQuantization out;
    out.linear = std::make_shared<QuantizedLinear>(weight, roundBias(bias), methodName(scheme.method), scheme.gridActBits);
    return out;
}

double relativeOutputError(const ConstMatrixRef& X, const MatrixRM& W, const Linear& linear) {
    if (X.rows() == 0) return 0.0;
    // Both products on the backend's GEMM (OpenBLAS, or the device): on every calibration row
    // they cost twice the calibration forward, and Eigen's GEMM made this report figure about
    // half of a whole-model GPTQ run (BENCHMARKS.md, "Whole-model GPTQ of the 1B shape").
    const Backend& gemm = backendFor(BackendOp::Linear, X.rows(), W.cols(), W.rows());
    MatrixRM Y;  // [n, out] reference X·Wᵀ
    gemm.linear(X, W, Y);
    MatrixRM Yq;
    if (const auto* q = dynamic_cast<const QuantizedLinear*>(&linear); q && !q->actBits()) {
        gemm.linear(X, linear.denseWeight(), Yq);  // a weight-only module computes X·Ŵᵀ exactly so
    } else {
        linear.forward(X, Yq);  // int8 and weight-activation modules also quantize their activations
        if (linear.bias()) Yq.rowwise() -= linear.bias()->transpose();
    }
    const double ref = Y.cast<double>().squaredNorm();
    if (ref == 0.0) return 0.0;
    return (Y - Yq).cast<double>().squaredNorm() / ref;
}

double relativeOutputError(const GroupCapture& capture, const MatrixRM& W, const Linear& linear) {
    const bool weightOnly = dynamic_cast<const QuantizedLinear*>(&linear) || dynamic_cast<const Fp16Linear*>(&linear) ||
                            dynamic_cast<const DenseLinear*>(&linear);
    if (!weightOnly || capture.hessian().size() == 0 || W.cols() >= 2 * capture.rowsSeen())
        return relativeOutputError(capture.rows(), W, linear);
    const MatrixRM& H = capture.hessianFloat();  // [in, in]
    const double reference = gramQuadraticFormFloat(W, H);  // tr(W H Wᵀ) = 2/n·‖X Wᵀ‖²
    if (reference <= 0.0) return 0.0;
    const MatrixRM dW = W - linear.denseWeight();      // [out, in]
    return std::max(0.0, gramQuadraticFormFloat(dW, H)) / reference;
}

}  // namespace qb::core
