#include "core/quant/quantized_weight.h"

#include "core/backend/backend.h"
#include "core/quant/token_quant.h"
#include "core/util/error.h"
#include "core/util/huge_pages.h"

namespace qb::core {

namespace {

std::string shapeText(Index r, Index c) { return "[" + std::to_string(r) + ", " + std::to_string(c) + "]"; }


}  // namespace

Index groupCount(Index inFeatures, const std::optional<int>& groupSize) {
    if (!groupSize) return 1;
    if (*groupSize <= 0) throw Error("weight grid: group size must be positive, got " + std::to_string(*groupSize));
    return std::max<Index>(1, ceilDiv(inFeatures, *groupSize));
}

Index groupWidth(Index inFeatures, const std::optional<int>& groupSize) {
    return groupSize ? Index(*groupSize) : std::max<Index>(1, inFeatures);
}

std::vector<std::int32_t> sequentialGroupIndex(Index inFeatures, const std::optional<int>& groupSize) {
    const Index g = groupWidth(inFeatures, groupSize);
    std::vector<std::int32_t> gIdx(static_cast<std::size_t>(inFeatures));
    for (Index c = 0; c < inFeatures; ++c) gIdx[std::size_t(c)] = std::int32_t(c / g);
    return gIdx;
}

QuantizedWeight QuantizedWeight::allocate(Index rows, Index cols, const WeightGridSpec& spec) {
    QuantGrid(spec.bits, spec.sym);  // validates bits
    QuantizedWeight q;
    q.bits = spec.bits;
    q.groupSize = spec.groupSize;
    q.sym = spec.sym;
    q.rows = rows;
    q.cols = cols;
    const Index nGroups = groupCount(cols, spec.groupSize);
    q.codes.resize(rows, cols);  // one byte per weight: 16 MiB for a 4096² layer
    adviseHugePages(q.codes.data(), std::size_t(q.codes.size()));
    q.codes.setZero();
    q.scales = MatrixRM::Ones(rows, nGroups);
    q.zeros = ZeroMatrix::Zero(rows, nGroups);
    q.gIdx = sequentialGroupIndex(cols, spec.groupSize);
    return q;
}

void QuantizedWeight::dequantizeRow(Index r, float* w) const {
    // Ŵ[r, c] = scales[r, g] · (codes[r, c] − zeros[r, g]),  g = gIdx[c]
    const float* s = scales.row(r).data();
    const std::int32_t* z = zeros.row(r).data();
    const std::uint8_t* q = codes.row(r).data();
    for (Index c = 0; c < cols; ++c) {
        const std::int32_t g = gIdx[std::size_t(c)];
        w[c] = gridValue(float(q[c]), s[g], float(z[g]));
    }
}

MatrixRM QuantizedWeight::dequantize() const {
    MatrixRM W(rows, cols);
#pragma omp parallel for num_threads(threadCount()) schedule(static)
    for (Index r = 0; r < rows; ++r) dequantizeRow(r, W.row(r).data());
    return W;
}

std::size_t QuantizedWeight::packedBytes() const {
    const std::size_t nGroups = std::size_t(groups());
    const std::size_t qweight = std::size_t(ceilDiv(cols, 32) * bits * rows) * 4;
    const std::size_t qzeros = nGroups * std::size_t(ceilDiv(rows, 32) * bits) * 4;
    const std::size_t scalesF16 = nGroups * std::size_t(rows) * 2;
    const std::size_t gIdxBytes = std::size_t(cols) * 4;
    return qweight + qzeros + scalesF16 + gIdxBytes;
}

bool QuantizedWeight::hasSequentialGroups() const { return gIdx == sequentialGroupIndex(cols, groupSize); }

void QuantizedWeight::validate() const {
    QuantGrid(bits, sym);
    const Index nGroups = groupCount(cols, groupSize);
    const int maxq = (1 << bits) - 1;
    if (codes.rows() != rows || codes.cols() != cols)
        throw Error("quantized weight: codes are " + shapeText(codes.rows(), codes.cols()) + ", expected " + shapeText(rows, cols));
    if (scales.rows() != rows || scales.cols() != nGroups)
        throw Error("quantized weight: scales are " + shapeText(scales.rows(), scales.cols()) + ", expected " +
                    shapeText(rows, nGroups));
    if (zeros.rows() != rows || zeros.cols() != nGroups)
        throw Error("quantized weight: zeros are " + shapeText(zeros.rows(), zeros.cols()) + ", expected " +
                    shapeText(rows, nGroups));
    if (Index(gIdx.size()) != cols)
        throw Error("quantized weight: g_idx has " + std::to_string(gIdx.size()) + " entries for " + std::to_string(cols) +
                    " input features");
    for (std::int32_t g : gIdx)
        if (g < 0 || g >= nGroups) throw Error("quantized weight: g_idx value " + std::to_string(g) + " is not a group");
    if (codes.size() > 0 && int(codes.maxCoeff()) > maxq)
        throw Error("quantized weight: a code exceeds " + std::to_string(maxq) + " for " + std::to_string(bits) + " bits");
    if (zeros.size() > 0 && (zeros.minCoeff() < 0 || zeros.maxCoeff() > maxq))
        throw Error("quantized weight: a zero point lies outside [0, " + std::to_string(maxq) + "]");
}

kernels::PackedQuantWeight packQuantizedWeight(const QuantizedWeight& weight) {
    kernels::QuantSource src;
    src.bits = weight.bits;
    src.rows = weight.rows;
    src.cols = weight.cols;
    src.groups = weight.groups();
    src.codes = weight.codes.data();
    src.scales = weight.scales.data();
    src.zeros = weight.zeros.data();
    src.gIdx = weight.gIdx.data();
    return kernels::PackedQuantWeight::pack(src);
}

QuantizedLinear::QuantizedLinear(const QuantizedWeight& weight, std::optional<VectorF> bias, std::string method,
                                 std::optional<int> actBits)
    : m_groupSize(weight.groupSize), m_sym(weight.sym), m_bias(std::move(bias)), m_method(std::move(method)), m_actBits(actBits) {
    weight.validate();
    if (m_actBits && (*m_actBits < kMinActBits || *m_actBits > kMaxActBits))
        throw Error("quantized linear: activation bits " + std::to_string(*m_actBits) + " outside " +
                    std::to_string(kMinActBits) + ".." + std::to_string(kMaxActBits));
    if (m_bias && m_bias->size() != weight.rows)
        throw Error("quantized linear: bias has " + std::to_string(m_bias->size()) + " entries for " +
                    std::to_string(weight.rows) + " output features");
    m_packed = withErrorContext("quantized linear", [&] { return packQuantizedWeight(weight); });
    m_weightBytes = weight.packedBytes();
}

void QuantizedLinear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    if (X.cols() != inFeatures())
        throw Error("quantized linear: input has " + std::to_string(X.cols()) + " features, weight expects " +
                    std::to_string(inFeatures()));
    if (m_actBits) {  // per-token activations first (simulated), then the weight-only product
        MatrixRM Xq = X;
        fakeQuantizeTokensInPlace(Xq, *m_actBits);
        return forwardWeightOnly(Xq, Y);
    }
    forwardWeightOnly(X, Y);
}

