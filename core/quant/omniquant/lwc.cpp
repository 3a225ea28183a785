#include "core/quant/omniquant/lwc.h"

#include <algorithm>
#include <cmath>

#include "core/quant/grid_math.h"
#include "core/util/error.h"

namespace qb::core::omniquant {

namespace {

// One group's grid from its extremes and (a, b): the F16 step and zero the checkpoint stores,
// the exact step h before F16 rounding, and ∂h/∂a, ∂h/∂b.
template <class S>
struct GroupFit {
    S scale, zero;   // F16(h), z
    S step;          // h
    S dhda, dhdb;
    S dhdMax, dhdMin;  // ∂h/∂max(W), ∂h/∂min(W) of the group
};

template <class S>
GroupFit<S> fitGroup(S wMin, S wMax, S a, S b, int maxq, bool sym) {
    const S gamma = S(1) / (S(1) + std::exp(-a));  // γ = σ(a)
    const S beta = S(1) / (S(1) + std::exp(-b));   // β = σ(b)
    const S rowMax = gamma * wMax, rowMin = beta * wMin;  // the clipped range [β·min, γ·max]
    const GroupParams p = gridParamsForRange(float(rowMin), float(rowMax), maxq, sym);
    // The range holds 0 (quant_grid.h): an end clamped to 0 passes no gradient.
    const S xMax = std::max(rowMax, S(0)), xMin = std::min(rowMin, S(0));
    const S dxMaxDa = rowMax > S(0) ? wMax * gamma * (S(1) - gamma) : S(0);  // ∂(γ·max)/∂a = max·γ(1 − γ)
    const S dxMinDb = rowMin < S(0) ? wMin * beta * (S(1) - beta) : S(0);    // ∂(β·min)/∂b = min·β(1 − β)
    const S dxMaxDw = rowMax > S(0) ? gamma : S(0);  // ∂(γ·max)/∂max
    const S dxMinDw = rowMin < S(0) ? beta : S(0);   // ∂(β·min)/∂min
    GroupFit<S> f{S(p.scale), S(p.zero), S(0), S(0), S(0), S(0), S(0)};
    const S q = S(maxq);
    if (xMax == S(0) && xMin == S(0)) {
        f.step = S(2) / q;  // an all-zero group: the fixed range [−1, 1]
    } else if (!sym) {
        f.step = (xMax - xMin) / q;  // h = (γ·max − β·min) / (2^N − 1)
        f.dhda = dxMaxDa / q;
        f.dhdb = -dxMinDb / q;
        f.dhdMax = dxMaxDw / q;
        f.dhdMin = -dxMinDw / q;
    } else if (xMax >= -xMin) {
        f.step = S(2) * xMax / q;  // h = 2·max(|β·min|, γ·max) / (2^N − 1)
        f.dhda = S(2) * dxMaxDa / q;
        f.dhdMax = S(2) * dxMaxDw / q;
    } else {
        f.step = -S(2) * xMin / q;
        f.dhdb = -S(2) * dxMinDb / q;
        f.dhdMin = -S(2) * dxMinDw / q;
    }
    return f;
}

}  // namespace

template <class S>
LwcParams<S> initialLwcParams(Index out, Index in, const WeightGridSpec& spec, double init) {
    const Index groups = groupCount(in, spec.groupSize);
    return {MatrixS<S>::Constant(out, groups, S(init)), MatrixS<S>::Constant(out, groups, S(init))};
}

template <class S>
LwcWeight<S> lwcWeightOf(MatrixS<S> W, const WeightGridSpec& spec) {
    static_cast<void>(QuantGrid(spec.bits, spec.sym));  // throws Error on bits outside 1..8
    const Index groups = groupCount(W.cols(), spec.groupSize), width = groupWidth(W.cols(), spec.groupSize);
    LwcWeight<S> w{std::move(W), MatrixS<S>(), MatrixS<S>(), spec};
    w.groupMin.resize(w.W.rows(), groups);
    w.groupMax.resize(w.W.rows(), groups);
    for (Index r = 0; r < w.W.rows(); ++r)
        for (Index k = 0; k < groups; ++k) {
            const Index c0 = k * width, n = std::min(w.W.cols(), c0 + width) - c0;
            w.groupMin(r, k) = w.W.row(r).segment(c0, n).minCoeff();
            w.groupMax(r, k) = w.W.row(r).segment(c0, n).maxCoeff();
        }
    return w;
}

template <class S>
MatrixS<S> lwcFakeQuantize(const LwcWeight<S>& weight, const LwcParams<S>& params, LwcRounding<S>& rd, bool frozen) {
    const MatrixS<S>& W = weight.W;  // [out, in]
    const int maxq = QuantGrid(weight.spec.bits, weight.spec.sym).maxq();
    const Index groups = weight.groupMin.cols(), width = groupWidth(W.cols(), weight.spec.groupSize);
    if (!frozen) {
        rd.roundOffset.resize(W.rows(), W.cols());
        rd.clamp.resize(W.rows(), W.cols());
        rd.zero.resize(W.rows(), groups);
        rd.stepOffset.resize(W.rows(), groups);
    }
    rd.dhda.resize(W.rows(), groups);
    rd.dhdb.resize(W.rows(), groups);
    rd.dhdMax.resize(W.rows(), groups);
    rd.dhdMin.resize(W.rows(), groups);
    MatrixS<S> What(W.rows(), W.cols());
    for (Index r = 0; r < W.rows(); ++r) {
        for (Index k = 0; k < groups; ++k) {
            const auto f = fitGroup<S>(weight.groupMin(r, k), weight.groupMax(r, k), params.a(r, k), params.b(r, k), maxq,
                                       weight.spec.sym);
            rd.dhda(r, k) = f.dhda;
            rd.dhdb(r, k) = f.dhdb;
            rd.dhdMax(r, k) = f.dhdMax;
            rd.dhdMin(r, k) = f.dhdMin;
            if (!frozen) {
                rd.zero(r, k) = f.zero;
                rd.stepOffset(r, k) = f.scale - f.step;
            }
            // The F16 step (straight through its rounding) and the zero point, frozen or not.
            const S h = frozen ? f.step + rd.stepOffset(r, k) : f.scale;
            const S z = rd.zero(r, k);
            const Index c0 = k * width, c1 = std::min(W.cols(), c0 + width);
            for (Index c = c0; c < c1; ++c) {
                const S t = W(r, c) / h;
                if (!frozen) {  // q = clamp(⌊t⌉ + z, 0, 2^N − 1) — grid_math.h's gridCode
                    const S code = std::rint(t) + z;
                    rd.roundOffset(r, c) = std::rint(t) - t;
                    rd.clamp(r, c) = code < S(0) ? LwcClamp::Low : code > S(maxq) ? LwcClamp::High : LwcClamp::Inside;
                }
                switch (rd.clamp(r, c)) {  // Ŵ = h·(q − z)
                    case LwcClamp::Inside:
                        What(r, c) = frozen ? h * (t + rd.roundOffset(r, c)) : h * ((std::rint(t) + z) - z);
                        break;
                    case LwcClamp::Low: What(r, c) = h * (S(0) - z); break;
                    case LwcClamp::High: What(r, c) = h * (S(maxq) - z); break;
                }
            }
        }
    }
    return What;
}

namespace {

// ∂L/∂h of group k of row r: Σ ∂L/∂Ŵ · ∂Ŵ/∂h over the group's columns [c0, c1).
template <class S>
S stepGradient(const LwcRounding<S>& rd, const MatrixS<S>& dWhat, Index r, Index k, Index c0, Index c1, int maxq) {
    const S z = rd.zero(r, k);
    S dh = 0;
    for (Index c = c0; c < c1; ++c) {
        switch (rd.clamp(r, c)) {
            case LwcClamp::Inside: dh += dWhat(r, c) * rd.roundOffset(r, c); break;  // ⌊t⌉ − t
            case LwcClamp::Low: dh += dWhat(r, c) * (S(0) - z); break;                 // q − z
            case LwcClamp::High: dh += dWhat(r, c) * (S(maxq) - z); break;
        }
    }
    return dh;
}

}  // namespace

template <class S>
void lwcBackward(const LwcWeight<S>& weight, const LwcRounding<S>& rd, const MatrixS<S>& dWhat, MatrixS<S>& da,
                 MatrixS<S>& db) {
    const int maxq = QuantGrid(weight.spec.bits, weight.spec.sym).maxq();
    const Index groups = rd.zero.cols(), width = groupWidth(dWhat.cols(), weight.spec.groupSize);
    da.resize(dWhat.rows(), groups);
    db.resize(dWhat.rows(), groups);
    for (Index r = 0; r < dWhat.rows(); ++r)
        for (Index k = 0; k < groups; ++k) {
            const Index c0 = k * width, c1 = std::min(dWhat.cols(), c0 + width);
            const S dh = stepGradient(rd, dWhat, r, k, c0, c1, maxq);  // ∂L/∂h
            da(r, k) = dh * rd.dhda(r, k);
            db(r, k) = dh * rd.dhdb(r, k);
        }
}

template <class S>
MatrixS<S> lwcWeightBackward(const LwcWeight<S>& weight, const LwcRounding<S>& rd, const MatrixS<S>& dWhat) {
    const int maxq = QuantGrid(weight.spec.bits, weight.spec.sym).maxq();
    const Index groups = rd.zero.cols(), width = groupWidth(dWhat.cols(), weight.spec.groupSize);
    MatrixS<S> dW(dWhat.rows(), dWhat.cols());
    for (Index r = 0; r < dWhat.rows(); ++r)
        for (Index k = 0; k < groups; ++k) {
            const Index c0 = k * width, c1 = std::min(dWhat.cols(), c0 + width);
            Index iMin = c0, iMax = c0;  // the group's extremes, the first of ties (as lwcWeightOf's minCoeff/maxCoeff)
            for (Index c = c0; c < c1; ++c) {
                dW(r, c) = rd.clamp(r, c) == LwcClamp::Inside ? dWhat(r, c) : S(0);  // Ŵ = W + h·δ inside
                if (weight.W(r, c) < weight.W(r, iMin)) iMin = c;
                if (weight.W(r, c) > weight.W(r, iMax)) iMax = c;
            }
            const S dh = stepGradient(rd, dWhat, r, k, c0, c1, maxq);
            dW(r, iMax) += dh * rd.dhdMax(r, k);
            dW(r, iMin) += dh * rd.dhdMin(r, k);
        }
    return dW;
}

QuantizedWeight lwcQuantize(const LwcWeight<float>& weight, const LwcParams<float>& params) {
    const MatrixRM& W = weight.W;
    const int maxq = QuantGrid(weight.spec.bits, weight.spec.sym).maxq();
    QuantizedWeight Q = QuantizedWeight::allocate(W.rows(), W.cols(), weight.spec);
    const Index width = groupWidth(W.cols(), weight.spec.groupSize);
    for (Index r = 0; r < W.rows(); ++r)
        for (Index k = 0; k < Q.groups(); ++k) {
            const auto f = fitGroup<float>(weight.groupMin(r, k), weight.groupMax(r, k), params.a(r, k), params.b(r, k), maxq,
                                           weight.spec.sym);
            Q.scales(r, k) = f.scale;
            Q.zeros(r, k) = std::int32_t(f.zero);
            for (Index c = k * width; c < std::min(W.cols(), (k + 1) * width); ++c)
                Q.codes(r, c) = std::uint8_t(gridCode(W(r, c), f.scale, f.zero, float(maxq)));
        }
    return Q;
}

template LwcParams<float> initialLwcParams<float>(Index, Index, const WeightGridSpec&, double);
template LwcParams<double> initialLwcParams<double>(Index, Index, const WeightGridSpec&, double);
template LwcWeight<float> lwcWeightOf<float>(MatrixS<float>, const WeightGridSpec&);
template LwcWeight<double> lwcWeightOf<double>(MatrixS<double>, const WeightGridSpec&);
template MatrixS<float> lwcFakeQuantize<float>(const LwcWeight<float>&, const LwcParams<float>&, LwcRounding<float>&, bool);
template MatrixS<double> lwcFakeQuantize<double>(const LwcWeight<double>&, const LwcParams<double>&, LwcRounding<double>&,
                                                 bool);
template MatrixS<float> lwcWeightBackward<float>(const LwcWeight<float>&, const LwcRounding<float>&, const MatrixS<float>&);
template MatrixS<double> lwcWeightBackward<double>(const LwcWeight<double>&, const LwcRounding<double>&,
                                                   const MatrixS<double>&);
template void lwcBackward<float>(const LwcWeight<float>&, const LwcRounding<float>&, const MatrixS<float>&, MatrixS<float>&,
                                 MatrixS<float>&);
template void lwcBackward<double>(const LwcWeight<double>&, const LwcRounding<double>&, const MatrixS<double>&,
                                  MatrixS<double>&, MatrixS<double>&);

}  // namespace qb::core::omniquant
