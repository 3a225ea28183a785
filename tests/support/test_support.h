#pragma once
// Shared helpers for the Qt Test suites: paths of the bundled resources, scratch folders,
// the names a folder holds, and a deterministic random matrix.

#include <QStringList>

#include <filesystem>
#include <string>
#include <vector>

#include "core/util/matrix.h"

namespace qb::test {

/// resources/ of the source tree (the bundled model and texts).
std::filesystem::path resourcesDir();
/// resources/models/stories260K
std::filesystem::path bundledModelDir();
/// resources/data/tinystories/<name>
std::filesystem::path bundledText(const std::string& name);
/// The bundled text <name> as the bundled model's tokenizer encodes it (encodeDocuments: one
/// BOS-led run per story), the token stream the suites calibrate and evaluate on.
std::vector<int> bundledTokens(const std::string& name);
/// A fresh, empty folder under the build tree's test-scratch/, named after tag.
std::filesystem::path freshScratchDir(const std::string& tag);
/// The names of dir's entries, sorted: what a writer left beside its output.
QStringList namesIn(const std::filesystem::path& dir);
/// [rows, cols] with entries from N(0, stddev²), fixed seed.
core::MatrixRM randomMatrix(core::Index rows, core::Index cols, unsigned seed, float stddev = 1.0f);

}  // namespace qb::test
