#include "core/kernels/int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/kernels/kernel_impl.h"
#include "core/kernels/tile_driver.h"
#include "core/util/error.h"

namespace qb::core::kernels {

namespace {
constexpr Index kRowBlock = 64;    // weight rows per task: 64 · stride bytes stay in L2
constexpr Index kTokenBlock = 32;  // tokens per task
}  // namespace

PackedInt8Weight::PackedInt8Weight(const std::int8_t* codes, Index rows, Index cols) : m_rows(rows), m_cols(cols) {
    const Index s = stride();
    m_data.assign(std::size_t(rows * s), 0);
    for (Index r = 0; r < rows; ++r) {
        for (Index c = 0; c < cols; ++c)
            if (codes[r * cols + c] == -128) throw Error("int8 weight: code −128 is not allowed (use −127..127)");
        std::memcpy(m_data.data() + r * s, codes + r * cols, std::size_t(cols));
    }
}

PackedInt8Weight PackedInt8Weight::fromFloatCodes(const ConstMatrixRef& codes) {
    PackedInt8Weight W;
    W.m_rows = codes.rows();
    W.m_cols = codes.cols();
    const Index s = W.stride();
    W.m_data.assign(std::size_t(W.m_rows * s), 0);
    for (Index r = 0; r < W.m_rows; ++r)
        for (Index c = 0; c < W.m_cols; ++c) {
            const float v = codes(r, c);
            if (!(v >= -127.0f && v <= 127.0f) || std::rint(v) != v)
                throw Error("int8 weight: code " + std::to_string(v) + " is not an integer in −127..127");
            W.m_data[std::size_t(r * s + c)] = std::int8_t(v);
        }
    return W;
}

void int8Matmul(const PackedInt8Weight& W, const std::int8_t* X, Index n, Index ldx, std::int32_t* C, Index ldc,
                KernelPath path) {
    int8Matmul(W.view(), X, n, ldx, C, ldc, path);
}

void int8Matmul(const Int8Rows& W, const std::int8_t* X, Index n, Index ldx, std::int32_t* C, Index ldc, KernelPath path) {
    if (n == 0 || W.rows == 0) return;
    const Index rowBlocks = (W.rows + kRowBlock - 1) / kRowBlock;
    const Index tokenBlocks = (n + kTokenBlock - 1) / kTokenBlock;
    const Index tasks = rowBlocks * tokenBlocks;
    const double weightBytes = double(W.rows) * double(W.stride);
    const int threads = detail::threadsFor(weightBytes * double(std::min<Index>(n, 8)), tasks);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (Index task = 0; task < tasks; ++task) {
        const Index r0 = (task / tokenBlocks) * kRowBlock, r1 = std::min<Index>(W.rows, r0 + kRowBlock);
        const Index m0 = (task % tokenBlocks) * kTokenBlock, m1 = std::min(n, m0 + kTokenBlock);
        const std::int8_t* Xb = X + m0 * ldx;
        std::int32_t* Cb = C + m0 * ldc;
        if (usesAvx2(path))
            int8Gemm_avx2(W, Xb, m1 - m0, ldx, Cb, ldc, r0, r1);
        else
            int8Gemm_ref(W, Xb, m1 - m0, ldx, Cb, ldc, r0, r1);
    }
}

}  // namespace qb::core::kernels
