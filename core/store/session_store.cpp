#include "core/store/session_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <new>
#include <optional>

#include "core/store/hdf5_full_read.h"
#include "core/store/hdf5_heap_check.h"
#include "core/store/hdf5_io.h"
#include "core/store/module_stats_io.h"
#include "core/store/plan_cost_store.h"
#include "core/store/protocol_io.h"
#include "core/store/session_probe.h"
#include "core/util/error.h"
#include "core/util/temp_path.h"

namespace qb::core {

using namespace hdf5;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDamaged = "damaged or truncated session file";
constexpr const char* kCannotWrite = "cannot write the session";

std::mutex& hdf5Mutex() {
    static std::mutex mutex;
    return mutex;
}

/// Runs f and turns HDF5's and the file system's exceptions into Error (naming no file).
template <class F>
decltype(auto) asError(const char* hdf5Failure, F&& f) {
    try {
        return f();
    } catch (const H5::Exception& e) {
        throw Error(std::string(hdf5Failure) + " (HDF5: " + e.getDetailMsg() + ")");
    } catch (const fs::filesystem_error& e) {
        throw Error(e.code().message());
    }
}

/// Runs f with HDF5 serialised and silenced; every failure leaves as one Error "<file>: ...".
template <class F>
decltype(auto) guarded(const fs::path& path, const char* hdf5Failure, F&& f) {
    std::lock_guard lock(hdf5Mutex());
    silenceLibraryErrors();
    try {
        return asError(hdf5Failure, std::forward<F>(f));
    } catch (const Error& e) {
        throw e.withContext(path.string());
    }
}

void checkIsFile(const fs::path& path) {
    if (!fs::exists(path)) throw Error("no such file");
    if (fs::is_directory(path)) throw Error("is a folder, not a session file");
}

/// Opens path as a session and checks that it is one this build can read, without the probe
/// (for the probe's child). Messages name no file (guarded() adds it).
H5::H5File openUnprobed(const fs::path& path, unsigned flags) {
    checkIsFile(path);
    bool isHdf5 = false;
    try {
        isHdf5 = H5::H5File::isHdf5(path.string());
    } catch (const H5::Exception&) {
        isHdf5 = false;
    }
    if (!isHdf5) throw Error("not an HDF5 file, so not a quantbench session");
    checkHdf5GlobalHeaps(path);  // libhdf5 1.10 trusts these sizes (a crash, not an error)
    H5::H5File file;
    try {
        file.openFile(path.string(), flags);
    } catch (const H5::Exception&) {
        throw Error("damaged or truncated HDF5 file; it cannot be opened");
    }
    const H5::Group root = file.openGroup("/");
    if (!root.attrExists("format") || root.openAttribute("format").getTypeClass() != H5T_STRING)
        throw Error(std::string("an HDF5 file but not a quantbench session (no format=\"") + kSessionFormat + "\" attribute)");
    const std::string format = readStringAttribute(root, "format");
    if (format != kSessionFormat)
        throw Error("an HDF5 file but not a quantbench session (format is \"" + format + "\")");
    const std::int32_t version = readAttribute<std::int32_t>(root, "schema_version");
    if (version > kSessionSchemaVersion)
        throw Error("session schema version " + std::to_string(version) + " is newer than this quantbench supports (" +
                    std::to_string(kSessionSchemaVersion) + "); update quantbench to open it");
    if (version < 1) throw Error("invalid session schema version " + std::to_string(version));
    return file;
}

SessionData readSessionData(const H5::H5File& file);

/// Lets a child process read all of path (session_probe.h) unless this process knows the file
/// as it is now; throws Error naming no file when the child crashed, ran out of memory or
/// hung, or with the child's own error when it refused the file. The caller holds hdf5Mutex()
/// (guarded()), so the fork happens while no other thread is inside libhdf5.
void probeSession(const fs::path& path) {
#ifndef QB_SESSION_NO_PROBE  // the fuzz build (core/store/CMakeLists.txt)
    const std::optional<FileIdentity> before = fileIdentity(path);
    if (before && ProbedFiles::contains(*before)) return;
    const ProbeLimits limits = sessionProbeLimits(before ? before->size : 0);
    const ProbeResult result = runInChildProcess(
        [&] {
            const hdf5::AllocationWatch watch;
            try {
                asError(kDamaged, [&] { (void)readSessionData(openUnprobed(path, H5F_ACC_RDONLY)); });
                // the rest of the file, for other readers (plan costs); the reader above read these
                hdf5::readEveryObject(path, {"modules", "plans", "runs"});
            } catch (const Error&) {
                if (watch.allocationFailed()) throw std::bad_alloc();
                throw;
            }
        },
        limits);
    if (result.verdict != ProbeVerdict::Finished) throw Error(probeFailureMessage(result, limits));
    if (before && fileIdentity(path) == before) ProbedFiles::remember(*before);  // unchanged while probed
#else
    (void)path;
#endif
}

/// openUnprobed() after probeSession(): the way every SessionStore call opens an existing file.
H5::H5File openSession(const fs::path& path, unsigned flags) {
    checkIsFile(path);
    probeSession(path);
    return openUnprobed(path, flags);
}

/// "<file>.tmp-<pid>" in the same folder, removed on scope exit unless committed.
class TempFile {
public:
    explicit TempFile(const fs::path& target) : m_target(target) {
        const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
        if (!fs::is_directory(folder)) throw Error("folder " + folder.string() + " does not exist");
        m_temp = atomicTempPath(folder / target.filename());
    }
    ~TempFile() {
        std::error_code ec;
        if (!m_committed) fs::remove(m_temp, ec);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    [[nodiscard]] const fs::path& path() const { return m_temp; }
    /// Renames the temp file over the target and marks the target as safe to read without a
    /// probe: libhdf5 wrote all of it from this process's data (the copy an edit starts from
    /// was probed). The identity is taken right after the rename; another process replacing
    /// the file in between would change the inode, but not before the stat: a window of
    /// microseconds on a file this process just wrote, accepted.
    void commit() {
        std::error_code ec;
        fs::rename(m_temp, m_target, ec);
        if (ec) throw Error("cannot replace the file: " + ec.message());
        m_committed = true;
        if (const std::optional<FileIdentity> written = fileIdentity(m_target)) ProbedFiles::remember(*written);
    }

private:
    fs::path m_target;
    fs::path m_temp;
    bool m_committed = false;
};

void checkName(const std::string& what, const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        throw Error(what + " name '" + name + "' cannot name an HDF5 object (empty, '.', '..' or containing '/')");
}

// ---- root attributes --------------------------------------------------------------------

void writeProvenance(const H5::Group& root, const SessionProvenance& p) {
    writeAttribute(root, "format", kSessionFormat);
    writeAttribute(root, "schema_version", std::int32_t(kSessionSchemaVersion));
    writeAttribute(root, "quantbench_version", p.quantbenchVersion.empty() ? std::string(QB_VERSION) : p.quantbenchVersion);
    writeAttribute(root, "created_utc", p.createdUtc.empty() ? utcNowIso8601() : p.createdUtc);
    writeAttribute(root, "model_path", p.modelPath);
    writeAttribute(root, "config_sha256", p.configSha256);
    std::vector<std::string> files, hashes;
    for (const SafetensorsHeaderHash& h : p.safetensorsHeaders) {
        files.push_back(h.file);
        hashes.push_back(h.sha256);
    }
    writeAttribute(root, "safetensors_files", files);
    writeAttribute(root, "safetensors_header_sha256", hashes);
    writeAttribute(root, "calibration_sha256", p.calibrationSha256);
    writeAttribute(root, "calibration_windows", std::int32_t(p.calibrationWindows));
    writeAttribute(root, "calibration_ctx", std::int32_t(p.calibrationCtx));
    writeAttribute(root, "calibration_seed", p.calibrationSeed);
}

SessionProvenance readProvenance(const H5::Group& root) {
    SessionProvenance p;
    p.quantbenchVersion = readStringAttribute(root, "quantbench_version");
    p.createdUtc = readStringAttribute(root, "created_utc");
    p.modelPath = readStringAttribute(root, "model_path");
    p.configSha256 = readStringAttribute(root, "config_sha256");
    const std::vector<std::string> files = readStringArrayAttribute(root, "safetensors_files");
    const std::vector<std::string> hashes = readStringArrayAttribute(root, "safetensors_header_sha256");
    if (files.size() != hashes.size())
        throw Error("/: safetensors_files and safetensors_header_sha256 differ in length");
    for (std::size_t i = 0; i < files.size(); ++i) p.safetensorsHeaders.push_back({files[i], hashes[i]});
    p.calibrationSha256 = readStringAttribute(root, "calibration_sha256");
    p.calibrationWindows = readAttribute<std::int32_t>(root, "calibration_windows");
    p.calibrationCtx = readAttribute<std::int32_t>(root, "calibration_ctx");
    p.calibrationSeed = readAttribute<std::uint64_t>(root, "calibration_seed");
    return p;
}

// ---- plans and runs ---------------------------------------------------------------------

void writePlanObject(const H5::Group& plans, const PlanRecord& plan) {
    checkName("plan", plan.name);
    if (plans.nameExists(plan.name)) plans.unlink(plan.name);
    writeString(plans, plan.name, plan.json);
    writeAttribute(plans.openDataSet(plan.name), "created_utc", plan.createdUtc.empty() ? utcNowIso8601() : plan.createdUtc);
}

PlanRecord readPlanObject(const H5::Group& plans, const std::string& name) {
    PlanRecord plan;
    plan.name = name;
    plan.json = readString(plans, name);
    plan.createdUtc = readStringAttribute(plans.openDataSet(name), "created_utc");
    return plan;
}

void writeRunObject(const H5::Group& runs, const RunRecord& run, std::int64_t order) {
    checkName("run", run.id);
    if (run.tokenKld.size() != run.tokenKldTargets.size())
        throw Error("run '" + run.id + "': " + std::to_string(run.tokenKld.size()) + " per-token KLD values but " +
                    std::to_string(run.tokenKldTargets.size()) + " target tokens");
    const H5::Group g = runs.createGroup(run.id);
    writeAttribute(g, "order", order);
    writeAttribute(g, "plan_name", run.planName);
    writeAttribute(g, "created_utc", run.createdUtc.empty() ? utcNowIso8601() : run.createdUtc);
    writeString(g, "plan_json", run.planJson);
    std::vector<std::string> names;
    std::vector<double> values;
    for (const auto& [name, value] : run.metrics) {
        names.push_back(name);
        values.push_back(value);
    }
    writeStrings(g, "metric_names", names);
    writeVector(g, "metric_values", values);
    names.clear();
    values.clear();
    for (const auto& [name, value] : run.moduleErrors) {
        names.push_back(name);
        values.push_back(value);
    }
    writeStrings(g, "module_names", names);
    writeVector(g, "module_relative_errors", values);
    if (!run.command.empty()) writeAttribute(g, "command", run.command);
    if (!run.modelPath.empty()) writeAttribute(g, "model_path", run.modelPath);
    if (run.protocol) writeProtocol(g, *run.protocol);
    if (!run.tokenKld.empty()) {
        writeVector(g, "token_kld", run.tokenKld);
        writeVector(g, "token_kld_targets", run.tokenKldTargets);
    }
    if (!run.trainingLoss.empty()) {  // flattened: layer i's epochs follow layer i−1's
        std::vector<std::int32_t> layers, epochs;
        std::vector<double> losses;
        for (const auto& [layer, history] : run.trainingLoss) {
            layers.push_back(layer);
            epochs.push_back(std::int32_t(history.size()));
            losses.insert(losses.end(), history.begin(), history.end());
        }
        writeVector(g, "training_loss_layers", layers);
        writeVector(g, "training_loss_epochs", epochs);
        writeVector(g, "training_loss", losses);
    }
}

RunRecord readRunObject(const H5::Group& runs, const std::string& id) {
    const H5::Group g = openGroup(runs, id);
    RunRecord run;
    run.id = id;
    run.planName = readStringAttribute(g, "plan_name");
    run.createdUtc = readStringAttribute(g, "created_utc");
    run.planJson = readString(g, "plan_json");
    std::vector<std::string> names = readStrings(g, "metric_names");
    std::vector<double> values = readVector<double>(g, "metric_values", names.size());
    for (std::size_t i = 0; i < names.size(); ++i) run.metrics[names[i]] = values[i];
    names = readStrings(g, "module_names");
    values = readVector<double>(g, "module_relative_errors", names.size());
    for (std::size_t i = 0; i < names.size(); ++i) run.moduleErrors[names[i]] = values[i];
    // Optional (issue 13): absent in sessions written before the protocol existed.
    if (g.attrExists("command")) run.command = readStringAttribute(g, "command");
    if (g.attrExists("model_path")) run.modelPath = readStringAttribute(g, "model_path");
    run.protocol = readProtocol(g);
    if (g.nameExists("token_kld")) {  // optional: the workbench's KLD runs
        run.tokenKld = readVector<float>(g, "token_kld");
        run.tokenKldTargets = readVector<std::int32_t>(g, "token_kld_targets", run.tokenKld.size());
    }
    if (g.nameExists("training_loss_layers")) {  // optional: OmniQuant runs
        const auto layers = readVector<std::int32_t>(g, "training_loss_layers");
        const auto epochs = readVector<std::int32_t>(g, "training_loss_epochs", layers.size());
        std::size_t total = 0;
        for (const std::int32_t e : epochs) {
            if (e < 0) throw Error("run '" + id + "': training_loss_epochs holds a negative count");
            total += std::size_t(e);
        }
        const auto losses = readVector<double>(g, "training_loss", total);
        std::size_t at = 0;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            run.trainingLoss[layers[i]].assign(losses.begin() + std::ptrdiff_t(at), losses.begin() + std::ptrdiff_t(at + std::size_t(epochs[i])));
            at += std::size_t(epochs[i]);
        }
    }
    return run;
}

/// Children of group sorted by their "order" attribute (ties by name).
std::vector<std::string> byOrder(const H5::Group& group) {
    std::vector<std::pair<std::int64_t, std::string>> keyed;
    for (const std::string& name : childNames(group))
        keyed.emplace_back(readAttribute<std::int64_t>(openGroup(group, name), "order"), name);
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> names;
    for (auto& [order, name] : keyed) names.push_back(std::move(name));
    return names;
}

/// Validates the session at path, copies it to a temp file, lets edit() change the copy's
/// root group, then renames the copy over the file.
template <class F>
void editSession(const fs::path& path, F&& edit) {
    openSession(path, H5F_ACC_RDONLY).close();
    TempFile temp(path);
    fs::copy_file(path, temp.path(), fs::copy_options::overwrite_existing);
    {
        H5::H5File file(temp.path().string(), H5F_ACC_RDWR);
        edit(file.openGroup("/"));
    }
    temp.commit();
}

/// The number of run `run`: its run_number metric, else the N of an id "run-N", else 0.
int runNumber(const RunRecord& run) {
    if (const auto it = run.metrics.find("run_number"); it != run.metrics.end()) return int(it->second);
    if (run.id.rfind("run-", 0) == 0) {
        try {
            return std::stoi(run.id.substr(4));
        } catch (const std::exception&) {
        }
    }
    return 0;
}

/// Gives run the next free number among runs and names it (and its plan) after it.
void numberRun(RunRecord& run, int largest) {
    const int n = largest + 1;
    run.id = "run-" + std::to_string(n);
    run.metrics["run_number"] = n;
    if (!run.planJson.empty()) run.planName = run.id;
}

H5::Group childGroup(const H5::Group& root, const std::string& name) {
    return root.nameExists(name) ? openGroup(root, name) : root.createGroup(name);
}

}  // namespace

