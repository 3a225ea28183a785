#include "core/kernels/read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "core/backend/backend.h"

namespace qb::core::kernels {

namespace {

// Eight independent 64-bit sums: the compiler vectorizes this into full-width loads.
std::uint64_t sumSlice(const std::uint64_t* p, std::size_t n) {
    std::uint64_t s[8] = {};
    for (std::size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) s[k] += p[i + k];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

volatile std::uint64_t g_sink = 0;  // keeps the sums alive

}  // namespace

double timedRead(const unsigned char* data, std::size_t bytes, int threads) {
    const auto* words = reinterpret_cast<const std::uint64_t*>(data);
    const std::size_t n = bytes / 8;
    std::uint64_t total = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
    for (int t = 0; t < threads; ++t) {
        const std::size_t begin = n * std::size_t(t) / std::size_t(threads) / 8 * 8;
        const std::size_t end = n * std::size_t(t + 1) / std::size_t(threads) / 8 * 8;
        total += sumSlice(words + begin, end - begin);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    g_sink = g_sink + total;
    return s;
}

ReadBandwidth measureReadBandwidth(std::size_t bytes, int repeats) {
    ReadBandwidth r;
    r.threads = threadCount();
    r.bytes = bytes / 512 * 512;
    r.repeats = std::max(1, repeats);
    std::unique_ptr<unsigned char, decltype(&std::free)> buf(static_cast<unsigned char*>(std::aligned_alloc(64, r.bytes)), &std::free);
    if (!buf) throw std::bad_alloc();
    std::memset(buf.get(), 1, r.bytes);  // touch every page first
    std::vector<double> gbps;
    timedRead(buf.get(), r.bytes, r.threads);  // warm-up
    for (int i = 0; i < r.repeats; ++i) gbps.push_back(double(r.bytes) / timedRead(buf.get(), r.bytes, r.threads) / 1e9);
    std::sort(gbps.begin(), gbps.end());
    r.medianGbps = gbps[gbps.size() / 2];
    r.bestGbps = gbps.back();
    return r;
}

}  // namespace qb::core::kernels
