#include "core/quant/token_quant.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr double kTokenMinStep = 1e-5, kTokenMaxStep = 1e4, kTokenMaxZero = 1e4;  // the official code's clamps

int tokenMaxCode(int bits) {
    if (bits < 2 || bits > 8) throw Error("activation bits must be 2..8, not " + std::to_string(bits));
    return (1 << bits) - 1;
}

// One row: x̂ = (clamp(⌊x/h⌉ + z, 0, q) − z)·h. With frozen, the recorded decisions are replayed
// (h from the recorded extremes unless it was clamped, z, clamps and round offsets).
template <class S>
void quantizeTokenRow(const S* x, S* out, Index k, int maxq, TokenRounding<S>* rd, Index r, bool frozen) {
    const S q = S(maxq);
    Index iMin = 0, iMax = 0;
    if (frozen) {
        iMin = rd->argMin[std::size_t(r)];
        iMax = rd->argMax[std::size_t(r)];
    } else {
        for (Index c = 1; c < k; ++c) {
            if (x[c] < x[iMin]) iMin = c;
            if (x[c] > x[iMax]) iMax = c;
        }
    }
    const S raw = (x[iMax] - x[iMin]) / q;
    const bool clampedStep = frozen ? rd->stepClamped[std::size_t(r)] != 0 : (raw < S(kTokenMinStep) || raw > S(kTokenMaxStep));
    const S h = frozen && clampedStep ? rd->step(r) : std::clamp(raw, S(kTokenMinStep), S(kTokenMaxStep));
    const S z = frozen ? rd->zero(r) : std::rint(std::clamp(-x[iMin] / h, S(-kTokenMaxZero), S(kTokenMaxZero)));
    if (rd && !frozen) {
        rd->argMin[std::size_t(r)] = iMin;
        rd->argMax[std::size_t(r)] = iMax;
        rd->stepClamped[std::size_t(r)] = clampedStep;
        rd->step(r) = h;
        rd->zero(r) = z;
    }
    for (Index c = 0; c < k; ++c) {
        const S t = x[c] / h;
        if (frozen) {
            const std::int8_t cl = rd->clamp(r, c);
            out[c] = cl == 0 ? h * (t + rd->roundOffset(r, c)) : h * ((cl < 0 ? S(0) : q) - z);
            continue;
        }
        const S code = std::rint(t) + z;
        const S kept = std::clamp(code, S(0), q);
        out[c] = (kept - z) * h;
        if (rd) {
            rd->roundOffset(r, c) = std::rint(t) - t;
            rd->clamp(r, c) = code < S(0) ? -1 : code > q ? 1 : 0;
        }
    }
}

}  // namespace

template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantize(
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& X, int bits, TokenRounding<S>* rd, bool frozen) {
    const int maxq = tokenMaxCode(bits);
    const Index n = X.rows(), k = X.cols();
    if (frozen && (!rd || Index(rd->argMin.size()) != n || rd->clamp.rows() != n || rd->clamp.cols() != k))
        throw Error("token quantization: the frozen rounding does not fit the activations");
    if (rd && !frozen) {
        rd->roundOffset.resize(n, k);
        rd->clamp.resize(n, k);
        rd->zero.resize(n);
        rd->step.resize(n);
        rd->argMin.assign(std::size_t(n), 0);
        rd->argMax.assign(std::size_t(n), 0);
        rd->stepClamped.assign(std::size_t(n), 0);
    }
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Xhat(n, k);
    if (k == 0) return Xhat;
    for (Index r = 0; r < n; ++r) quantizeTokenRow(X.row(r).data(), Xhat.row(r).data(), k, maxq, rd, r, frozen);
    return Xhat;
}

template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantizeBackward(
    const TokenRounding<S>& rd, const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& dXhat, int bits) {
    const S q = S(tokenMaxCode(bits));
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dX(dXhat.rows(), dXhat.cols());
    for (Index r = 0; r < dXhat.rows(); ++r) {
        const S z = rd.zero(r);
        S dh = 0;  // ∂L/∂h = Σ ∂L/∂x̂ · ∂x̂/∂h
        for (Index c = 0; c < dXhat.cols(); ++c) {
            const std::int8_t cl = rd.clamp(r, c);
            if (cl == 0) {
                dX(r, c) = dXhat(r, c);  // straight through
                dh += dXhat(r, c) * rd.roundOffset(r, c);
            } else {
                dX(r, c) = 0;
                dh += dXhat(r, c) * ((cl < 0 ? S(0) : q) - z);
            }
        }
        if (!rd.stepClamped[std::size_t(r)] && dXhat.cols() > 0) {  // h = (max − min)/q
            dX(r, rd.argMax[std::size_t(r)]) += dh / q;
            dX(r, rd.argMin[std::size_t(r)]) -= dh / q;
        }
    }
    return dX;
}

void fakeQuantizeTokensInPlace(MatrixRM& X, int bits) {
    const int maxq = tokenMaxCode(bits);
    if (X.cols() == 0) return;
    std::vector<float> row(std::size_t(X.cols()));
    for (Index r = 0; r < X.rows(); ++r) {
        quantizeTokenRow<float>(X.row(r).data(), row.data(), X.cols(), maxq, nullptr, r, false);
        std::copy(row.begin(), row.end(), X.row(r).data());
    }
}

template Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantize<float>(
    const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>&, int, TokenRounding<float>*, bool);
template Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantize<double>(
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>&, int, TokenRounding<double>*, bool);
template Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantizeBackward<float>(
    const TokenRounding<float>&, const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>&, int);
template Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> tokenFakeQuantizeBackward<double>(
    const TokenRounding<double>&, const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>&, int);

}  // namespace qb::core
