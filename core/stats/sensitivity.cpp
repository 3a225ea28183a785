#include "core/stats/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/quant/quant_accelerator.h"
#include "core/quant/quant_grid.h"
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

/// Σ_R blockEnergy(D_R) over row blocks D_R of D (at most kBlock rows each), the blocks spread
/// over the threads and summed in block order, so the result does not depend on the thread
/// count. flopsPerRow (multiply-adds) keeps small forms on one thread. Every block's GEMM packs
/// the shared operand (G or X) again: at 128 rows that packing took 14 % of a 1B model's
/// inspect (perf), at 512 a quarter of it.
template <class BlockEnergy>
double sumOverRowBlocks(const ConstMatrixRef& D, double flopsPerRow, BlockEnergy&& blockEnergy) {
    constexpr Index kBlock = 512;
    const Index blocks = (D.rows() + kBlock - 1) / kBlock;
    std::vector<double> partial(std::size_t(blocks), 0.0);
    constexpr double kMinFlopsPerThread = 1 << 20;
    const double flops = double(D.rows()) * flopsPerRow;
    const int threads = std::max(1, int(std::min<double>({double(threadCount()), double(blocks), flops / kMinFlopsPerThread})));
    // One thread: no parallel region, so BLAS is held to one thread explicitly (the same
    // rounding whichever thread calls, see SingleThreadedBlas).
    std::optional<SingleThreadedBlas> serial;
    if (threads == 1) serial.emplace();
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic)
    for (Index b = 0; b < blocks; ++b) {
        const Index begin = b * kBlock;
        partial[std::size_t(b)] = blockEnergy(D.middleRows(begin, std::min(kBlock, D.rows() - begin)));
    }
    double sum = 0.0;
    for (double p : partial) sum += p;
    return sum;
}

void checkInputChannels(const ConstMatrixRef& D, Index in, const char* what) {
    if (D.cols() != in)
        throw Error(std::string("sensitivity: ") + what + " has " + std::to_string(in) + " input channels but the weight has " +
                    std::to_string(D.cols()));
}

// tr(D G Dᵀ) = Σ_R Σ (D_R G) ∘ D_R: one single-threaded BLAS GEMM P = D_R · G [rows, in] per
// block. Scalar: float or double, the type of G.
template <class Scalar>
double quadraticForm(const ConstMatrixRef& D, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& G) {
    using Block = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    if (G.rows() != G.cols()) throw Error("sensitivity: the Gram matrix is not square");
    checkInputChannels(D, G.rows(), "the Gram matrix");
    const Index in = D.cols();
    return sumOverRowBlocks(D, double(in) * double(in), [&](const ConstMatrixRef& Dr) {
        const Block Db = Dr.template cast<Scalar>();
        Block P(Db.rows(), in);
        gemmRowMajor(false, false, int(Db.rows()), int(in), int(in), Scalar(1), Db.data(), int(in), G.data(), int(in),
                     Scalar(0), P.data(), int(in));
        return (P.array().template cast<double>() * Db.array().template cast<double>()).sum();
    });
}

// ‖D Xᵀ‖²_F = Σ_R ‖D_R Xᵀ‖²_F: one single-threaded BLAS GEMM E = D_R · Xᵀ [rows, tokens] per block.
double directForm(const ConstMatrixRef& D, const ConstMatrixRef& X) {
    checkInputChannels(D, X.cols(), "the calibration input");
    const Index in = D.cols();
    const Index tokens = X.rows();
    if (tokens == 0) return 0.0;
    return sumOverRowBlocks(D, double(in) * double(tokens), [&](const ConstMatrixRef& Dr) {
        MatrixRM E(Dr.rows(), tokens);
        gemmRowMajor(false, true, int(Dr.rows()), int(tokens), int(in), 1.0f, Dr.data(), int(Dr.outerStride()), X.data(),
                     int(X.outerStride()), 0.0f, E.data(), int(tokens));
        return E.cast<double>().squaredNorm();
    });
}

double relativeOf(double error, double reference) {
    error = std::max(0.0, error);
    if (reference > 0.0) return error / reference;
    return error > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

/// The relative output error table; energy(D) = ‖D Xᵀ‖²_F in whichever form the caller has.
/// floatInputs (X or G in float, isGram telling which) lets the preferred backend's device
/// evaluate every form with W and the inputs resident (outputEnergiesPreferred); otherwise,
/// or when it declines, the forms run here one by one.
template <class Energy>
SensitivityTable sensitivityTable(const ConstMatrixRef& W, const SensitivityOptions& options, Energy&& energy,
                                  const ConstMatrixRef& floatInputs, bool isGram) {
    SensitivityTable table;
    table.sym = options.sym;
    std::vector<WeightGridSpec> specs;  // the grid points RTN accepts, in table order
    std::vector<std::size_t> specEntry;
    for (int bits : options.bits) {
        for (const std::optional<int>& group : options.groupSizes) {
            SensitivityEntry entry{bits, group, std::nullopt, {}};
            try {
                const WeightGridSpec spec{bits, group, options.sym};
                (void)QuantGrid(bits, options.sym);  // RTN's own checks, before any work
                if (group && *group <= 0) throw Error("RTN: group size must be positive, got " + std::to_string(*group));
                specs.push_back(spec);
                specEntry.push_back(table.entries.size());
            } catch (const Error& e) {
                entry.note = e.what();
            }
            table.entries.push_back(std::move(entry));
        }
    }
    const std::optional<std::vector<double>> device = outputEnergiesPreferred(W, floatInputs, isGram, specs, table.backend);
    if (device && device->size() == specs.size() + 1) {
        for (std::size_t i = 0; i < specs.size(); ++i)
            table.entries[specEntry[i]].relativeError = relativeOf((*device)[i + 1], (*device)[0]);
        return table;
    }
    const double reference = energy(W);  // ‖W Xᵀ‖², shared by every grid point
    for (std::size_t i = 0; i < specs.size(); ++i) {
        SensitivityEntry& entry = table.entries[specEntry[i]];
        try {
            MatrixRM delta = quantizeRtn(W, specs[i]).dequantize();  // Ŵ, then ΔW = W − Ŵ in place
            delta = W - delta;
            entry.relativeError = relativeOf(energy(delta), reference);
        } catch (const Error& e) {
            entry.note = e.what();
        }
    }
    return table;
}

}  // namespace

