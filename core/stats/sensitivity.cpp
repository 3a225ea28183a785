#include "core/stats/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"

namespace qb::core {

void GramAccumulator::add(const ConstMatrixRef& X) {
    if (X.cols() != m_G.cols())
        throw Error("Gram accumulation: expected " + std::to_string(m_G.cols()) + " input channels, got " +
                    std::to_string(X.cols()));
    if (X.rows() == 0) return;
    backendFor(BackendOp::Gram, X.cols(), X.rows(), X.cols()).accumulateGram(X, m_G);
    m_tokens += std::uint64_t(X.rows());
}

namespace {

// tr(D G Dᵀ) = Σ_i d_i G d_iᵀ, one row block at a time: P = D_R G (one single-threaded BLAS
// GEMM per block, the blocks spread over the threads), then Σ P ∘ D_R in double, summed in
// block order (independent of the thread count). Scalar: float or double, the type of G.
template <class Scalar>
double quadraticForm(const ConstMatrixRef& D, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& G) {
    using Block = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    if (G.rows() != D.cols() || G.cols() != D.cols())
        throw Error("sensitivity: Gram matrix is " + std::to_string(G.rows()) + "x" + std::to_string(G.cols()) +
                    " but the weight has " + std::to_string(D.cols()) + " input channels");
    constexpr Index kBlock = 128;
    const Index in = D.cols();
    const Index blocks = (D.rows() + kBlock - 1) / kBlock;
    std::vector<double> partial(std::size_t(blocks), 0.0);
    // One block costs rows·in² multiply-adds; small forms stay on one thread.
    constexpr double kMinFlopsPerThread = 1 << 20;
    const double flops = double(D.rows()) * double(in) * double(in);
    const int threads = std::max(1, int(std::min<double>({double(threadCount()), double(blocks), flops / kMinFlopsPerThread})));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic)
    for (Index b = 0; b < blocks; ++b) {
        const Index begin = b * kBlock;
        const Index rows = std::min(kBlock, D.rows() - begin);
        const Block Db = D.middleRows(begin, rows).template cast<Scalar>();
        Block P(rows, in);  // P = D_R · G
        gemmRowMajor(false, false, int(rows), int(in), int(in), Scalar(1), Db.data(), int(in), G.data(), int(in), Scalar(0),
                     P.data(), int(in));
        partial[std::size_t(b)] = (P.array().template cast<double>() * Db.array().template cast<double>()).sum();
    }
    double sum = 0.0;
    for (double p : partial) sum += p;
    return sum;
}

}  // namespace

double gramQuadraticForm(const ConstMatrixRef& D, const MatrixRMd& G) {
    return quadraticForm<double>(D, G);
}

double relativeOutputError(const ConstMatrixRef& W, const ConstMatrixRef& What, const MatrixRMd& G) {
    if (W.rows() != What.rows() || W.cols() != What.cols())
        throw Error("sensitivity: quantized weight is " + std::to_string(What.rows()) + "x" +
                    std::to_string(What.cols()) + ", expected " + std::to_string(W.rows()) + "x" +
                    std::to_string(W.cols()));
    const double reference = gramQuadraticForm(W, G);
    const MatrixRM delta = W - What;
    const double error = gramQuadraticForm(delta, G);
    if (reference > 0.0) return std::max(0.0, error) / reference;
    return error > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

const SensitivityEntry* SensitivityTable::find(int bits, std::optional<int> groupSize) const {
    for (const SensitivityEntry& e : entries)
        if (e.bits == bits && e.groupSize == groupSize) return &e;
    return nullptr;
}

std::string sensitivityLabel(int bits, std::optional<int> groupSize) {
    return "w" + std::to_string(bits) + (groupSize ? " g" + std::to_string(*groupSize) : std::string(" per-channel"));
}

std::string sensitivityKey(int bits, std::optional<int> groupSize) {
    return "w" + std::to_string(bits) + (groupSize ? "_g" + std::to_string(*groupSize) : std::string("_per_channel"));
}

SensitivityTable computeSensitivity(const ConstMatrixRef& W, const MatrixRMd& G, const SensitivityOptions& options) {
    SensitivityTable table;
    table.sym = options.sym;
    // The 13 quadratic forms of a module run in float (half the bytes and twice the SIMD
    // width of double; the relative errors reported need 4 digits, float sums over in_features
    // keep ~6). The denominator tr(W G Wᵀ) is shared by every grid point.
    if (G.rows() != W.cols() || G.cols() != W.cols())
        throw Error("sensitivity: Gram matrix is " + std::to_string(G.rows()) + "x" + std::to_string(G.cols()) +
                    " but the weight has " + std::to_string(W.cols()) + " input channels");
    const MatrixRM Gf = G.cast<float>();
    const double reference = quadraticForm<float>(W, Gf);
    for (int bits : options.bits) {
        for (const std::optional<int>& group : options.groupSizes) {
            SensitivityEntry entry{bits, group, std::nullopt, {}};
            try {
                WeightGridSpec spec;
                spec.bits = bits;
                spec.groupSize = group;
                spec.sym = options.sym;
                const MatrixRM delta = W - quantizeRtn(W, spec).dequantize();
                const double error = std::max(0.0, quadraticForm<float>(delta, Gf));
                entry.relativeError = reference > 0.0 ? error / reference
                                      : error > 0.0   ? std::numeric_limits<double>::infinity()
                                                      : 0.0;
            } catch (const Error& e) {
                entry.note = e.what();
            }
            table.entries.push_back(std::move(entry));
        }
    }
    return table;
}

}  // namespace qb::core
