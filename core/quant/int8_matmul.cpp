#include "core/quant/int8_matmul.h"

#include <algorithm>
#include <cmath>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

namespace {
constexpr float kMinAbsmax = 1e-5f;           // SmoothQuant: scales.clamp_(min=1e-5)
constexpr double kExactFloatInteger = 16777216.0;  // 2^24
}  // namespace

RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits) {
    if (bits < 2 || bits > 8) throw Error("int8 quantization: bits must be in 2..8, got " + std::to_string(bits));
    const float qmax = float((1 << (bits - 1)) - 1);
    RowQuantized R{MatrixRM(A.rows(), A.cols()), VectorF(A.rows())};
#pragma omp parallel for num_threads(threadCount()) schedule(static)
    for (Index r = 0; r < A.rows(); ++r) {
        const float absmax = A.cols() ? A.row(r).cwiseAbs().maxCoeff() : 0.0f;
        const float s = std::max(absmax, kMinAbsmax) / qmax;
        R.scales[r] = s;
        const float* a = A.row(r).data();
        float* q = R.codes.row(r).data();
        for (Index c = 0; c < A.cols(); ++c) q[c] = std::clamp(std::rint(a[c] / s), -qmax, qmax);
    }
    return R;
}

Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB) {
    if (Aq.cols() != Bq.cols())
        throw Error("int8 product: inner sizes differ (" + std::to_string(Aq.cols()) + " and " + std::to_string(Bq.cols()) + ")");
    const Backend& cpu = *BackendRegistry::instance().cpu();
    const Index k = Aq.cols();
    // Chunk length with every partial sum below 2^24: chunk · qmaxA · qmaxB < 2^24.
    const Index chunk = std::max<Index>(1, Index(kExactFloatInteger / (double(qmaxA) * double(qmaxB))) - 1);
    Int32Matrix C = Int32Matrix::Zero(Aq.rows(), Bq.rows());
    MatrixRM P;
    for (Index k0 = 0; k0 < k; k0 += chunk) {
        const Index kc = std::min(chunk, k - k0);
        cpu.linear(Aq.middleCols(k0, kc), Bq.middleCols(k0, kc), P);  // exact integers in float
        C += P.cast<std::int32_t>();
    }
    return C;
}

void dequantizedProduct(const RowQuantized& A, const RowQuantized& B, int qmaxA, int qmaxB, MatrixRM& Y) {
    const Int32Matrix C = integerProduct(A.codes, B.codes, qmaxA, qmaxB);
    Y.resize(C.rows(), C.cols());
    for (Index r = 0; r < C.rows(); ++r)
        Y.row(r) = (C.row(r).cast<float>().array() * B.scales.transpose().array()) * A.scales[r];
}

}  // namespace qb::core
