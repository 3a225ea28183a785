#pragma once
// Scalar-generic matrices and GEMMs for OmniQuant's hand-written block training.
//
// The block forward/backward is written once for S = float (training) and S = double (the
// finite-difference gradient check). Every GEMM goes through core/backend/cpu/blas_gemm.h
// (OpenBLAS, single-threaded, row-major), the helper the GPTQ sweep and the Hessian use.
// Layout as everywhere in core: row-major; weights [out, in], activations [tokens, features].

#include <Eigen/Core>

#include "core/backend/cpu/blas_gemm.h"
#include "core/util/matrix.h"

namespace qb::core::omniquant {

template <class S>
using MatrixS = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using VectorS = Eigen::Matrix<S, Eigen::Dynamic, 1>;

/// A row-major view: data, rows, cols and the leading dimension (elements between rows).
template <class S>
struct View {
    S* data;
    Index rows, cols, ld;
};
template <class S>
struct ConstView {
    const S* data;
    Index rows, cols, ld;
};

template <class S>
[[nodiscard]] View<S> view(MatrixS<S>& m) {
    return {m.data(), m.rows(), m.cols(), m.cols()};
}
template <class S>
[[nodiscard]] ConstView<S> view(const MatrixS<S>& m) {
    return {m.data(), m.rows(), m.cols(), m.cols()};
}
/// Columns [c0, c0 + cols) of rows [r0, r0 + rows): one head's slice of q/k/v in one window.
template <class S>
[[nodiscard]] ConstView<S> block(const MatrixS<S>& m, Index r0, Index c0, Index rows, Index cols) {
    return {m.data() + r0 * m.cols() + c0, rows, cols, m.cols()};
}
template <class S>
[[nodiscard]] View<S> block(MatrixS<S>& m, Index r0, Index c0, Index rows, Index cols) {
    return {m.data() + r0 * m.cols() + c0, rows, cols, m.cols()};
}

/// C = α·op(A)·op(B) + β·C with op(X) = Xᵀ when the flag is set. C must already have its shape.
template <class S>
void gemm(bool transA, bool transB, S alpha, ConstView<S> A, ConstView<S> B, S beta, View<S> C) {
    const Index k = transA ? A.rows : A.cols;
    gemmRowMajor(transA, transB, int(C.rows), int(C.cols), int(k), alpha, A.data, int(A.ld), B.data, int(B.ld), beta, C.data,
                 int(C.ld));
}

/// Y[n, out] = X[n, in] · W[out, in]ᵀ: the linear layer.
template <class S>
[[nodiscard]] MatrixS<S> matmulNT(const MatrixS<S>& X, const MatrixS<S>& W) {
    MatrixS<S> Y(X.rows(), W.rows());
    gemm<S>(false, true, S(1), view(X), view(W), S(0), view(Y));
    return Y;
}
/// dX[n, in] = dY[n, out] · W[out, in]: the linear layer's input gradient.
template <class S>
[[nodiscard]] MatrixS<S> matmulNN(const MatrixS<S>& dY, const MatrixS<S>& W) {
    MatrixS<S> dX(dY.rows(), W.cols());
    gemm<S>(false, false, S(1), view(dY), view(W), S(0), view(dX));
    return dX;
}
/// dX[n, in] += dY[n, out] · W[out, in].
template <class S>
void addMatmulNN(const MatrixS<S>& dY, const MatrixS<S>& W, MatrixS<S>& dX) {
    gemm<S>(false, false, S(1), view(dY), view(W), S(1), view(dX));
}
/// dW[out, in] = dY[n, out]ᵀ · X[n, in]: the linear layer's weight gradient.
template <class S>
[[nodiscard]] MatrixS<S> matmulTN(const MatrixS<S>& dY, const MatrixS<S>& X) {
    MatrixS<S> dW(dY.cols(), X.cols());
    gemm<S>(true, false, S(1), view(dY), view(X), S(0), view(dW));
    return dW;
}

}  // namespace qb::core::omniquant
