#include "core/quant/awq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/backend.h"
#include "core/quant/quant_accelerator.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr float kAwqMinScale = 1e-4f;  // llm-awq: x_max.pow(ratio).clamp(min=1e-4)
constexpr Index kRowChunk = 256;

void checkGroup(const ConstMatrixRef& X, const std::vector<const MatrixRM*>& weights) {
    if (weights.empty()) throw Error("AWQ: the group has no weights");
    for (const MatrixRM* W : weights)
        if (!W || W->cols() != X.cols())
            throw Error("AWQ: a weight has " + std::to_string(W ? W->cols() : 0) + " input features, the inputs have " +
                        std::to_string(X.cols()));
}

// P = A · Bᵀ through the backend (row-parallel GEMM).
MatrixRM productTransposed(const ConstMatrixRef& A, const ConstMatrixRef& B) {
    MatrixRM P;
    backendFor(BackendOp::Linear, A.rows(), A.cols(), B.rows()).linear(A, B, P);
    return P;
}

// Σ‖X ΔWᵀ‖² — through G = XᵀX when given: Σ_r ΔW_r G ΔW_rᵀ (G symmetric, so ΔW·Gᵀ = ΔW·G).
double outputError(const MatrixRM& dW, const MatrixRM* G, const ConstMatrixRef& X) {
    if (G) return double(productTransposed(dW, *G).cwiseProduct(dW).sum());
    return double(productTransposed(X, dW).squaredNorm());
}

// s = max(s_X^α, 1e-4), then s ← s / sqrt(max(s)·min(s)) (llm-awq auto_scale).
VectorF scalesForAlpha(const VectorF& sX, float alpha) {
    VectorF s(sX.size());
    for (Index j = 0; j < sX.size(); ++j) s[j] = std::max(std::pow(sX[j], alpha), kAwqMinScale);
    return s / std::sqrt(s.maxCoeff() * s.minCoeff());
}

// Ŵ_s = Q(W·diag(s))·diag(s)⁻¹ (paper eq. 4).
MatrixRM scaledFakeQuant(const MatrixRM& W, const VectorF& s, const WeightGridSpec& spec) {
    MatrixRM Ws = W;
    scaleWeightColumns(Ws, s);
    MatrixRM What = quantizeRtn(Ws, spec).dequantize();
    What.array().rowwise() /= s.transpose().array();
    return What;
}

// The rows [0, stride, 2·stride, …] of X (llm-awq: input_feat[:, 0::n // n_sample_token]).
MatrixRM sampleTokens(const ConstMatrixRef& X, Index nSampleTokens) {
    const Index stride = std::max<Index>(1, X.rows() / std::max<Index>(1, nSampleTokens));
    const Index rows = (X.rows() + stride - 1) / stride;
    MatrixRM Xs(rows, X.cols());
    for (Index t = 0; t < rows; ++t) Xs.row(t) = X.row(t * stride);
    return Xs;
}

// Fake-quantizes w[0..n) clipped to ±maxVal with its own grid into out.
void clipAndQuantize(const float* w, Index n, float maxVal, const QuantGrid& grid, float* out) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (Index c = 0; c < n; ++c) {
        out[c] = std::clamp(w[c], -maxVal, maxVal);
        lo = std::min(lo, out[c]);
        hi = std::max(hi, out[c]);
    }
    const GroupParams p = grid.paramsForRange(lo, hi);
    for (Index c = 0; c < n; ++c) out[c] = grid.quantize(out[c], p);
}

}  // namespace

VectorF awqActivationScale(const ConstMatrixRef& X) {
    VectorD sum = VectorD::Zero(X.cols());
    for (Index t = 0; t < X.rows(); ++t) sum += X.row(t).transpose().cast<double>().cwiseAbs();
    return (sum / double(std::max<Index>(1, X.rows()))).cast<float>();
}

