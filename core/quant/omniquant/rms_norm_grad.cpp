#include "core/quant/omniquant/rms_norm_grad.h"

#include <cmath>

namespace qb::core::omniquant {

template <class S>
void rmsNormForward(const MatrixS<S>& x, const VectorS<S>& g, double eps, MatrixS<S>& y, VectorS<S>& rstd) {
    const Index D = g.size();
    const Index rows = x.size() / D;  // D-wide rows: [n·k, D]
    y.resize(x.rows(), x.cols());
    rstd.resize(rows);
    const S invD = S(1) / S(D);
    for (Index i = 0; i < rows; ++i) {
        Eigen::Map<const VectorS<S>> xi(x.data() + i * D, D);
        Eigen::Map<VectorS<S>> yi(y.data() + i * D, D);
        const S r = S(1) / std::sqrt(xi.squaredNorm() * invD + S(eps));  // r = (mean(x²) + ε)^(−1/2)
        rstd[i] = r;
        yi = (xi * r).cwiseProduct(g);  // y = x·r ⊙ g
    }
}

template <class S>
void rmsNormBackward(const MatrixS<S>& x, const VectorS<S>& g, const VectorS<S>& rstd, const MatrixS<S>& dy, MatrixS<S>& dx,
                     bool accumulate) {
    const Index D = g.size();
    const Index rows = x.size() / D;
    if (!accumulate) dx.setZero(x.rows(), x.cols());
    const S invD = S(1) / S(D);
    for (Index i = 0; i < rows; ++i) {
        Eigen::Map<const VectorS<S>> xi(x.data() + i * D, D);
        Eigen::Map<const VectorS<S>> dyi(dy.data() + i * D, D);
        Eigen::Map<VectorS<S>> dxi(dx.data() + i * D, D);
        const S r = rstd[i];
        const VectorS<S> u = dyi.cwiseProduct(g);  // u = ∂L/∂y ⊙ g
        const S ux = u.dot(xi);
        dxi += r * u - (r * r * r * invD * ux) * xi;  // ∂L/∂x = r·u − (r³/D)(u·x)·x
    }
}

template void rmsNormForward<float>(const MatrixS<float>&, const VectorS<float>&, double, MatrixS<float>&, VectorS<float>&);
template void rmsNormForward<double>(const MatrixS<double>&, const VectorS<double>&, double, MatrixS<double>&, VectorS<double>&);
template void rmsNormBackward<float>(const MatrixS<float>&, const VectorS<float>&, const VectorS<float>&, const MatrixS<float>&,
                                     MatrixS<float>&, bool);
template void rmsNormBackward<double>(const MatrixS<double>&, const VectorS<double>&, const VectorS<double>&,
                                      const MatrixS<double>&, MatrixS<double>&, bool);

}  // namespace qb::core::omniquant