std::string utcNowIso8601() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buf;
}

// ---- SessionWriter ----------------------------------------------------------------------

struct SessionWriter::Impl {
    Impl(const fs::path& target, const SessionProvenance& provenance)
        : path(target), temp(target), file(temp.path().string(), H5F_ACC_TRUNC) {
        const H5::Group root = file.openGroup("/");
        writeProvenance(root, provenance);
        modules = root.createGroup("modules");
    }
    /// Writes plans, runs and plan costs, closes the file and renames it over path.
    void finish(const std::vector<PlanRecord>& planRecords, const std::vector<RunRecord>& runRecords,
                const std::vector<PlanCostSweep>& planCosts) {
        if (committed) throw Error("the session was already committed");
        const H5::Group root = file.openGroup("/");
        const H5::Group plans = root.createGroup("plans");
        for (const PlanRecord& plan : planRecords) writePlanObject(plans, plan);
        const H5::Group runs = root.createGroup("runs");
        for (std::size_t i = 0; i < runRecords.size(); ++i) {
            if (runs.nameExists(runRecords[i].id)) throw Error("run id '" + runRecords[i].id + "' appears twice");
            writeRunObject(runs, runRecords[i], std::int64_t(i));
        }
        writePlanCostSweeps(root, planCosts);
        modules.close();
        file.close();
        temp.commit();
        committed = true;
    }

