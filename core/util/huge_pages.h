#pragma once
// adviseHugePages — asks the kernel to back a large, not yet touched buffer with 2 MiB
// transparent huge pages (Linux madvise(MADV_HUGEPAGE); a no-op elsewhere and for buffers
// under 4 MiB). A fresh 64 MiB buffer otherwise costs 16,384 page faults on first touch; on
// the 2-core KVM machine of BENCHMARKS.md that was about 0.1 s, the time of a 4096-wide
// Cholesky factorisation. Where the system's THP mode is "never", or no huge page is free,
// the buffer stays on 4 KiB pages and nothing else changes. Call it before the first write.

#include <cstddef>

namespace qb::core {

void adviseHugePages(void* data, std::size_t bytes);

}  // namespace qb::core
