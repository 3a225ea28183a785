#include "core/util/resource_paths.h"

#include <cstdlib>
#include <string>
#include <system_error>

namespace qb::core {

namespace {

bool holdsResources(const std::filesystem::path& dir) {
    std::error_code ec;
    return !dir.empty() && std::filesystem::is_directory(dir / "models", ec);
}

bool insideDir(const std::filesystem::path& file, const std::filesystem::path& dir) {
    std::error_code ec;
    const auto root = std::filesystem::weakly_canonical(dir, ec);
    if (ec || file.empty()) return false;
    const auto rel = file.lexically_relative(root);
    return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

std::filesystem::path executablePath() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe;
}

std::optional<std::filesystem::path> bundledResourcesDir() {
    if (const char* env = std::getenv("QB_RESOURCES_DIR"); env && holdsResources(env))
        return std::filesystem::path(env).lexically_normal();
    if (const auto exe = executablePath(); !exe.empty()) {
        const auto installed = (exe.parent_path() / ".." / "share" / "quantbench").lexically_normal();
        if (holdsResources(installed)) return installed;
    }
#if defined(QB_SOURCE_RESOURCES_DIR) && defined(QB_BUILD_DIR)
    // Only a program run from its own build folder reads the source tree: an installed or
    // unpacked copy finds its prefix's resources or none (the package test relies on this).
    if (insideDir(executablePath(), QB_BUILD_DIR) && holdsResources(QB_SOURCE_RESOURCES_DIR))
        return std::filesystem::path(QB_SOURCE_RESOURCES_DIR);
#endif
    return std::nullopt;
}

std::optional<std::filesystem::path> bundledModelDir() {
    const auto dir = bundledResourcesDir();
    if (!dir) return std::nullopt;
    return *dir / "models" / "stories260K";
}

std::optional<std::filesystem::path> bundledText(const std::string& name) {
    const auto dir = bundledResourcesDir();
    if (!dir) return std::nullopt;
    return *dir / "data" / "tinystories" / name;
}

}  // namespace qb::core