    fs::path path;
    TempFile temp;  // declared before file: the file closes before the temp file is removed
    H5::H5File file;
    H5::Group modules;
    ActivationLinks links;
    std::int64_t count = 0;
    bool committed = false;
};

SessionWriter::SessionWriter(const fs::path& path, const SessionProvenance& provenance) {
    guarded(path, kCannotWrite, [&] { m = std::make_unique<Impl>(path, provenance); });
}

SessionWriter::~SessionWriter() {
    if (!m) return;
    std::lock_guard lock(hdf5Mutex());
    try {
        m->modules.close();
        m->file.close();
    } catch (const H5::Exception&) {
        // closing a half-written temp file that is about to be removed
    }
    m.reset();  // removes the temp file unless committed
}

void SessionWriter::addModule(const ModuleStats& module) {
    guarded(m->path, kCannotWrite, [&] {
        if (m->committed) throw Error("the session was already committed");
        writeModuleStats(m->modules, module, m->count, m->links);
        ++m->count;
    });
}

std::size_t SessionWriter::moduleCount() const {
    return std::size_t(m->count);
}

void SessionWriter::commit() {
    guarded(m->path, kCannotWrite, [&] { m->finish({}, {}, {}); });
}

// ---- SessionStore -----------------------------------------------------------------------

