#include "core/quant/int8_matmul.h"

#include <algorithm>
#include <cmath>

#include "core/backend/backend.h"
#include "core/util/error.h"

namespace qb::core {

namespace {
constexpr float kMinAbsmax = 1e-5f;                // SmoothQuant: scales.clamp_(min=1e-5)
constexpr double kExactFloatInteger = 16777216.0;  // 2^24
constexpr int kInt8Max = 127;

void checkBits(int bits) {
    if (bits < 2 || bits > 8) throw Error("int8 quantization: bits must be in 2..8, got " + std::to_string(bits));
}

// The row scale and codes of quantizeRowsAbsmax(), written through put(c, code).
template <class Put>
float quantizeRow(const float* a, Index cols, float qmax, Put&& put) {
    float absmax = 0.0f;
    for (Index c = 0; c < cols; ++c) absmax = std::max(absmax, std::abs(a[c]));
    const float s = std::max(absmax, kMinAbsmax) / qmax;
    for (Index c = 0; c < cols; ++c) put(c, std::clamp(std::rint(a[c] / s), -qmax, qmax));
    return s;
}

// The float-GEMM emulation, kept for integer codes beyond int8 (qmax > 127).
Int32Matrix integerProductFloat(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB) {
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

std::shared_ptr<const kernels::PackedInt8Weight> packedOf(const RowQuantized& R) {
    if (R.int8) return R.int8;
    return std::make_shared<const kernels::PackedInt8Weight>(kernels::PackedInt8Weight::fromFloatCodes(R.codes));
}

// C = A · Bᵀ with both operands packed int8 rows.
Int32Matrix int8Product(const kernels::PackedInt8Weight& A, const kernels::PackedInt8Weight& B) {
    Int32Matrix C(A.rows(), B.rows());
    kernels::int8Matmul(B, A.row(0), A.rows(), A.stride(), C.data(), C.cols());
    return C;
}

// Y[r, c] = (C[r, c] · sb[c]) · sa[r] — the order the float emulation used, kept so that
// results stay bit for bit the same.
void scaleProduct(const Int32Matrix& C, const VectorF& sa, const VectorF& sb, MatrixRM& Y) {
    Y.resize(C.rows(), C.cols());
    for (Index r = 0; r < C.rows(); ++r) Y.row(r) = (C.row(r).cast<float>().array() * sb.transpose().array()) * sa[r];
}

}  // namespace

RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits) {
    checkBits(bits);
    const float qmax = float((1 << (bits - 1)) - 1);
    RowQuantized R;
    R.codes.resize(A.rows(), A.cols());
    R.scales.resize(A.rows());
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (A.size() > (1 << 16))
    for (Index r = 0; r < A.rows(); ++r) {
        float* q = R.codes.row(r).data();
        R.scales[r] = quantizeRow(A.row(r).data(), A.cols(), qmax, [&](Index c, float v) { q[c] = v; });
    }
    return R;
}

void packInt8(RowQuantized& R) {
    R.int8 = std::make_shared<const kernels::PackedInt8Weight>(kernels::PackedInt8Weight::fromFloatCodes(R.codes));
}

Int8RowQuantized quantizeRowsAbsmaxInt8(const ConstMatrixRef& A, int bits) {
    checkBits(bits);
    const float qmax = float((1 << (bits - 1)) - 1);
    Int8RowQuantized R;
    R.rows = A.rows();
    R.cols = A.cols();
    R.stride = kernels::int8Stride(A.cols());
    R.codes.assign(std::size_t(R.rows * R.stride), 0);
    R.scales.resize(A.rows());
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (A.size() > (1 << 16))
    for (Index r = 0; r < A.rows(); ++r) {
        std::int8_t* q = R.codes.data() + r * R.stride;
        R.scales[r] = quantizeRow(A.row(r).data(), A.cols(), qmax, [&](Index c, float v) { q[c] = std::int8_t(v); });
    }
    return R;
}

void dequantizedProduct(const Int8RowQuantized& A, const RowQuantized& B, MatrixRM& Y) {
    if (A.cols != B.codes.cols())
        throw Error("int8 product: inner sizes differ (" + std::to_string(A.cols) + " and " + std::to_string(B.codes.cols()) + ")");
    const auto Bp = packedOf(B);
    Int32Matrix C(A.rows, Bp->rows());
    kernels::int8Matmul(*Bp, A.codes.data(), A.rows, A.stride, C.data(), C.cols());
    scaleProduct(C, A.scales, B.scales, Y);
}

Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB) {
    if (Aq.cols() != Bq.cols())
        throw Error("int8 product: inner sizes differ (" + std::to_string(Aq.cols()) + " and " + std::to_string(Bq.cols()) + ")");
    if (qmaxA > kInt8Max || qmaxB > kInt8Max) return integerProductFloat(Aq, Bq, qmaxA, qmaxB);
    return int8Product(kernels::PackedInt8Weight::fromFloatCodes(Aq), kernels::PackedInt8Weight::fromFloatCodes(Bq));
}

void dequantizedProduct(const RowQuantized& A, const RowQuantized& B, int qmaxA, int qmaxB, MatrixRM& Y) {
    if (A.codes.cols() != B.codes.cols())
        throw Error("int8 product: inner sizes differ (" + std::to_string(A.codes.cols()) + " and " +
                    std::to_string(B.codes.cols()) + ")");
    Int32Matrix C;
    if (qmaxA > kInt8Max || qmaxB > kInt8Max)
        C = integerProductFloat(A.codes, B.codes, qmaxA, qmaxB);
    else
        C = int8Product(*packedOf(A), *packedOf(B));
    scaleProduct(C, A.scales, B.scales, Y);
}

}  // namespace qb::core
