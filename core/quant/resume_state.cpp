#include "core/quant/resume_state.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/calib/calibration.h"
#include "core/io/safetensors_file.h"
#include "core/io/safetensors_stream_writer.h"
#include "core/quant/layer_state_file.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

namespace qb::core {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFingerprintFile = "fingerprint.json";
constexpr const char* kOwnerFile = "owner.pid";

std::string numbered(const char* stem, int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s-%05d.safetensors", stem, i);
    return buf;
}
fs::path layerFile(const fs::path& folder, int i) { return folder / numbered("layer", i); }
fs::path hiddenFile(const fs::path& folder, int i) { return folder / numbered("hidden", i); }

void fsyncPath(const fs::path& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0) throw Error(path.string() + ": cannot open to sync (" + std::strerror(errno) + ")");
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw Error(path.string() + ": sync failed (" + std::strerror(err) + ")");
}

// Writes target durably: write(part) builds "<target>.part", which is synced, renamed over
// target, and the folder synced, so target is either absent, the old file or the whole new one.
template <class Write>
void writeDurably(const fs::path& target, Write&& write) {
    const fs::path part = target.string() + ".part";
    std::error_code ec;
    fs::remove(part, ec);
    write(part);
    fsyncPath(part, false);
    fs::rename(part, target, ec);
    if (ec) throw Error(target.string() + ": cannot rename into place (" + ec.message() + ")");
    fsyncPath(target.parent_path(), true);
}

// The number k of leading layer files whose output activations exist: layer-0..k−1 and hidden-(k−1).
int completePrefix(const fs::path& folder) {
    std::error_code ec;
    int k = 0;
    int usable = 0;
    while (fs::exists(layerFile(folder, k), ec)) {
        ++k;
        if (fs::exists(hiddenFile(folder, k - 1), ec)) usable = k;
    }
    return usable;
}

bool processAlive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

}  // namespace

fs::path QuantizeResumeState::folderFor(const fs::path& outDir) {
    std::string s = outDir.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s + ".quantize-state";
}

int QuantizeResumeState::completeLayers(const fs::path& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec) || !fs::exists(folder / kFingerprintFile, ec)) return 0;
    return completePrefix(folder);
}

void QuantizeResumeState::claim() {
    const fs::path owner = m_folder / kOwnerFile;
    std::ifstream in(owner);
    long pid = 0;
    if (in >> pid && pid != long(::getpid()) && processAlive(pid_t(pid)))
        throw Error(m_folder.string() + ": another quantize (pid " + std::to_string(pid) + ") is writing this state");
    writeDurably(owner, [&](const fs::path& part) { writeTextFile(part, std::to_string(::getpid()) + "\n"); });
}

std::unique_ptr<QuantizeResumeState> QuantizeResumeState::startFresh(const fs::path& folder, const QuantizeFingerprint& fingerprint,
                                                                     const RunContext& ctx) {
    std::unique_ptr<QuantizeResumeState> state(new QuantizeResumeState(folder));
    std::error_code ec;
    if (fs::exists(folder, ec)) {
        if (fs::exists(folder / kOwnerFile, ec)) state->claim();  // refuses a live owner before anything is removed
        const int layers = completeLayers(folder);
        fs::remove_all(folder, ec);
        if (ec) throw Error(folder.string() + ": cannot remove the previous state (" + ec.message() + ")");
        ctx.log("removed the state of an interrupted run (" + std::to_string(layers) + " layers) in " + folder.string() +
                "; starting from layer 0 (quantize --resume continues such a run)");
    }
    if (!fs::create_directories(folder, ec) && ec) throw Error(folder.string() + ": cannot create (" + ec.message() + ")");
    state->claim();
    writeDurably(folder / kFingerprintFile, [&](const fs::path& part) { writeTextFile(part, fingerprint.toJson()); });
    return state;
}

std::unique_ptr<QuantizeResumeState> QuantizeResumeState::resume(const fs::path& folder, const QuantizeFingerprint& fingerprint,
                                                                 const RunContext& ctx) {
    std::error_code ec;
    if (!fs::exists(folder / kFingerprintFile, ec)) {
        ctx.log("--resume: no interrupted run in " + folder.string() + "; starting from layer 0");
        return startFresh(folder, fingerprint, ctx);
    }
    const fs::path fpFile = folder / kFingerprintFile;
    const auto before = QuantizeFingerprint::fromJson(readTextFile(fpFile), fpFile.string());
    if (const auto change = fingerprint.changeFrom(before))
        throw Error("cannot resume from " + folder.string() + ": " + *change + " since the interrupted run (run without --resume to start again)");
    std::unique_ptr<QuantizeResumeState> state(new QuantizeResumeState(folder));
    state->claim();
    return state;
}