AwqScaleSearch searchAwqScales(const ConstMatrixRef& X, const std::vector<const MatrixRM*>& weights, const WeightGridSpec& spec,
                               int grid) {
    checkGroup(X, weights);
    if (grid < 1) throw Error("AWQ: the scale grid must have at least 1 point, got " + std::to_string(grid));
    const Index n = X.rows();
    const Index in = X.cols();
    MatrixRM G;  // XᵀX [in, in] when cheaper than X ΔWᵀ
    if (in < n) {
        MatrixRMd Gd = MatrixRMd::Zero(in, in);
        backendFor(BackendOp::Gram, in, n, in).accumulateGram(X, Gd);
        G = Gd.cast<float>();
    }
    const VectorF sX = awqActivationScale(X);
    Index outTotal = 0;
    for (const MatrixRM* W : weights) outTotal += W->rows();

    AwqScaleSearch result;
    std::vector<VectorF> scales;  // s for each α = k / grid
    for (int k = 0; k < grid; ++k) {
        result.alphas.push_back(float(k) / float(grid));
        scales.push_back(scalesForAlpha(sX, float(result.alphas.back())));
    }
    // Σ_W ‖X ΔWᵀ‖² per α: every form of a weight on the preferred device in one call (W and
    // the inputs resident), else here one by one.
    std::vector<double> errors(std::size_t(grid), 0.0);
    bool onDevice = true;
    for (const MatrixRM* W : weights) {
        const auto e = scaledEnergiesPreferred(*W, G.size() ? ConstMatrixRef(G) : X, G.size() > 0, spec, scales, result.backend);
        if (!e || e->size() != scales.size()) {
            onDevice = false;
            break;
        }
        for (int k = 0; k < grid; ++k) errors[std::size_t(k)] += (*e)[std::size_t(k)];
    }
    if (!onDevice) {
        for (int k = 0; k < grid; ++k) {
            double error = 0.0;
            for (const MatrixRM* W : weights) {
                const MatrixRM dW = *W - scaledFakeQuant(*W, scales[std::size_t(k)], spec);
                error += outputError(dW, G.size() ? &G : nullptr, X);
            }
            errors[std::size_t(k)] = error;
        }
    }
    double bestError = std::numeric_limits<double>::infinity();
    for (int k = 0; k < grid; ++k) {
        const double error = errors[std::size_t(k)] / double(std::max<Index>(1, n * outTotal));
        result.errors.push_back(error);
        if (error < bestError) {  // strict, as llm-awq: ties keep the smaller α
            bestError = error;
            result.alpha = result.alphas[std::size_t(k)];
            result.scales = scales[std::size_t(k)];
        }
    }
    return result;
}

MatrixRM searchAwqClip(const ConstMatrixRef& X, const ConstMatrixRef& W, const WeightGridSpec& spec, int gridClip,
                       double maxShrink, Index nSampleTokens) {
    if (W.cols() != X.cols())
        throw Error("AWQ clip: the weight has " + std::to_string(W.cols()) + " input features, the inputs have " +
                    std::to_string(X.cols()));
    if (gridClip < 1) throw Error("AWQ clip: the grid must have at least 1 point");
    const QuantGrid grid(spec.bits, spec.sym);
    const Index out = W.rows(), in = W.cols();
    const Index g = groupWidth(in, spec.groupSize);
    const Index nGroups = groupCount(in, spec.groupSize);
    const int steps = std::max(1, int(maxShrink * gridClip));  // llm-awq: range(int(max_shrink * n_grid))
    const MatrixRM Xs = sampleTokens(X, nSampleTokens);       // [ns, in]
    MatrixRM maxVal(out, nGroups);
    const Index rowChunks = (out + kRowChunk - 1) / kRowChunk;
    // Per group, Gg = Xgᵀ Xg [gw, gw] when that is cheaper than the tokens themselves.
    const bool useGram = g < Xs.rows();
    std::vector<MatrixRM> grams(useGram ? std::size_t(nGroups) : 0);
    if (useGram) {
#pragma omp parallel for num_threads(threadCount()) schedule(dynamic, 1)
        for (Index k = 0; k < nGroups; ++k) {
            const auto Xg = Xs.middleCols(k * g, std::min(g, in - k * g));
            grams[std::size_t(k)] = Xg.transpose() * Xg;
        }
    }

#pragma omp parallel for num_threads(threadCount()) schedule(dynamic, 1) collapse(2)
    for (Index k = 0; k < nGroups; ++k) {
        for (Index rc = 0; rc < rowChunks; ++rc) {
            const Index c0 = k * g, gw = std::min(g, in - c0);
            const Index r0 = rc * kRowChunk, rows = std::min(kRowChunk, out - r0);
            const auto Xg = Xs.middleCols(c0, gw);  // [ns, gw]
            const MatrixRM* Gg = useGram ? &grams[std::size_t(k)] : nullptr;
            const MatrixRM Wg = W.block(r0, c0, rows, gw);
            const Eigen::VectorXf orgMax = Wg.cwiseAbs().rowwise().maxCoeff();
            Eigen::VectorXf minErr = Eigen::VectorXf::Constant(rows, std::numeric_limits<float>::infinity());
            Eigen::VectorXf best = orgMax;
            MatrixRM D(rows, gw);
            for (int i = 0; i < steps; ++i) {
                const Eigen::VectorXf mv = orgMax * (1.0f - float(i) / float(gridClip));
                for (Index r = 0; r < rows; ++r) clipAndQuantize(Wg.row(r).data(), gw, mv[r], grid, D.row(r).data());
                D = Wg - D;  // D: [rows, gw] — the group's weight error
                // Per-row output error on the sampled tokens: ‖Xg D_rᵀ‖² = D_r Gg D_rᵀ.
                const Eigen::VectorXf err = Gg ? Eigen::VectorXf((D * *Gg).cwiseProduct(D).rowwise().sum())
                                                    : Eigen::VectorXf((Xg * D.transpose()).colwise().squaredNorm().transpose());
                for (Index r = 0; r < rows; ++r)
                    if (err[r] < minErr[r]) {
                        minErr[r] = err[r];
                        best[r] = mv[r];
                    }
            }
            maxVal.block(r0, k, rows, 1) = best;
        }
    }
    return maxVal;
}

