#pragma once
// Matrix aliases. Layout convention (see core/README.md): weights are row-major
// [out_features, in_features], activations row-major [tokens, features].
// Eigen is column-major by default, so always use these aliases.

#include <Eigen/Core>

namespace qb::core {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixRMd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VectorF = Eigen::VectorXf;
using VectorD = Eigen::VectorXd;
using Index = Eigen::Index;

using MatrixRef = Eigen::Ref<MatrixRM>;
using ConstMatrixRef = Eigen::Ref<const MatrixRM>;

/// ⌈a / b⌉ for a ≥ 0, b > 0: groups, 32-value words, tiles.
[[nodiscard]] constexpr Index ceilDiv(Index a, Index b) { return (a + b - 1) / b; }

}  // namespace qb::core
