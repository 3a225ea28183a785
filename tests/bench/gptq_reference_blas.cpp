#include "gptq_reference_blas.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "core/quant/quant_grid.h"

extern "C" {
// LAPACK (OpenBLAS ships it): Cholesky factor and inverse from it, as torch.linalg.cholesky and
// torch.cholesky_inverse call them.
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
}

namespace qb::bench {

using namespace qb::core;
using ColMajorF = Eigen::MatrixXf;

namespace {
double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

void referenceAddBatch(const MatrixRM& X, MatrixRM& H, long& nsamples) {
    const int n = int(X.rows()), in = int(X.cols());
    if (nsamples == 0) H = MatrixRM::Zero(in, in);
    // self.H *= self.nsamples / (self.nsamples + tmp)  (one in-place pass over H)
    H *= float(double(nsamples) / double(nsamples + n));
    nsamples += n;
    // inp = math.sqrt(2 / self.nsamples) * inp.float(): a new tensor, X's layout kept
    const MatrixRM Xs = float(std::sqrt(2.0 / double(nsamples))) * X;
    // self.H += inp.matmul(inp.t()): torch.matmul writes a new [in, in] tensor (one dense
    // sgemm, no symmetry: inp is X's column-major view [in, n]), then an in-place add.
    MatrixRM product(in, in);
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, in, in, n, 1.0f, Xs.data(), in, Xs.data(), in, 0.0f, product.data(),
                in);
    H += product;
}

ReferenceTimes referenceFasterQuant(const MatrixRM& Win, const MatrixRM& Hin, int bits, int groupSize, int blockSize,
                                    double percdamp) {
    ReferenceTimes t;
    const int rows = int(Win.rows()), columns = int(Win.cols());
    MatrixRM W = Win;  // W: [rows, columns] row-major, as the torch tensor
    ColMajorF H = Hin;  // symmetric

    auto t0 = std::chrono::steady_clock::now();
    // dead = diag(H) == 0; H[dead, dead] = 1; W[:, dead] = 0
    for (int j = 0; j < columns; ++j)
        if (H(j, j) == 0.0f) {
            H(j, j) = 1.0f;
            W.col(j).setZero();
        }
    // damp = percdamp * mean(diag(H)); H[diag, diag] += damp
    const float damp = float(percdamp * double(H.diagonal().mean()));
    H.diagonal().array() += damp;
    int info = 0;
    const char lower = 'L', upper = 'U';
    spotrf_(&lower, &columns, H.data(), &columns, &info);  // H = torch.linalg.cholesky(H)
    if (info != 0) throw std::runtime_error("reference: cholesky failed");
    spotri_(&lower, &columns, H.data(), &columns, &info);  // H = torch.cholesky_inverse(H)
    if (info != 0) throw std::runtime_error("reference: cholesky_inverse failed");
    H.triangularView<Eigen::StrictlyUpper>() = H.transpose();  // torch returns the full matrix
    spotrf_(&upper, &columns, H.data(), &columns, &info);  // H = torch.linalg.cholesky(H, upper=True)
    if (info != 0) throw std::runtime_error("reference: cholesky(upper) failed");
    H.triangularView<Eigen::StrictlyLower>().setZero();
    const ColMajorF& Hinv = H;
    t.cholesky = secondsSince(t0);

    t0 = std::chrono::steady_clock::now();
    const QuantGrid grid(bits, false);
    const float maxq = float(grid.maxq());
    MatrixRM Q = MatrixRM::Zero(rows, columns), Losses = MatrixRM::Zero(rows, columns);
    Eigen::VectorXf scale(rows), zero(rows), w(rows), q(rows), err1(rows);
    for (int i1 = 0; i1 < columns; i1 += blockSize) {
        const int i2 = std::min(i1 + blockSize, columns);
        const int count = i2 - i1;
        MatrixRM W1 = W.middleCols(i1, count);  // [rows, count], .clone()
        MatrixRM Q1 = MatrixRM::Zero(rows, count), Err1 = MatrixRM::Zero(rows, count), Losses1 = MatrixRM::Zero(rows, count);
        for (int i = 0; i < count; ++i) {
            w = W1.col(i);
            const float d = Hinv(i1 + i, i1 + i);
            if (groupSize != -1 && (i1 + i) % groupSize == 0) {  // find_params(W[:, i1+i : i1+i+groupsize])
                const int g = std::min(groupSize, columns - (i1 + i));
                for (int r = 0; r < rows; ++r) {
                    const auto seg = W.row(r).segment(i1 + i, g);
                    const GroupParams p = grid.paramsForRange(seg.minCoeff(), seg.maxCoeff());
                    scale[r] = p.scale;
                    zero[r] = p.zero;
                }
            } else if (groupSize == -1 && i1 + i == 0) {
                for (int r = 0; r < rows; ++r) {
                    const GroupParams p = grid.paramsForRange(W.row(r).minCoeff(), W.row(r).maxCoeff());
                    scale[r] = p.scale;
                    zero[r] = p.zero;
                }
            }
            for (int r = 0; r < rows; ++r) q[r] = gridValue(gridCode(w[r], scale[r], zero[r], maxq), scale[r], zero[r]);
            Q1.col(i) = q;
            Losses1.col(i) = (w - q).array().square() / (d * d);
            err1 = (w - q) / d;
            // W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0)): W1 row-major
            // [rows, count] is column-major [count, rows]; the block starts at row i.
            cblas_sger(CblasColMajor, count - i, rows, -1.0f, &Hinv(i1 + i, i1 + i), columns, err1.data(), 1,
                       W1.data() + i, count);
            Err1.col(i) = err1;
        }
        Q.middleCols(i1, count) = Q1;
        Losses.middleCols(i1, count) = Losses1 / 2.0f;
        // W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:]), in column-major terms
        // Wᵀ[i2:, :] −= Hinv[i1:i2, i2:]ᵀ · Err1ᵀ
        if (i2 < columns)
            cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, columns - i2, rows, count, -1.0f, &Hinv(i1, i2), columns,
                        Err1.data(), count, 1.0f, W.data() + i2, columns);
    }
    t.sweep = secondsSince(t0);
    if (!Q.allFinite() || !std::isfinite(Losses.sum())) throw std::runtime_error("reference: non-finite result");
    return t;
}

}  // namespace qb::bench
