#pragma once
// Where the bundled resources (demo model, texts) live at run time, as QStrings: the lookup
// itself is core's (core/util/resource_paths: QB_RESOURCES_DIR, <prefix>/share/quantbench beside
// the executable, the source tree's resources/). GUI thread or any.

#include <QString>

namespace qb::ui {

/// The resources folder (holding models/ and data/), or an empty string when none is found.
[[nodiscard]] QString resourcesDir();
/// resources/models/stories260K
[[nodiscard]] QString bundledModelDir();
/// resources/data/tinystories/<name> (eval.txt, calib.txt)
[[nodiscard]] QString bundledText(const QString& name);

/// The autosave file of unsaved work (<app data>/recovery.h5); the folder is made when missing.
[[nodiscard]] QString recoveryFile();

}  // namespace qb::ui
