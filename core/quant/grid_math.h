#pragma once
// The per-element math of the weight grid (see core/quant/quant_grid.h for the formulas and
// their source), as QB_HD inline functions (core/util/host_device.h): the CPU path and the
// CUDA kernels of gpu/ compile this same text, so both give the same codes on the same
// inputs. No Eigen, no std:: algorithms here: nvcc includes this header.

#include <math.h>

#include "core/util/half.h"
#include "core/util/host_device.h"

namespace qb::core {

/// Parameters of one group: x̂ = scale · (q − zero). scale is F16-exact, zero ∈ [0, maxq].
struct GroupParams {
    float scale = 1.0f;
    float zero = 0.0f;  ///< an integer value, kept as float for the vectorised inner loops
};

/// q = clamp(round(x / scale) + zero, 0, maxq) as a float holding an integer (GPTQ eq. "quantize").
/// The clamps are written as std::max/std::min are (a NaN stays NaN on both sides).
QB_HD inline float gridCode(float x, float scale, float zero, float maxq) {
    float q = rintf(x / scale) + zero;
    q = q < 0.0f ? 0.0f : q;
    return maxq < q ? maxq : q;
}

/// x̂ = scale · (q − zero).
QB_HD inline float gridValue(float q, float scale, float zero) { return scale * (q - zero); }

/// Rounds a scale to the nearest F16 value; 0 (underflow) becomes the smallest F16
/// subnormal 2⁻²⁴ and overflow the largest finite F16, so a scale is always usable.
QB_HD inline float roundScaleToF16(float scale) {
    constexpr float kF16SmallestSubnormal = 5.9604644775390625e-08f;  // 2^-24
    constexpr float kF16Max = 65504.0f;
    const float s = f16ToFloat(floatToF16(scale));
    if (!(s > 0.0f)) return kF16SmallestSubnormal;  // underflow (or a NaN range)
    return s < kF16Max ? s : kF16Max;
}

/// Parameters of a group whose values span [rowMin, rowMax] on the grid with maxq = 2^bits − 1
/// (the header comment: GPTQ reference Quantizer.find_params, the range always contains zero).
QB_HD inline GroupParams gridParamsForRange(float rowMin, float rowMax, int maxq, bool sym) {
    float xmin = rowMin < 0.0f ? rowMin : 0.0f;
    float xmax = rowMax > 0.0f ? rowMax : 0.0f;
    if (sym) {
        const float a = fabsf(xmin);
        xmax = xmax < a ? a : xmax;
        xmin = -xmax;
    }
    if (xmin == 0.0f && xmax == 0.0f) {  // all-zero group
        xmin = -1.0f;
        xmax = 1.0f;
    }
    GroupParams p;
    p.scale = roundScaleToF16((xmax - xmin) / float(maxq));
    if (sym) {
        p.zero = float((maxq + 1) / 2);
    } else {
        float z = rintf(-xmin / p.scale);
        z = z < 0.0f ? 0.0f : z;
        p.zero = float(maxq) < z ? float(maxq) : z;
    }
    return p;
}

/// GPTQ's step for one weight of column i (Alg. 1, lines 7–8): its code q and the scaled
/// error e = (w − Q(w)) / [H⁻¹]_ii, with d = U_ii the diagonal of the inverse factor.
QB_HD inline float gptqColumnStep(float w, float scale, float zero, float maxq, float d, float& code) {
    code = gridCode(w, scale, zero, maxq);
    return (w - gridValue(code, scale, zero)) / d;
}

}  // namespace qb::core
