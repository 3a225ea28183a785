#pragma once
// Helpers shared by the kernel tests: deterministic random low-bit weights and error norms.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "core/kernels/cpu_features.h"
#include "core/kernels/quant_matmul.h"
#include "core/quant/quantized_weight.h"
#include "core/util/half.h"
#include "core/util/matrix.h"

namespace qb::test {

/// Q in the kernels' packed layout (what QuantizedLinear holds).
inline core::kernels::PackedQuantWeight packOf(const core::QuantizedWeight& Q) { return core::packQuantizedWeight(Q); }

/// Relative tolerance of every optimized product against dequantize-then-multiply.
inline constexpr double kRelTol = 1e-5;

/// ‖A − B‖∞ / ‖B‖∞ (0 when B is 0), computed in double.
inline double relError(const core::MatrixRM& A, const Eigen::MatrixXd& B) {
    const double den = B.cwiseAbs().maxCoeff();
    const double num = (A.cast<double>() - B).cwiseAbs().maxCoeff();
    return den > 0 ? num / den : num;
}

/// The kernel paths this CPU can run (Scalar always; Avx2 and Vnni when supported).
inline std::vector<core::kernels::KernelPath> availablePaths() {
    using core::kernels::KernelPath;
    std::vector<KernelPath> p{KernelPath::Scalar};
    for (KernelPath k : {KernelPath::Avx2, KernelPath::Vnni})
        if (core::kernels::kernelPathAvailable(k)) p.push_back(k);
    return p;
}

/// A random quantized weight: uniform codes and zero points, F16-exact scales in [0.5, 2)·2⁻⁶,
/// sequential groups or, with actOrder, GPTQ's "permutation of groups" (columns taken in a
/// random order, groupSize at a time).
inline core::QuantizedWeight randomQuantized(int bits, core::Index rows, core::Index cols, std::optional<int> groupSize,
                                             bool actOrder, unsigned seed) {
    using namespace core;
    QuantizedWeight Q = QuantizedWeight::allocate(rows, cols, {bits, groupSize, false});
    std::mt19937 rng(seed);
    const int maxq = (1 << bits) - 1;
    std::uniform_int_distribution<int> code(0, maxq);
    std::uniform_real_distribution<float> scale(0.5f, 2.0f);
    for (Index i = 0; i < Q.codes.size(); ++i) Q.codes.data()[i] = std::uint8_t(code(rng));
    for (Index i = 0; i < Q.zeros.size(); ++i) Q.zeros.data()[i] = code(rng);
    for (Index i = 0; i < Q.scales.size(); ++i) Q.scales.data()[i] = f16ToFloat(floatToF16(scale(rng) / 64.0f));
    if (actOrder) {
        std::vector<int> perm(static_cast<std::size_t>(cols));
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        const Index width = groupWidth(cols, groupSize);
        for (Index j = 0; j < cols; ++j) Q.gIdx[std::size_t(perm[std::size_t(j)])] = std::int32_t(j / width);
    }
    return Q;
}

}  // namespace qb::test
