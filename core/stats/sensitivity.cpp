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

/// Σ_t task(t) for t = 0 … tasks−1, the tasks spread over the threads and summed in task order,
/// so the result does not depend on the thread count. flops (of all tasks) keeps
/// small sums on one thread.
template <class Task>
double sumOverTasks(Index tasks, double flops, Task&& task) {
    std::vector<double> partial(std::size_t(tasks), 0.0);
    constexpr double kMinFlopsPerThread = 1 << 20;
    const int threads = std::max(1, int(std::min<double>({double(threadCount()), double(tasks), flops / kMinFlopsPerThread})));
    // One thread: no parallel region, so BLAS is held to one thread explicitly (the same
    // rounding whichever thread calls, see SingleThreadedBlas).
    std::optional<SingleThreadedBlas> serial;
    if (threads == 1) serial.emplace();
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic)
    for (Index t = 0; t < tasks; ++t) partial[std::size_t(t)] = task(t);
    double sum = 0.0;
    for (double p : partial) sum += p;
    return sum;
}

/// Σ_R blockEnergy(D_R) over row blocks D_R of D (at most kBlock rows each), in block order.
/// Every block's GEMM packs the shared operand (X) again: at 128 rows that packing took 14 %
/// of a 1B model's inspect (perf), at 512 a quarter of it.
template <class BlockEnergy>
double sumOverRowBlocks(const ConstMatrixRef& D, double flopsPerRow, BlockEnergy&& blockEnergy) {
    constexpr Index kBlock = 512;
    const Index blocks = (D.rows() + kBlock - 1) / kBlock;
    return sumOverTasks(blocks, double(D.rows()) * flopsPerRow, [&](Index b) {
        const Index begin = b * kBlock;
        return blockEnergy(D.middleRows(begin, std::min(kBlock, D.rows() - begin)));
    });
}