std::optional<PartialQuantization> QuantizeResumeState::restore(const LlamaModel& model, const QuantPlan& plan, bool withLayers) {
    const int k = completePrefix(m_folder);
    // Whatever lies beyond the prefix (a layer whose activations never landed, .part files of a
    // killed write) is redone by this run.
    std::error_code ec;
    for (fs::directory_iterator it(m_folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        int i = -1;
        char tail[32] = {};
        const bool layer = std::sscanf(name.c_str(), "layer-%d.%31s", &i, tail) == 2;
        const bool hidden = !layer && std::sscanf(name.c_str(), "hidden-%d.%31s", &i, tail) == 2;
        const bool stale = name.find(".part") != std::string::npos;  // a write killed before its rename
        std::error_code rm;
        if (stale || (layer && i >= k) || (hidden && i != k - 1)) fs::remove(it->path(), rm);
    }
    if (k == 0) return std::nullopt;
    PartialQuantization p;
    p.layersDone = k;
    const ModelConfig& c = model.config();
    for (int i = 0; i < k; ++i) {
        LayerState s = readLayerState(layerFile(m_folder, i), c, i, plan, withLayers);
        if (withLayers) p.layers.push_back(std::move(s.layer));
        for (auto& r : s.modules) {
            p.linearWeights += std::uint64_t(r.outFeatures) * std::uint64_t(r.inFeatures);
            p.linearBytes += r.bytes;
            p.modules.push_back(std::move(r));
        }
        p.seconds += s.seconds;
    }
    const fs::path hiddenPath = hiddenFile(m_folder, k - 1);
    const auto file = SafetensorsFile::open(hiddenPath);
    const auto read = [&](const std::string& name, MatrixRM& dst) {
        const TensorInfo* t = file->find(name);
        if (!t) return;
        if (t->dtype != DType::F32 || t->shape.size() != 2)
            throw Error(hiddenPath.string() + ": tensor '" + name + "' is not a F32 matrix");
        dst.resize(Index(t->shape[0]), Index(t->shape[1]));
        std::memcpy(dst.data(), t->data, t->nbytes);
    };
    read("hidden", p.hidden);
    read("fp_hidden", p.fpHidden);
    if (p.hidden.size() == 0) throw Error(hiddenPath.string() + ": tensor 'hidden' is missing");
    return p;
}

void QuantizeResumeState::layerDone(const DecoderLayer& layer, const std::vector<ModuleReport>& modules, double seconds,
                                    const MatrixRM& hidden, const MatrixRM& fpHidden) {
    const int i = layer.index;
    writeDurably(layerFile(m_folder, i), [&](const fs::path& part) { writeLayerState(part, layer, modules, seconds); });
    writeDurably(hiddenFile(m_folder, i), [&](const fs::path& part) {
        std::vector<TensorDecl> decls{{"hidden", DType::F32, {hidden.rows(), hidden.cols()}}};
        if (fpHidden.size() > 0) decls.push_back({"fp_hidden", DType::F32, {fpHidden.rows(), fpHidden.cols()}});
        SafetensorsStreamWriter out(part, decls, {{"after_layer", std::to_string(i)}});
        out.append(hidden.data(), std::size_t(hidden.size()) * sizeof(float));
        if (fpHidden.size() > 0) out.append(fpHidden.data(), std::size_t(fpHidden.size()) * sizeof(float));
        out.commit();
    });
    std::error_code ec;
    if (i > 0) fs::remove(hiddenFile(m_folder, i - 1), ec);
}

std::shared_ptr<const DecoderLayer> QuantizeResumeState::layer(int index, const ModelConfig& config, const QuantPlan& plan) const {
    return readLayerState(layerFile(m_folder, index), config, index, plan).layer;
}

void QuantizeResumeState::remove() {
    // The fingerprint goes first (one unlink): a removal cut short leaves a folder that no
    // longer claims to hold a run, whatever order remove_all would have taken.
    std::error_code ec;
    fs::remove(m_folder / kFingerprintFile, ec);
    if (!ec) fsyncPath(m_folder, true);
    fs::remove_all(m_folder, ec);
}

bool QuantizeResumeState::outputHoldsRun(const fs::path& outDir, const QuantizeFingerprint& fingerprint) {
    try {
        const auto report = readJsonFile(outDir / "quantbench_report.json", kResumeStateJsonLimits);
        if (!report.is_object() || !report.contains("fingerprint")) return false;
        const auto recorded = QuantizeFingerprint::fromJson(report["fingerprint"].dump(), "quantbench_report.json");
        return !fingerprint.changeFrom(recorded).has_value();
    } catch (const std::exception&) {
        return false;
    }
}

bool QuantizeResumeState::holdsRun(const fs::path& folder) {
    std::error_code ec;
    return fs::exists(folder / kFingerprintFile, ec);
}

}  // namespace qb::core
