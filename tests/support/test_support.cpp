#include "support/test_support.h"

#include "core/calib/calibration.h"
#include "core/text/tokenizer.h"

#include <random>

namespace qb::test {

std::filesystem::path resourcesDir() { return QB_RESOURCES_DIR; }
std::filesystem::path bundledModelDir() { return resourcesDir() / "models" / "stories260K"; }
std::filesystem::path bundledText(const std::string& name) { return resourcesDir() / "data" / "tinystories" / name; }

std::vector<int> bundledTokens(const std::string& name) {
    const auto tok = core::Tokenizer::load(bundledModelDir(), 1, 2);
    return core::encodeDocuments(*tok, core::readTextFile(bundledText(name)));
}

std::filesystem::path freshScratchDir(const std::string& tag) {
    std::filesystem::path dir = std::filesystem::path(QB_TEST_SCRATCH_DIR) / tag;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

QStringList namesIn(const std::filesystem::path& dir) {
    QStringList names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names << QString::fromStdString(e.path().filename().string());
    names.sort();
    return names;
}

core::MatrixRM randomMatrix(core::Index rows, core::Index cols, unsigned seed, float stddev) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, stddev);
    core::MatrixRM m(rows, cols);
    for (core::Index i = 0; i < m.size(); ++i) m.data()[i] = dist(rng);
    return m;
}

}  // namespace qb::test