/// The tiles (I, J ≤ I) of the lower triangle of an [n, n] matrix in formTile(n)² blocks, the
/// cheaper diagonal ones last (they balance the threads' last round). The tile width depends
/// on n alone, so the sums do not depend on the thread count; 256 up to n = 4,096 gives 36
/// tiles or more to share out, enough for many cores, and 512 above keeps the products large.
Index formTile(Index n) { return n <= 4096 ? 256 : 512; }
std::vector<std::pair<Index, Index>> lowerTriangleTiles(Index n) {
    const Index tile = formTile(n);
    const Index tiles = (n + tile - 1) / tile;
    std::vector<std::pair<Index, Index>> blocks;
    for (Index I = 0; I < tiles; ++I)
        for (Index J = 0; J < I; ++J) blocks.emplace_back(I, J);
    for (Index I = 0; I < tiles; ++I) blocks.emplace_back(I, I);
    return blocks;
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

// tr(D G Dᵀ) = ⟨G, DᵀD⟩_F for a symmetric G, over the lower triangle's tiles:
//     ⟨G, DᵀD⟩ = Σ_I ⟨G_II, D_Iᵀ D_I⟩ + 2 Σ_{J<I} ⟨G_IJ, D_Iᵀ D_J⟩,
// D_I = D[:, I] [out, |I|]. Each tile of DᵀD is one single-threaded product with k = out (ssyrk
// on the diagonal, of which only the lower half is formed and read), folded into the sum at
// once, so DᵀD [in, in] is never held. out·in² flops, half of D·G's 2·out·in²; the
// products are float over the out rows of one tile, the sums double.
double symmetricForm(const ConstMatrixRef& D, const MatrixRM& G) {
    if (G.rows() != G.cols()) throw Error("sensitivity: the Gram matrix is not square");
    checkInputChannels(D, G.rows(), "the Gram matrix");
    const Index in = D.cols();
    const Index out = D.rows();
    if (out == 0 || in == 0) return 0.0;
    const Index tile = formTile(in);
    const std::vector<std::pair<Index, Index>> tiles = lowerTriangleTiles(in);
    const int ld = int(std::max(D.outerStride(), in));  // BLAS wants lda ≥ in even for one row
    return sumOverTasks(Index(tiles.size()), double(out) * double(in) * double(in) / 2.0, [&](Index t) {
        const auto [I, J] = tiles[std::size_t(t)];
        const Index i0 = I * tile, bi = std::min(tile, in - i0);
        const Index j0 = J * tile, bj = std::min(tile, in - j0);
        MatrixRM C(bi, bj);  // D_Iᵀ D_J [bi, bj] (lower half when I == J)
        double sum = 0.0;
        if (I == J) {
            syrkLowerTransRowMajor(int(bi), int(out), 1.0f, D.data() + i0, ld, 0.0f, C.data(), int(bj));
            for (Index i = 0; i < bi; ++i) {
                const float* c = C.row(i).data();
                const float* g = G.row(i0 + i).data() + j0;
                double offDiagonal = 0.0;
                for (Index j = 0; j < i; ++j) offDiagonal += double(g[j]) * double(c[j]);
                sum += 2.0 * offDiagonal + double(g[i]) * double(c[i]);
            }
        } else {
            gemmRowMajor(true, false, int(bi), int(bj), int(out), 1.0f, D.data() + i0, ld, D.data() + j0, ld, 0.0f,
                         C.data(), int(bj));
            for (Index i = 0; i < bi; ++i) {
                const float* c = C.row(i).data();
                const float* g = G.row(i0 + i).data() + j0;
                for (Index j = 0; j < bj; ++j) sum += double(g[j]) * double(c[j]);
            }
            sum *= 2.0;
        }
        return sum;
    });
}

// G = Xᵀ X [in, in] in float from X [tokens, in], over the lower triangle's tiles (sgemm
// below the diagonal, ssyrk on it, each a float sum over every token), mirrored into the
// upper triangle: tokens·in² flops.
MatrixRM floatGram(const ConstMatrixRef& X) {
    const Index in = X.cols();
    const Index tokens = X.rows();
    MatrixRM G = MatrixRM::Zero(in, in);
    if (tokens == 0) return G;
    const Index tile = formTile(in);
    const std::vector<std::pair<Index, Index>> tiles = lowerTriangleTiles(in);
    const int ld = int(std::max(X.outerStride(), in));
    (void)sumOverTasks(Index(tiles.size()), double(tokens) * double(in) * double(in) / 2.0, [&](Index t) {
        const auto [I, J] = tiles[std::size_t(t)];
        const Index i0 = I * tile, bi = std::min(tile, in - i0);
        const Index j0 = J * tile, bj = std::min(tile, in - j0);
        float* C = G.data() + i0 * in + j0;
        if (I == J) {
            syrkLowerTransRowMajor(int(bi), int(tokens), 1.0f, X.data() + i0, ld, 0.0f, C, int(in));
            for (Index i = 0; i < bi; ++i)
                for (Index j = 0; j < i; ++j) G(i0 + j, j0 + i) = G(i0 + i, j0 + j);
        } else {
            gemmRowMajor(true, false, int(bi), int(bj), int(tokens), 1.0f, X.data() + i0, ld, X.data() + j0, ld, 0.0f, C,
                         int(in));
            G.block(j0, i0, bj, bi) = G.block(i0, j0, bi, bj).transpose();  // the task owns both blocks
        }
        return 0.0;
    });
    return G;
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
    if (keepsInputs()) {
        const Index tokens = Index(m_tokens);
        // Per form, ‖D Xᵀ‖² costs 2·out·in·tokens flops and ⟨G, DᵀD⟩ out·in², plus
        // tokens·in² once for G: with tokens ≥ 0.8·in (a 1B model's 8,192-wide down_proj at
        // 16 × 512 tokens) G pays for itself within the table's first forms. G is cached.
        if (5 * tokens < 4 * m_in) return directForm(D, m_X.topRows(tokens));
        if (!m_gramFloat) m_gramFloat = floatGram(m_X.topRows(tokens));
        return symmetricForm(D, *m_gramFloat);
    }
    // The forms run in float (half the bytes and twice the SIMD width of double; the relative
    // errors reported need 4 digits, float sums over one tile's rows keep ~6).
    if (!m_gramFloat) m_gramFloat = m_gram->gram().cast<float>();
    return symmetricForm(D, *m_gramFloat);
}

double gramQuadraticForm(const ConstMatrixRef& D, const MatrixRMd& G) {
    return quadraticForm<double>(D, G);
}

double gramQuadraticFormFloat(const ConstMatrixRef& D, const MatrixRM& G) {
    return symmetricForm(D, G);
}

double gramQuadraticFormFloatRef(const ConstMatrixRef& D, const MatrixRM& G) {
    return quadraticForm<float>(D, G);
}

double directQuadraticForm(const ConstMatrixRef& D, const ConstMatrixRef& X) {
    return directForm(D, X);
}

MatrixRM floatGramMatrix(const ConstMatrixRef& X) {
    return floatGram(X);
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
    return sensitivityTable(W, options, [&](const ConstMatrixRef& D) { return symmetricForm(D, Gf); }, Gf, true);
}

SensitivityTable computeSensitivity(const ConstMatrixRef& W, const SensitivityInputs& inputs, const SensitivityOptions& options) {
    checkInputChannels(W, inputs.inFeatures(), "the calibration input");
    bool isGram = false;
    const ConstMatrixRef floatInputs = inputs.floatInputs(isGram);
    return sensitivityTable(W, options, [&](const ConstMatrixRef& D) { return inputs.outputEnergy(D); }, floatInputs, isGram);
}

}  // namespace qb::core