void SessionStore::write(const fs::path& path, const SessionData& data) {
    SessionWriter writer(path, data.provenance);
    for (const ModuleStats& module : data.modules) writer.addModule(module);
    guarded(path, kCannotWrite, [&] { writer.m->finish(data.plans, data.runs, data.planCosts); });
}

namespace {

/// Every attribute and dataset of the session layout; the same code in-process and in the probe.
SessionData readSessionData(const H5::H5File& file) {
    const H5::Group root = file.openGroup("/");
    SessionData data;
    data.schemaVersion = readAttribute<std::int32_t>(root, "schema_version");
    data.provenance = readProvenance(root);
    const H5::Group modules = openGroup(root, "modules");
    ActivationCache cache;
    for (const std::string& name : byOrder(modules)) data.modules.push_back(readModuleStats(modules, name, cache));
    if (root.nameExists("plans")) {
        const H5::Group plans = openGroup(root, "plans");
        for (const std::string& name : childNames(plans)) data.plans.push_back(readPlanObject(plans, name));
    }
    if (root.nameExists("runs")) {
        const H5::Group runs = openGroup(root, "runs");
        for (const std::string& id : byOrder(runs)) data.runs.push_back(readRunObject(runs, id));
    }
    data.planCosts = readPlanCostSweeps(root);
    return data;
}

}  // namespace

