#pragma once
// One parse function per parser of outside input, defined with QB_FUZZ_TARGET(name) in
// tests/fuzz/fuzz_<name>.cpp. The same function runs in two places:
//   - the fuzz build (QB_FUZZ=ON, clang, libFuzzer + ASan + UBSan): the macro also defines
//     LLVMFuzzerTestOneInput, which calls it and lets only qb::core::Error pass — any other
//     exception escapes and libFuzzer reports it as a crash;
//   - the Release build's replay test (QB_FUZZ_REPLAY defined): the macro registers it by name,
//     and test_fuzz_replay runs every file of corpus/<name> and regressions/<name> through it.
// A parse function gets the input's bytes; a parser that reads files gets them through
// scratchFile(). Each must return normally or throw qb::core::Error, nothing else.

#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace qb::fuzz {

using ParseFn = void (*)(const std::string& bytes);

/// Name → parse function of every target linked in (the replay test links them all).
std::map<std::string, ParseFn>& registry();
bool registerTarget(const char* name, ParseFn fn);

/// A per-process scratch folder (under $QB_FUZZ_SCRATCH when set, else /dev/shm when it
/// exists, else the temp folder), created on first use and removed at a normal exit.
const std::filesystem::path& scratchDir();
/// scratchDir()/name holding exactly bytes (replaced each call).
std::filesystem::path scratchFile(const std::string& name, const std::string& bytes);
/// The first and second part of bytes split at the first kSplitMarker (second empty and
/// `found` false when there is none): a target that reads two files gets both in one input.
inline constexpr const char* kSplitMarker = "\n#qb-fuzz-split#\n";
std::pair<std::string, std::string> splitInput(const std::string& bytes, bool& found);

/// Runs fn(bytes); returns normally when it succeeds or throws qb::core::Error.
void runGuarded(ParseFn fn, const unsigned char* data, std::size_t size);

}  // namespace qb::fuzz

#ifdef QB_FUZZ_REPLAY
#define QB_FUZZ_ENTRY(name) [[maybe_unused]] static const bool qbFuzzRegistered_##name = qb::fuzz::registerTarget(#name, &qbFuzz_##name);
#else
#define QB_FUZZ_ENTRY(name)                                                                \
    extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) { \
        qb::fuzz::runGuarded(&qbFuzz_##name, data, size);                                 \
        return 0;                                                                          \
    }
#endif

/// Defines the target's parse function: QB_FUZZ_TARGET(plan) { ...uses `bytes`... }
#define QB_FUZZ_TARGET(name)                                 \
    static void qbFuzz_##name(const std::string& bytes);     \
    QB_FUZZ_ENTRY(name)                                      \
    static void qbFuzz_##name(const std::string& bytes)
