// Fuzz target: an HDF5 session file as the workbench and `report` open it — SessionStore::read
// (every attribute and dataset), then the plan and run listings and each plan and run read by
// name. HDF5 itself (Debian's libhdf5) is not instrumented: coverage guides the mutations only
// through quantbench's reader, and a crash inside libhdf5 still shows up as a crash here.
#include "core/store/session_store.h"
#include "tests/fuzz/fuzz_support.h"

QB_FUZZ_TARGET(session_store) {
    const std::filesystem::path file = qb::fuzz::scratchFile("session.h5", bytes);
    const qb::core::SessionData data = qb::core::SessionStore::read(file);
    std::size_t n = data.modules.size() + data.plans.size() + data.runs.size();
    for (const std::string& name : qb::core::SessionStore::planNames(file))
        n += qb::core::SessionStore::readPlan(file, name).name.size();
    for (const std::string& id : qb::core::SessionStore::runIds(file))
        n += qb::core::SessionStore::readRun(file, id).id.size();
    volatile std::size_t sink = n;
    (void)sink;
}
