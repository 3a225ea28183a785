#include "core/store/session_provenance.h"

#include "core/store/session_store.h"
#include "core/util/sha256.h"

namespace qb::core {

SessionProvenance makeSessionProvenance(const Checkpoint& checkpoint, const std::string& calibrationText,
                                        const CalibrationSet& calibration, std::uint64_t seed) {
    SessionProvenance p;
    p.modelPath = checkpoint.dir().string();
    p.configSha256 = sha256FileHex(checkpoint.dir() / "config.json");
    for (const auto& file : checkpoint.files())
        p.safetensorsHeaders.push_back({file->path().filename().string(), sha256Hex(file->headerText())});
    p.calibrationSha256 = sha256Hex(calibrationText);
    p.calibrationWindows = calibration.windows;
    p.calibrationCtx = calibration.ctx;
    p.calibrationSeed = seed;
    p.quantbenchVersion = QB_VERSION;
    p.createdUtc = utcNowIso8601();
    return p;
}

SessionProvenance makeSessionProvenance(const Checkpoint& checkpoint) {
    SessionProvenance p;
    p.modelPath = std::filesystem::absolute(checkpoint.dir()).lexically_normal().string();
    p.configSha256 = sha256FileHex(checkpoint.dir() / "config.json");
    for (const auto& file : checkpoint.files())
        p.safetensorsHeaders.push_back({file->path().filename().string(), sha256Hex(file->headerText())});
    p.quantbenchVersion = QB_VERSION;
    p.createdUtc = utcNowIso8601();
    return p;
}

}  // namespace qb::core
