#include "core/stats/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/backend.h"
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

double gramQuadraticForm(const ConstMatrixRef& D, const MatrixRMd& G) {
    if (G.rows() != D.cols() || G.cols() != D.cols())
        throw Error("sensitivity: Gram matrix is " + std::to_string(G.rows()) + "x" + std::to_string(G.cols()) +
                    " but the weight has " + std::to_string(D.cols()) + " input channels");
    // tr(D G Dᵀ) = Σ_i d_i G d_iᵀ, one row block at a time: P = D_R G, then Σ P ∘ D_R.
    constexpr Index kBlock = 64;
    const Index blocks = (D.rows() + kBlock - 1) / kBlock;
    std::vector<double> partial(std::size_t(blocks), 0.0);
    // One block costs rows·in² multiply-adds; small forms stay on one thread.
    constexpr double kMinFlopsPerThread = 1 << 20;
    const double flops = double(D.rows()) * double(D.cols()) * double(D.cols());
    const int threads = std::max(1, int(std::min<double>({double(threadCount()), double(blocks), flops / kMinFlopsPerThread})));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic)
    for (Index b = 0; b < blocks; ++b) {
        const Index begin = b * kBlock;
        const Index rows = std::min(kBlock, D.rows() - begin);
        const MatrixRMd Db = D.middleRows(begin, rows).cast<double>();
        const MatrixRMd P = Db * G;
        partial[std::size_t(b)] = P.cwiseProduct(Db).sum();
    }
    double sum = 0.0;
    for (double p : partial) sum += p;
    return sum;
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
    // The denominator tr(W G Wᵀ) is shared by every grid point.
    const double reference = gramQuadraticForm(W, G);
    for (int bits : options.bits) {
        for (const std::optional<int>& group : options.groupSizes) {
            SensitivityEntry entry{bits, group, std::nullopt, {}};
            try {
                WeightGridSpec spec;
                spec.bits = bits;
                spec.groupSize = group;
                spec.sym = options.sym;
                const MatrixRM delta = W - quantizeRtn(W, spec).dequantize();
                const double error = std::max(0.0, gramQuadraticForm(delta, G));
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