SessionData SessionStore::read(const fs::path& path) {
    return guarded(path, kDamaged, [&] { return readSessionData(openSession(path, H5F_ACC_RDONLY)); });
}

void SessionStore::writePlan(const fs::path& path, const PlanRecord& plan) {
    guarded(path, kCannotWrite, [&] {
        checkName("plan", plan.name);
        editSession(path, [&](const H5::Group& root) { writePlanObject(childGroup(root, "plans"), plan); });
    });
}

PlanRecord SessionStore::readPlan(const fs::path& path, const std::string& name) {
    return guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        const H5::Group root = file.openGroup("/");
        if (!root.nameExists("plans") || !openGroup(root, "plans").nameExists(name))
            throw Error("no plan named '" + name + "'");
        return readPlanObject(openGroup(root, "plans"), name);
    });
}

std::vector<std::string> SessionStore::planNames(const fs::path& path) {
    return guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        const H5::Group root = file.openGroup("/");
        return root.nameExists("plans") ? childNames(openGroup(root, "plans")) : std::vector<std::string>{};
    });
}

void SessionStore::writeRun(const fs::path& path, const RunRecord& run) {
    guarded(path, kCannotWrite, [&] {
        checkName("run", run.id);
        editSession(path, [&](const H5::Group& root) {
            const H5::Group runs = childGroup(root, "runs");
            std::int64_t order = 0;
            for (const std::string& id : childNames(runs))
                order = std::max(order, readAttribute<std::int64_t>(openGroup(runs, id), "order") + 1);
            if (runs.nameExists(run.id)) {
                order = readAttribute<std::int64_t>(openGroup(runs, run.id), "order");
                runs.unlink(run.id);
            }
            writeRunObject(runs, run, order);
        });
    });
}

