#pragma once
// Quantization sensitivity of one linear module: the relative output error of round-to-nearest
// quantization on calibration inputs,
//     e(Q) = ‖W Xᵀ − Q(W) Xᵀ‖²_F / ‖W Xᵀ‖²_F,
// for a grid of bit widths × group sizes. With G = Xᵀ X [in, in] (the Gram matrix,
// accumulated in double as the calibration streams by),
//     ‖ΔW Xᵀ‖²_F = tr(ΔW G ΔWᵀ) = ⟨G, ΔWᵀΔW⟩_F,   ΔW = W − Q(W),
// and the symmetric ΔWᵀΔW is formed tile by tile over its lower triangle only: out·in²
// flops per grid point, whatever the token count. ‖ΔW Xᵀ‖²_F on X itself costs
// 2·out·in·tokens and X holds tokens·in floats against in² doubles for G: with fewer tokens
// than input channels (a few calibration windows on a large model) X is kept, and the forms
// run on X while tokens < 0.8·in, else on G made from X in float. SensitivityInputs picks.
// W, Q(W): [out, in] row-major; X: [tokens, in] row-major.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

/// Accumulates G [in, in] += Xᵀ X in double through the Gram backend (backendFor(BackendOp::Gram, …)).
class GramAccumulator {
public:
    explicit GramAccumulator(Index inFeatures) : m_G(MatrixRMd::Zero(inFeatures, inFeatures)) {}
    /// X: [tokens, in]. Throws Error for another column count or a backend failure.
    void add(const ConstMatrixRef& X);
    [[nodiscard]] const MatrixRMd& gram() const { return m_G; }  ///< [in, in], Xᵀ X (not normalised)
    [[nodiscard]] std::uint64_t tokens() const { return m_tokens; }

private:
    MatrixRMd m_G;
    std::uint64_t m_tokens = 0;
};

/// A module's calibration inputs X [tokens, in] in the form the output error needs: X itself
/// while the expected token count is at most in_features, else the Gram matrix G = Xᵀ X
/// (GramAccumulator). Inputs beyond the expected count are still taken: the kept X is then
/// folded into a Gram matrix and accumulation goes on there. Not thread-safe: outputEnergy()
/// caches G in float on first use (made from the kept X when tokens ≥ 0.8·in_features).
class SensitivityInputs {
public:
    SensitivityInputs(Index inFeatures, Index expectedTokens);
    /// X: [tokens, in]. Throws Error for another column count or a backend failure.
    void add(const ConstMatrixRef& X);
    /// ‖D Xᵀ‖²_F over every input added, for D [out, in]; in float with double sums (as
    /// computeSensitivity). Throws Error on a shape mismatch.
    [[nodiscard]] double outputEnergy(const ConstMatrixRef& D) const;
    [[nodiscard]] bool keepsInputs() const { return !m_gram.has_value(); }
    /// The inputs in float as the forms read them: X [tokens, in] while keepsInputs(), else
    /// G [in, in] (made on first use, as outputEnergy). isGram tells which.
    [[nodiscard]] ConstMatrixRef floatInputs(bool& isGram) const;
    [[nodiscard]] Index inFeatures() const { return m_in; }
    [[nodiscard]] std::uint64_t tokens() const { return m_tokens; }

private:
    void foldIntoGram();
    Index m_in = 0;
    MatrixRM m_X;      // [capacity, in]; the first m_tokens rows are filled (while keepsInputs())
    std::optional<GramAccumulator> m_gram;
    mutable std::optional<MatrixRM> m_gramFloat;  // G in float, made on first use
    std::uint64_t m_tokens = 0;
};

/// tr(D G Dᵀ) = ‖D Xᵀ‖²_F for D [out, in] and G = Xᵀ X [in, in]; in double, parallel over row
/// blocks, summed in block order (independent of the thread count). Throws Error on a shape mismatch.
/// (computeSensitivity evaluates the same form in float, for speed.)
[[nodiscard]] double gramQuadraticForm(const ConstMatrixRef& D, const MatrixRMd& G);
/// The same with G in float, as ⟨G, DᵀD⟩ over the lower triangle's tiles of DᵀD (out·in² flops,
/// half of D·G's): float products, double sums (the form computeSensitivity uses). The
/// same value on any thread count.
[[nodiscard]] double gramQuadraticFormFloat(const ConstMatrixRef& D, const MatrixRM& G);

