#include "core/kernels/float_matmul.h"

#include <string>

#include "core/kernels/kernel_impl.h"
#include "core/kernels/tile_driver.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core::kernels {

namespace {

Index tilesOf(Index rows) { return (rows + kTileRows - 1) / kTileRows; }

void checkWidth(const char* what, Index have, Index want) {
    if (have != want)
        throw Error(std::string(what) + ": input has " + std::to_string(have) + " features, weight expects " + std::to_string(want));
}

}  // namespace

PackedF32Weight::PackedF32Weight(const ConstMatrixRef& W) : m_rows(W.rows()), m_cols(W.cols()), m_tiles(tilesOf(W.rows())) {
    m_data.assign(std::size_t(m_tiles * m_cols * kTileRows), 0.0f);
    for (Index o = 0; o < m_rows; ++o) {
        float* dst = m_data.data() + (o / kTileRows) * m_cols * kTileRows + o % kTileRows;
        for (Index c = 0; c < m_cols; ++c) dst[c * kTileRows] = W(o, c);
    }
}

template <class Get>
void PackedF16Weight::fill(Index rows, Index cols, Get&& get) {
    m_rows = rows;
    m_cols = cols;
    m_tiles = tilesOf(rows);
    m_data.assign(std::size_t(m_tiles * m_cols * kTileRows), 0);
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (rows * cols > (1 << 20))
    for (Index o = 0; o < rows; ++o) {
        std::uint16_t* dst = m_data.data() + (o / kTileRows) * cols * kTileRows + o % kTileRows;
        for (Index c = 0; c < cols; ++c) dst[c * kTileRows] = get(o, c);
    }
}

PackedF16Weight::PackedF16Weight(const ConstMatrixRef& W) {
    fill(W.rows(), W.cols(), [&](Index o, Index c) { return floatToF16(W(o, c)); });
}

PackedF16Weight::PackedF16Weight(const std::uint16_t* W, Index rows, Index cols) {
    fill(rows, cols, [&](Index o, Index c) { return W[o * cols + c]; });
}

MatrixRM PackedF16Weight::toFloat() const {
    MatrixRM W(m_rows, m_cols);
    for (Index o = 0; o < m_rows; ++o) {
        const std::uint16_t* src = m_data.data() + (o / kTileRows) * m_cols * kTileRows + o % kTileRows;
        for (Index c = 0; c < m_cols; ++c) W(o, c) = f16ToFloat(src[c * kTileRows]);
    }
    return W;
}

void f32Gemv(const PackedF32Weight& W, const float* x, float* y, KernelPath path) {
    const F32Tiles v = W.view();
    detail::parallelTiles(v.tiles, double(W.bytes()), [&](Index t0, Index t1) {
        usesAvx2(path) ? f32Gemv_avx2(v, x, y, t0, t1) : f32Gemv_ref(v, x, y, t0, t1);
    });
}

void f16Gemv(const PackedF16Weight& W, const float* x, float* y, KernelPath path) {
    const F16Tiles v = W.view();
    detail::parallelTiles(v.tiles, double(W.bytes()), [&](Index t0, Index t1) {
        usesAvx2(path) ? f16Gemv_avx2(v, x, y, t0, t1) : f16Gemv_ref(v, x, y, t0, t1);
    });
}

void f32Matmul(const PackedF32Weight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path) {
    checkWidth("f32 product", X.cols(), W.cols());
    Y.resize(X.rows(), W.rows());
    if (X.rows() == 0 || W.rows() == 0) return;
    if (X.rows() == 1) return f32Gemv(W, X.row(0).data(), Y.row(0).data(), path);
    const F32Tiles v = W.view();
    detail::slabGemm(X, W.rows(), v.tiles, [&](Index t0, Index t1, float* wt, Index ldw) {
        for (Index t = t0; t < t1; ++t)  // a copy: the FP32 tiles are Wᵀ already
            for (Index c = 0; c < v.cols; ++c)
                for (int l = 0; l < kTileRows; ++l) wt[c * ldw + (t - t0) * kTileRows + l] = v.data[(t * v.cols + c) * kTileRows + l];
    }, Y);
}

void f16Matmul(const PackedF16Weight& W, const ConstMatrixRef& X, MatrixRM& Y, KernelPath path) {
    checkWidth("f16 product", X.cols(), W.cols());
    Y.resize(X.rows(), W.rows());
    if (X.rows() == 0 || W.rows() == 0) return;
    if (X.rows() == 1) return f16Gemv(W, X.row(0).data(), Y.row(0).data(), path);
    const F16Tiles v = W.view();
    detail::slabGemm(X, W.rows(), v.tiles, [&](Index t0, Index t1, float* wt, Index ldw) {
        usesAvx2(path) ? f16Dequant_avx2(v, t0, t1, wt, ldw) : f16Dequant_ref(v, t0, t1, wt, ldw);
    }, Y);
}

}  // namespace qb::core::kernels
