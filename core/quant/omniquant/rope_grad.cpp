#include "core/quant/omniquant/rope_grad.h"

#include <cmath>

namespace qb::core::omniquant {

template <class S>
RopeTable<S> ropeTable(const RopeFrequencies& rope, Index T) {
    const Index half = Index(rope.invFreq.size());
    RopeTable<S> t{MatrixS<S>(T, half), MatrixS<S>(T, half)};
    for (Index i = 0; i < half; ++i) {
        const double theta = rope.invFreq[std::size_t(i)];
        for (Index p = 0; p < T; ++p) {
            t.cos(p, i) = S(rope.attentionScaling * std::cos(double(p) * theta));
            t.sin(p, i) = S(rope.attentionScaling * std::sin(double(p) * theta));
        }
    }
    return t;
}

namespace {

// One rotation over every row and head; transpose = true applies Rᵀ (the backward).
template <class S>
void rotate(MatrixS<S>& x, int heads, int headDim, Index T, const RopeTable<S>& t, bool transpose) {
    const int half = headDim / 2;
    const S sign = transpose ? S(-1) : S(1);
    for (Index r = 0; r < x.rows(); ++r) {
        const Index p = r % T;
        S* row = x.row(r).data();
        for (int h = 0; h < heads; ++h) {
            S* v = row + Index(h) * headDim;
            for (int i = 0; i < half; ++i) {
                const S c = t.cos(p, i), s = sign * t.sin(p, i);
                const S a = v[i], b = v[i + half];
                v[i] = a * c - b * s;         // forward: a' = a·c − b·s; backward: ∂a = ∂a'·c + ∂b'·s
                v[i + half] = b * c + a * s;  // forward: b' = b·c + a·s; backward: ∂b = ∂b'·c − ∂a'·s
            }
        }
    }
}

}  // namespace

template <class S>
void ropeForward(MatrixS<S>& x, int heads, int headDim, Index T, const RopeTable<S>& table) {
    rotate(x, heads, headDim, T, table, false);
}

template <class S>
void ropeBackward(MatrixS<S>& dx, int heads, int headDim, Index T, const RopeTable<S>& table) {
    rotate(dx, heads, headDim, T, table, true);
}

template RopeTable<float> ropeTable<float>(const RopeFrequencies&, Index);
template RopeTable<double> ropeTable<double>(const RopeFrequencies&, Index);
template void ropeForward<float>(MatrixS<float>&, int, int, Index, const RopeTable<float>&);
template void ropeForward<double>(MatrixS<double>&, int, int, Index, const RopeTable<double>&);
template void ropeBackward<float>(MatrixS<float>&, int, int, Index, const RopeTable<float>&);
template void ropeBackward<double>(MatrixS<double>&, int, int, Index, const RopeTable<double>&);

}  // namespace qb::core::omniquant
