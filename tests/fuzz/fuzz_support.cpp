#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <system_error>

#include "core/util/error.h"

namespace qb::fuzz {

namespace fs = std::filesystem;

std::map<std::string, ParseFn>& registry() {
    static std::map<std::string, ParseFn> targets;
    return targets;
}

bool registerTarget(const char* name, ParseFn fn) {
    registry()[name] = fn;
    return true;
}

namespace {
fs::path g_scratch;
void removeScratch() {
    std::error_code ec;
    if (!g_scratch.empty()) fs::remove_all(g_scratch, ec);
}
}  // namespace

const fs::path& scratchDir() {
    if (g_scratch.empty()) {
        const char* env = std::getenv("QB_FUZZ_SCRATCH");  // scripts/fuzz.sh: a folder it removes afterwards
        const fs::path base = env && *env ? fs::path(env)
                              : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                             : fs::temp_directory_path();
        g_scratch = base / ("qb-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(g_scratch);
        std::atexit(removeScratch);
    }
    return g_scratch;
}

fs::path scratchFile(const std::string& name, const std::string& bytes) {
    const fs::path p = scratchDir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) std::abort();  // the harness itself failed, not the parser
    return p;
}

std::pair<std::string, std::string> splitInput(const std::string& bytes, bool& found) {
    const std::size_t at = bytes.find(kSplitMarker);
    found = at != std::string::npos;
    if (!found) return {bytes, std::string()};
    return {bytes.substr(0, at), bytes.substr(at + std::string(kSplitMarker).size())};
}

void runGuarded(ParseFn fn, const unsigned char* data, std::size_t size) {
    try {
        fn(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const core::Error&) {
        // a refused input: the expected outcome for most mutations
    }
}

}  // namespace qb::fuzz
