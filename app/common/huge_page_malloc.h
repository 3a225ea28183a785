#pragma once
// Large buffers on transparent huge pages. Quantize allocates and first-touches hundreds of
// MiB of activations, products and factors per decoder layer. On 4 KiB pages that is about
// 1.8 M page faults for two layers of the 1B shape, several seconds of kernel time on the
// 2-core KVM machine of BENCHMARKS.md ("Huge pages for malloc"). glibc (2.35 and later) can
// back its heap and large chunks with THP, but reads that setting (GLIBC_TUNABLES=
// glibc.malloc.hugetlb=1) only when a process starts. So a main() that wants it re-executes
// itself once with the tunable set. This is done only where it helps: glibc ≥ 2.35, and the
// kernel's THP mode is "madvise" ("always" already gives huge pages, "never" cannot).
// QB_HUGE_PAGES=0 in the environment turns it off.

namespace qb::app {

/// Call first in main(), before any thread starts. Returns without doing anything when the
/// tunable is already set, not useful or turned off, or when the exec fails; otherwise the
/// process image is replaced (same PID, arguments and environment plus the tunable).
void reexecWithHugePageMalloc(char** argv);

}  // namespace qb::app
