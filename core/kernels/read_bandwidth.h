#pragma once
// A STREAM-like read benchmark: the memory read bandwidth the weight-streaming kernels are
// measured against. Sums a buffer much larger than the last-level cache with
// threadCount() threads (each a contiguous slice), several times; reports the median.

#include <cstddef>

namespace qb::core::kernels {

struct ReadBandwidth {
    double medianGbps = 0.0;  ///< 10^9 bytes per second, median over the repeats
    double bestGbps = 0.0;
    std::size_t bytes = 0;    ///< buffer size
    int threads = 1;
    int repeats = 0;
};

/// Reads a freshly allocated buffer of `bytes` (default 256 MiB) `repeats` times. Thread-safe
/// (allocates its own buffer); throws std::bad_alloc when memory is short.
[[nodiscard]] ReadBandwidth measureReadBandwidth(std::size_t bytes = std::size_t(256) << 20, int repeats = 9);

/// One timed pass: reads `bytes` from data with `threads` threads; returns seconds. data must
/// be 64-byte aligned and bytes a multiple of 64·threads (used by the benchmarks).
double timedRead(const unsigned char* data, std::size_t bytes, int threads);

}  // namespace qb::core::kernels