RunRecord SessionStore::readRun(const fs::path& path, const std::string& id) {
    return guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        const H5::Group root = file.openGroup("/");
        if (!root.nameExists("runs") || !openGroup(root, "runs").nameExists(id)) throw Error("no run with id '" + id + "'");
        return readRunObject(openGroup(root, "runs"), id);
    });
}

std::vector<std::string> SessionStore::runIds(const fs::path& path) {
    return guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        const H5::Group root = file.openGroup("/");
        return root.nameExists("runs") ? byOrder(openGroup(root, "runs")) : std::vector<std::string>{};
    });
}

void SessionStore::checkAppendable(const fs::path& path) {
    if (!fs::exists(path)) {
        const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
        if (!fs::is_directory(folder)) throw Error(path.string() + ": folder " + folder.string() + " does not exist");
        return;
    }
    guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        const H5::Group root = file.openGroup("/");
        readProvenance(root);
        if (root.nameExists("runs")) {
            const H5::Group runs = openGroup(root, "runs");
            for (const std::string& id : byOrder(runs)) (void)readRunObject(runs, id);
        }
    });
}

std::string SessionStore::appendNumberedRun(const fs::path& path, RunRecord run, const SessionProvenance& provenanceIfNew) {
    if (!fs::exists(path)) {
        numberRun(run, 0);
        SessionData data;
        data.provenance = provenanceIfNew;
        if (!run.planJson.empty()) data.plans.push_back({run.id, run.planJson, run.createdUtc});
        data.runs.push_back(run);
        write(path, data);
        return run.id;
    }
    checkAppendable(path);  // the session's own errors ("not an HDF5 file"), not "cannot write"
    guarded(path, kCannotWrite, [&] {
        editSession(path, [&](const H5::Group& root) {
            const H5::Group runs = childGroup(root, "runs");
            int largest = 0;
            std::int64_t order = 0;
            for (const std::string& id : childNames(runs)) {
                largest = std::max(largest, runNumber(readRunObject(runs, id)));
                order = std::max(order, readAttribute<std::int64_t>(openGroup(runs, id), "order") + 1);
            }
            numberRun(run, largest);
            while (runs.nameExists(run.id)) numberRun(run, ++largest);  // an id "run-N" whose run_number is not N
            if (!run.planJson.empty()) writePlanObject(childGroup(root, "plans"), {run.id, run.planJson, run.createdUtc});
            writeRunObject(runs, run, order);
        });
    });
    return run.id;
}

void SessionStore::editRoot(const fs::path& path, const SessionProvenance& provenanceIfNew,
                            const std::function<void(const H5::Group&)>& edit) {
    if (!fs::exists(path)) {
        SessionData data;
        data.provenance = provenanceIfNew;
        write(path, data);
    }
    guarded(path, kCannotWrite, [&] { editSession(path, edit); });
}

void SessionStore::readRoot(const fs::path& path, const std::function<void(const H5::Group&)>& read) {
    guarded(path, kDamaged, [&] {
        const H5::H5File file = openSession(path, H5F_ACC_RDONLY);
        read(file.openGroup("/"));
    });
}

}  // namespace qb::core
