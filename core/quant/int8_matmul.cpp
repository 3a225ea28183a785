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

void checkActivationBits(int bits) {
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

Int8RowQuantized emptyRows(Index rows, Index cols) {
    Int8RowQuantized R;
    R.rows = rows;
    R.cols = cols;
    R.stride = kernels::int8Stride(cols);
    R.codes.assign(std::size_t(rows * R.stride), 0);
    R.scales.resize(rows);
    return R;
}

// Y[r, c] = (C[r, c] · sb[c]) · sa[r] — the order the float emulation used, kept so that
// results stay bit for bit the same.
void scaleProduct(const Int32Matrix& C, const VectorF& sa, const VectorF& sb, MatrixRM& Y) {
    Y.resize(C.rows(), C.cols());
    for (Index r = 0; r < C.rows(); ++r) Y.row(r) = (C.row(r).cast<float>().array() * sb.transpose().array()) * sa[r];
}

}  // namespace

RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits) {
    checkActivationBits(bits);
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

MatrixRM Int8RowQuantized::dequantized() const {
    MatrixRM A(rows, cols);
    for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < cols; ++c) A(r, c) = float(code(r, c)) * scales[r];
    return A;
}

Int8RowQuantized quantizeRowsAbsmaxInt8(const ConstMatrixRef& A, int bits) {
    checkActivationBits(bits);
    const float qmax = float((1 << (bits - 1)) - 1);
    Int8RowQuantized R = emptyRows(A.rows(), A.cols());
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (A.size() > (1 << 16))
    for (Index r = 0; r < A.rows(); ++r) {
        std::int8_t* q = R.codes.data() + r * R.stride;
        R.scales[r] = quantizeRow(A.row(r).data(), A.cols(), qmax, [&](Index c, float v) { q[c] = std::int8_t(v); });
    }
    return R;
}

Int8RowQuantized int8RowsFromCodes(const std::int8_t* codes, Index rows, Index cols, VectorF scales) {
    if (scales.size() != rows)
        throw Error("int8 weight: " + std::to_string(scales.size()) + " scales for " + std::to_string(rows) + " rows");
    if (!scales.allFinite()) throw Error("int8 weight: a scale is NaN or Inf");
    Int8RowQuantized R = emptyRows(rows, cols);
    R.scales = std::move(scales);
    for (Index r = 0; r < rows; ++r) {
        const std::int8_t* src = codes + r * cols;
        if (std::find(src, src + cols, std::int8_t(-128)) != src + cols)
            throw Error("int8 weight: row " + std::to_string(r) + " holds the code −128 (codes are −127..127)");
        std::copy(src, src + cols, R.codes.begin() + std::ptrdiff_t(r * R.stride));
    }
    return R;
}

void checkInt8Rows(const Int8RowQuantized& R, const std::string& what) {
    if (R.rows < 0 || R.cols < 0 || R.stride != kernels::int8Stride(R.cols) || R.codes.size() != std::size_t(R.rows * R.stride))
        throw Error(what + ": int8 codes are not [rows][int8Stride(cols)]");
    if (R.scales.size() != R.rows)
        throw Error(what + ": " + std::to_string(R.scales.size()) + " scales for " + std::to_string(R.rows) + " rows");
    if (!R.scales.allFinite()) throw Error(what + ": a scale is NaN or Inf");
    for (Index r = 0; r < R.rows; ++r)
        for (Index c = 0; c < R.stride; ++c) {
            const std::int8_t q = R.code(r, c);
            if (q == -128) throw Error(what + ": row " + std::to_string(r) + " holds the code −128 (codes are −127..127)");
            if (c >= R.cols && q != 0) throw Error(what + ": row " + std::to_string(r) + " has non-zero padding");
        }
}

void dequantizedProduct(const Int8RowQuantized& A, const Int8RowQuantized& B, MatrixRM& Y) {
    if (A.cols != B.cols)
        throw Error("int8 product: inner sizes differ (" + std::to_string(A.cols) + " and " + std::to_string(B.cols) + ")");
    Int32Matrix C(A.rows, B.rows);
    kernels::int8Matmul(B.view(), A.codes.data(), A.rows, A.stride, C.data(), C.cols());
    scaleProduct(C, A.scales, B.scales, Y);
}

Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB) {
    if (Aq.cols() != Bq.cols())
        throw Error("int8 product: inner sizes differ (" + std::to_string(Aq.cols()) + " and " + std::to_string(Bq.cols()) + ")");
    if (qmaxA > kInt8Max || qmaxB > kInt8Max) return integerProductFloat(Aq, Bq, qmaxA, qmaxB);
    const auto A = kernels::PackedInt8Weight::fromFloatCodes(Aq), B = kernels::PackedInt8Weight::fromFloatCodes(Bq);
    Int32Matrix C(A.rows(), B.rows());
    kernels::int8Matmul(B, A.row(0), A.rows(), A.stride(), C.data(), C.cols());
    return C;
}

}  // namespace qb::core