SensitivityInputs::SensitivityInputs(Index inFeatures, Index expectedTokens) : m_in(inFeatures) {
    if (inFeatures < 1 || expectedTokens < 0) throw Error("sensitivity: invalid input shape");
    if (expectedTokens <= inFeatures)
        m_X.resize(expectedTokens, inFeatures);
    else
        m_gram.emplace(inFeatures);
}

void SensitivityInputs::foldIntoGram() {
    m_gram.emplace(m_in);
    m_gram->add(m_X.topRows(Index(m_tokens)));
    m_X = MatrixRM();
}

void SensitivityInputs::add(const ConstMatrixRef& X) {
    if (X.cols() != m_in)
        throw Error("sensitivity inputs: expected " + std::to_string(m_in) + " input channels, got " + std::to_string(X.cols()));
    if (keepsInputs() && Index(m_tokens) + X.rows() > m_X.rows()) foldIntoGram();
    if (keepsInputs())
        m_X.middleRows(Index(m_tokens), X.rows()) = X;
    else
        m_gram->add(X);
    m_gramFloat.reset();
    m_tokens += std::uint64_t(X.rows());
}

ConstMatrixRef SensitivityInputs::floatInputs(bool& isGram) const {
    isGram = !keepsInputs();
    if (keepsInputs()) return m_X.topRows(Index(m_tokens));
    if (!m_gramFloat) m_gramFloat = m_gram->gram().cast<float>();
    return *m_gramFloat;
}

double SensitivityInputs::outputEnergy(const ConstMatrixRef& D) const {
    if (keepsInputs()) return directForm(D, m_X.topRows(Index(m_tokens)));
    // The forms run in float (half the bytes and twice the SIMD width of double; the relative
    // errors reported need 4 digits, float sums over in_features keep ~6).
    if (!m_gramFloat) m_gramFloat = m_gram->gram().cast<float>();
    return quadraticForm<float>(D, *m_gramFloat);
}

double gramQuadraticForm(const ConstMatrixRef& D, const MatrixRMd& G) {
    return quadraticForm<double>(D, G);
}

double gramQuadraticFormFloat(const ConstMatrixRef& D, const MatrixRM& G) {
    return quadraticForm<float>(D, G);
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

namespace {
// Built by appending: GCC 12 warns falsely (stringop-overflow, PR 105651) on "literal" + std::string.
std::string gridName(int bits, std::optional<int> groupSize, const char* groupPrefix, const char* perChannel) {
    std::string name = "w";
    name += std::to_string(bits);
    if (groupSize) {
        name += groupPrefix;
        name += std::to_string(*groupSize);
    } else {
        name += perChannel;
    }
    return name;
}
}  // namespace

std::string sensitivityLabel(int bits, std::optional<int> groupSize) {
    return gridName(bits, groupSize, " g", " per-channel");
}

std::string sensitivityKey(int bits, std::optional<int> groupSize) {
    return gridName(bits, groupSize, "_g", "_per_channel");
}

SensitivityTable computeSensitivity(const ConstMatrixRef& W, const MatrixRMd& G, const SensitivityOptions& options) {
    if (G.rows() != G.cols()) throw Error("sensitivity: the Gram matrix is not square");
    checkInputChannels(W, G.rows(), "the Gram matrix");
    const MatrixRM Gf = G.cast<float>();  // float forms, as in SensitivityInputs::outputEnergy
    return sensitivityTable(W, options, [&](const ConstMatrixRef& D) { return quadraticForm<float>(D, Gf); }, Gf, true);
}

SensitivityTable computeSensitivity(const ConstMatrixRef& W, const SensitivityInputs& inputs, const SensitivityOptions& options) {
    checkInputChannels(W, inputs.inFeatures(), "the calibration input");
    bool isGram = false;
    const ConstMatrixRef floatInputs = inputs.floatInputs(isGram);
    return sensitivityTable(W, options, [&](const ConstMatrixRef& D) { return inputs.outputEnergy(D); }, floatInputs, isGram);
}

}  // namespace qb::core
