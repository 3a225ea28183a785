#include "core/model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

RopeFrequencies plainRopeFrequencies(int headDim, double theta) {
    RopeFrequencies r;
    const int half = headDim / 2;
    r.invFreq.resize(std::size_t(half));
    for (int i = 0; i < half; ++i) r.invFreq[std::size_t(i)] = std::pow(theta, -2.0 * i / headDim);  // θ_i = base^(−2i/d)
    return r;
}

namespace {

// YaRN: the dimension whose wavelength completes `rotations` turns over L₀ positions.
double yarnCorrectionDim(double rotations, int d, double base, double L0) {
    return d * std::log(L0 / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

double yarnMscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

void applyYarn(RopeFrequencies& r, const RopeScaling& s, int d, double base) {
    const double L0 = s.originalMaxPositions;
    double low = yarnCorrectionDim(s.betaFast, d, base, L0);
    double high = yarnCorrectionDim(s.betaSlow, d, base, L0);
    if (s.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, double(d - 1));
    if (low == high) high += 0.001;  // the ramp would divide by zero
    for (std::size_t i = 0; i < r.invFreq.size(); ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation = 1.0 - ramp;  // e_i: 1 keeps θ_i, 0 takes θ_i/factor
        const double theta = r.invFreq[i];
        r.invFreq[i] = theta / s.factor * (1.0 - extrapolation) + theta * extrapolation;
    }
    if (s.attentionFactor)
        r.attentionScaling = *s.attentionFactor;
    else if (s.mscale && s.mscaleAllDim && *s.mscale != 0.0 && *s.mscaleAllDim != 0.0)
        r.attentionScaling = yarnMscale(s.factor, *s.mscale) / yarnMscale(s.factor, *s.mscaleAllDim);
    else
        r.attentionScaling = yarnMscale(s.factor, 1.0);
}

void applyLlama3(RopeFrequencies& r, const RopeScaling& s) {
    const double L0 = s.originalMaxPositions;
    const double lowFreqWavelen = L0 / s.lowFreqFactor;
    const double highFreqWavelen = L0 / s.highFreqFactor;
    for (double& theta : r.invFreq) {
        const double wavelen = 2.0 * std::numbers::pi / theta;
        if (wavelen > lowFreqWavelen) {
            theta /= s.factor;  // long wavelengths: interpolate fully
        } else if (wavelen >= highFreqWavelen) {
            const double smooth = (L0 / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
            theta = (1.0 - smooth) * theta / s.factor + smooth * theta;
        }  // short wavelengths: unchanged
    }
}

}  // namespace

RopeFrequencies ropeFrequencies(const ModelConfig& c, Index seqLen) {
    const RopeScaling& s = c.ropeScaling;
    const int d = c.headDim;
    switch (s.type) {
        case RopeScalingType::None: return plainRopeFrequencies(d, c.ropeTheta);
        case RopeScalingType::Linear: {
            RopeFrequencies r = plainRopeFrequencies(d, c.ropeTheta);
            for (double& theta : r.invFreq) theta /= s.factor;
            return r;
        }
        case RopeScalingType::Dynamic: {
            // NTK-aware: the base grows once the sequence outgrows the pre-training context.
            const double L0 = c.maxPositions;
            const double L = std::max(double(seqLen), L0);
            const double base = c.ropeTheta * std::pow(s.factor * L / L0 - (s.factor - 1.0), double(d) / double(d - 2));
            return plainRopeFrequencies(d, base);
        }
        case RopeScalingType::Yarn: {
            RopeFrequencies r = plainRopeFrequencies(d, c.ropeTheta);
            applyYarn(r, s, d, c.ropeTheta);
            return r;
        }
        case RopeScalingType::Llama3: {
            RopeFrequencies r = plainRopeFrequencies(d, c.ropeTheta);
            applyLlama3(r, s);
            return r;
        }
    }
    throw Error("rope: unknown scaling type");
}

void applyRope(MatrixRM& x, int heads, int headDim, Index T, const RopeFrequencies& rope) {
    const int half = headDim / 2;
    if (Index(rope.invFreq.size()) != half) throw Error("rope: frequency table does not match the head dimension");
    // cos/sin table [T, half], computed in double once per call, scaled by m.
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> cosT(T, half), sinT(T, half);
    for (int i = 0; i < half; ++i) {
        const double theta = rope.invFreq[std::size_t(i)];
        for (Index p = 0; p < T; ++p) {
            cosT(p, i) = float(rope.attentionScaling * std::cos(double(p) * theta));
            sinT(p, i) = float(rope.attentionScaling * std::sin(double(p) * theta));
        }
    }
    const Index n = x.rows();
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) {
        const Index p = r % T;
        float* row = x.row(r).data();
        for (int h = 0; h < heads; ++h) {
            float* v = row + h * headDim;
            for (int i = 0; i < half; ++i) {
                const float a = v[i], b = v[i + half];
                v[i] = a * cosT(p, i) - b * sinT(p, i);
                v[i + half] = b * cosT(p, i) + a * sinT(p, i);
            }
        }
    }
}

void applyRope(MatrixRM& x, int heads, int headDim, Index T, double ropeTheta) {
    applyRope(x, heads, headDim, T, plainRopeFrequencies(headDim, ropeTheta));
}

void applyRopeAt(float* x, int heads, int headDim, Index position, const RopeFrequencies& rope) {
    const int half = headDim / 2;
    for (int i = 0; i < half; ++i) {
        const double theta = rope.invFreq[std::size_t(i)];
        const float cosP = float(rope.attentionScaling * std::cos(double(position) * theta));
        const float sinP = float(rope.attentionScaling * std::sin(double(position) * theta));
        for (int h = 0; h < heads; ++h) {
            float* v = x + h * headDim;
            const float a = v[i], b = v[i + half];
            v[i] = a * cosP - b * sinP;
            v[i + half] = b * cosP + a * sinP;
        }
    }
}

}  // namespace qb::core
