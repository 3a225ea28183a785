#pragma once
// Where the bundled resources (resources/models/stories260K, resources/data/tinystories) are.
// Looked up in order, the first folder holding models/ wins:
//   1. the QB_RESOURCES_DIR environment variable;
//   2. <prefix>/share/quantbench beside the running executable (<prefix>/bin/…): an installed
//      package, wherever it was unpacked (dpkg -x into any root works);
//   3. the source tree's resources/, for a program run from inside its build folder only.
// The GUI's paths (ui/util/app_paths) and the CLI's defaults both come from here.

#include <filesystem>
#include <optional>

namespace qb::core {

/// The resources folder, or nullopt when none of the three places holds one.
[[nodiscard]] std::optional<std::filesystem::path> bundledResourcesDir();

/// <resources>/models/stories260K, or nullopt.
[[nodiscard]] std::optional<std::filesystem::path> bundledModelDir();

/// <resources>/data/tinystories/<name> (calib.txt, eval.txt, heldout.txt), or nullopt.
[[nodiscard]] std::optional<std::filesystem::path> bundledText(const std::string& name);

/// The running executable's path (/proc/self/exe), or empty when it cannot be read.
[[nodiscard]] std::filesystem::path executablePath();

}  // namespace qb::core
