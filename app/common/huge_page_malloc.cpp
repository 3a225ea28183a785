#include "app/common/huge_page_malloc.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

namespace qb::app {

namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb=1";

#if defined(__GLIBC__) && defined(__linux__)
bool glibcHasHugetlbTunable() {
    int major = 0, minor = 0;
    if (std::sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2) return false;
    return major > 2 || (major == 2 && minor >= 35);
}

bool thpModeIsMadvise() {
    std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    return read && std::strstr(line, "[madvise]") != nullptr;
}
#endif

}  // namespace

void reexecWithHugePageMalloc(char** argv) {
#if defined(__GLIBC__) && defined(__linux__)
    const char* off = std::getenv("QB_HUGE_PAGES");
    if (off && std::strcmp(off, "0") == 0) return;
    const char* current = std::getenv("GLIBC_TUNABLES");
    if (current && std::strstr(current, "glibc.malloc.hugetlb")) return;  // set already: by us, or by the user
    if (!glibcHasHugetlbTunable() || !thpModeIsMadvise()) return;
    // A copy: setenv may invalidate what getenv returned.
    const bool had = current != nullptr;
    const std::string before = had ? current : "";
    const std::string value = before.empty() ? std::string(kTunable) : before + ":" + kTunable;
    if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed (no /proc, say): go on as we are, without the tunable in our own environment
    if (had)
        setenv("GLIBC_TUNABLES", before.c_str(), 1);
    else
        unsetenv("GLIBC_TUNABLES");
#else
    (void)argv;
#endif
}

}  // namespace qb::app