void applyAwqClip(MatrixRM& W, const MatrixRM& maxVal, const WeightGridSpec& spec) {
    const Index g = groupWidth(W.cols(), spec.groupSize);
    if (maxVal.rows() != W.rows() || maxVal.cols() != groupCount(W.cols(), spec.groupSize))
        throw Error("AWQ clip: max_val has the wrong shape for this weight");
    for (Index r = 0; r < W.rows(); ++r)
        for (Index c = 0; c < W.cols(); ++c) {
            const float mv = maxVal(r, c / g);
            W(r, c) = std::clamp(W(r, c), -mv, mv);
        }
}

void scaleWeightColumns(MatrixRM& W, const VectorF& s) {
    if (s.size() != W.cols()) throw Error("AWQ: scales have " + std::to_string(s.size()) + " entries for " +
                                          std::to_string(W.cols()) + " input features");
    W.array().rowwise() *= s.transpose().array();
}

void divideNormWeight(VectorF& norm, const VectorF& s) {
    if (s.size() != norm.size()) throw Error("AWQ: scales and norm weight differ in size");
    norm.array() /= s.array();
}

void divideWeightRows(MatrixRM& W, const VectorF& s, std::optional<VectorF>* bias) {
    if (s.size() != W.rows()) throw Error("AWQ: scales have " + std::to_string(s.size()) + " entries for " +
                                          std::to_string(W.rows()) + " output features");
    W.array().colwise() /= s.array();
    if (bias && *bias) (*bias)->array() /= s.array();
}

AwqResult quantizeAwq(const ConstMatrixRef& X, const std::vector<const MatrixRM*>& weights, const WeightGridSpec& spec,
                      const AwqOptions& options, const std::vector<bool>& clipMask) {
    AwqResult result;
    result.search = searchAwqScales(X, weights, spec, options.grid);
    const VectorF& s = result.search.scales;
    MatrixRM Xs;  // X·diag(s)⁻¹, the input the scaled weights will see
    for (std::size_t i = 0; i < weights.size(); ++i) {
        MatrixRM Ws = *weights[i];
        scaleWeightColumns(Ws, s);
        const bool clip = options.clipSearch && (clipMask.empty() || (i < clipMask.size() && clipMask[i]));
        MatrixRM maxVal;
        if (clip) {
            if (Xs.size() == 0) Xs = X.array().rowwise() / s.transpose().array();
            maxVal = searchAwqClip(Xs, Ws, spec);
            applyAwqClip(Ws, maxVal, spec);
        }
        result.weights.push_back(quantizeRtn(Ws, spec));
        result.clipMaxVal.push_back(std::move(maxVal));
    }
    return result;
}

}  // namespace qb::core
