#pragma once
// Where the bundled resources (demo model, texts) live at run time.
//
// Looked up in order: the QB_RESOURCES_DIR environment variable; <prefix>/share/quantbench
// next to the executable's install prefix (<prefix>/bin/quantbench); the source tree's
// resources/ compiled in as QB_UI_SOURCE_RESOURCES_DIR (a build-tree run). GUI thread or any.

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
