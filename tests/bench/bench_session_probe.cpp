// What the session probe (core/store/session_probe.h, issue 17) adds to opening a session:
// SessionStore::read of a file this process has not seen (the probe's child reads it, then
// the process does) against a read of the same file once known (the process reads it only).
//   qb_bench_session_probe SESSION.h5 [Google Benchmark flags]
// Each probed iteration reads a fresh copy (a new path, so nothing is known about it); the
// copy is made and removed outside the timed region.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "core/store/session_store.h"
#include "core/util/error.h"

namespace fs = std::filesystem;
using qb::core::SessionStore;

namespace {

fs::path g_session;

void BM_ReadProbed(benchmark::State& state) {
    const fs::path folder = fs::temp_directory_path() / ("qb_bench_session_probe." + std::to_string(::getpid()));
    fs::create_directories(folder);
    std::size_t n = 0;
    for (auto _ : state) {
        state.PauseTiming();
        std::string name = "s";  // appended: GCC 12 warns falsely (-Wrestrict) on "lit" + std::string&&
        name += std::to_string(n++);
        name += ".h5";
        const fs::path copy = folder / name;
        fs::copy_file(g_session, copy);
        state.ResumeTiming();
        benchmark::DoNotOptimize(SessionStore::read(copy).modules.size());
        state.PauseTiming();
        fs::remove(copy);
        state.ResumeTiming();
    }
    fs::remove_all(folder);
}

void BM_ReadKnown(benchmark::State& state) {
    (void)SessionStore::read(g_session);  // probed once; the loop reads without the child
    for (auto _ : state) benchmark::DoNotOptimize(SessionStore::read(g_session).modules.size());
}

}  // namespace

BENCHMARK(BM_ReadProbed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadKnown)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: qb_bench_session_probe SESSION.h5 [--benchmark_...]\n");
        return 2;
    }
    g_session = argv[1];
    try {
        (void)SessionStore::read(g_session);
    } catch (const qb::core::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