/// The float form as it was computed before the symmetric one, kept as its reference: one
/// GEMM P = D_R·G per row block and Σ P ∘ D_R, 2·out·in² flops. For tests and
/// qb_bench_sensitivity.
[[nodiscard]] double gramQuadraticFormFloatRef(const ConstMatrixRef& D, const MatrixRM& G);
/// ‖D Xᵀ‖²_F on the inputs X [tokens, in] themselves: one GEMM D_R·Xᵀ per row block of D,
/// 2·out·in·tokens flops, float products, double sums (SensitivityInputs' form while
/// it keeps X and tokens < 0.8·in). Throws Error on a shape mismatch.
[[nodiscard]] double directQuadraticForm(const ConstMatrixRef& D, const ConstMatrixRef& X);
/// G = Xᵀ X [in, in] in float from X [tokens, in] (the lower triangle's tiles, mirrored):
/// what SensitivityInputs makes from a kept X when the symmetric form is the cheaper.
[[nodiscard]] MatrixRM floatGramMatrix(const ConstMatrixRef& X);

/// e = tr(ΔW G ΔWᵀ) / tr(W G Wᵀ) with ΔW = W − What. 0 when both are 0; +∞ when only the
/// denominator is 0 (W Xᵀ = 0 but What Xᵀ ≠ 0). Throws Error on a shape mismatch.
[[nodiscard]] double relativeOutputError(const ConstMatrixRef& W, const ConstMatrixRef& What, const MatrixRMd& G);

struct SensitivityOptions {
    std::vector<int> bits = {2, 3, 4, 8};
    /// Columns per group along in_features; nullopt = one group per output row ("per-channel").
    std::vector<std::optional<int>> groupSizes = {32, 128, std::nullopt};
    bool sym = false;  ///< RTN grid: asymmetric min-max (default) or symmetric absmax
};

struct SensitivityEntry {
    int bits = 4;
    std::optional<int> groupSize;  ///< nullopt = per output row
    /// e(RTN) as defined above; nullopt when RTN could not quantize this shape (see note).
    std::optional<double> relativeError;
    std::string note;  ///< why relativeError is missing; empty otherwise
};

struct SensitivityTable {
    bool sym = false;
    /// Where the forms ran: "cpu", a device ("cuda:0"), or "cpu (cuda:0: <why not>)".
    std::string backend = "cpu";
    std::vector<SensitivityEntry> entries;  ///< bits-major, in the order of SensitivityOptions

    /// The entry for (bits, groupSize), or nullptr.
    [[nodiscard]] const SensitivityEntry* find(int bits, std::optional<int> groupSize) const;
};

/// "w4 g128", "w4 per-channel" — for tables, logs and JSON keys ("w4_g128" with '_' via sensitivityKey).
[[nodiscard]] std::string sensitivityLabel(int bits, std::optional<int> groupSize);
/// "w4_g128", "w4_per_channel"
[[nodiscard]] std::string sensitivityKey(int bits, std::optional<int> groupSize);

/// RTN sensitivity of W [out, in] for every (bits, group size) of options, using quantizeRtn
/// (core/quant/rtn.h). G = Xᵀ X [in, in] of the calibration inputs. An RTN failure for one grid
/// point (e.g. a group size that does not divide in_features, if RTN refuses it) leaves that
/// entry empty with a note. Throws Error on a shape mismatch.
[[nodiscard]] SensitivityTable computeSensitivity(const ConstMatrixRef& W, const MatrixRMd& G,
                                                  const SensitivityOptions& options = {});
/// The same from SensitivityInputs (X or G, whichever it kept). Throws Error on a shape mismatch.
[[nodiscard]] SensitivityTable computeSensitivity(const ConstMatrixRef& W, const SensitivityInputs& inputs,
                                                  const SensitivityOptions& options = {});

}  // namespace qb::core