void QuantizedLinear::forwardWeightOnly(const ConstMatrixRef& X, MatrixRM& Y) const {
    const Index n = X.rows(), out = m_packed.rows(), in = m_packed.cols();
    if (n < kBackendGemmRows) {
        kernels::quantMatmul(m_packed, X, Y);
    } else {
        // A calibration batch (thousands of rows): dequantize Ŵ a block of output rows at a time
        // and multiply on the backend's GEMM (the CPU backend: one large Eigen GEMM per thread).
        // The slab kernel's L2-sized slabs and small per-slab GEMMs suit a few hundred rows; here
        // the dequantization is paid once per block and each product is large (BENCHMARKS.md,
        // "Stage by stage, from quantize's own timer").
        Y.resize(n, out);
        const Index block = std::min<Index>(out, kBackendGemmBlockRows);
        const Backend& gemm = backendFor(BackendOp::Linear, n, in, block);
        MatrixRM Wb(block, in), Yb;  // [block, in] rows of Ŵ, [n, block] their outputs
        for (Index r0 = 0; r0 < out; r0 += block) {
            const Index rows = std::min(block, out - r0);
            if (rows != Wb.rows()) Wb.resize(rows, in);
            m_packed.dequantizeRows(r0, r0 + rows, Wb.data(), in);
            gemm.linear(X, Wb, Yb);
            Y.middleCols(r0, rows) = Yb;
        }
    }
    addBias(m_bias, Y);
}

QuantizedWeight QuantizedLinear::weight() const {
    QuantizedWeight q = QuantizedWeight::allocate(m_packed.rows(), m_packed.cols(), {m_packed.bits(), m_groupSize, m_sym});
    m_packed.unpack(q.codes.data(), q.scales.data(), q.zeros.data());
    q.gIdx = m_packed.gIdx();
    return q;
}

std::size_t QuantizedLinear::storageBytes() const {
    return m_weightBytes + (m_bias ? std::size_t(m_bias->size()) * 2 : 0);
}

bool QuantizedLinear::sequentialGroups() const {
    const auto& g = m_packed.gIdx();
    const Index width = groupWidth(m_packed.cols(), m_groupSize);
    for (std::size_t c = 0; c < g.size(); ++c)
        if (g[c] != std::int32_t(Index(c) / width)) return false;
    return true;
}

std::string QuantizedLinear::format() const {
    std::string s = m_method.empty() ? "" : m_method + " ";
    s += "int" + std::to_string(m_packed.bits());
    s += m_groupSize ? " g" + std::to_string(*m_groupSize) : std::string(" row");
    if (m_sym) s += " sym";
    if (m_actBits) s += " a" + std::to_string(*m_actBits) + " (simulated)";  // x̂ is float at every width
    return s;
}

}  // namespace qb::core
