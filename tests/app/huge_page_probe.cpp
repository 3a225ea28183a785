// A main() as quantbench's: re-executes itself with glibc's huge-page malloc when that helps,
// then prints what it runs with: "GLIBC_TUNABLES=<value or empty>", and the kB of anonymous
// huge pages after touching a fresh 64 MiB buffer (information only: whether the kernel had
// huge pages free is not the feature under test).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "app/common/huge_page_malloc.h"

int main(int, char** argv) {
    qb::app::reexecWithHugePageMalloc(argv);
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    std::printf("GLIBC_TUNABLES=%s\n", tunables ? tunables : "");
    std::vector<char> buffer(64u << 20);
    std::memset(buffer.data(), 1, buffer.size());
    if (std::FILE* f = std::fopen("/proc/self/smaps_rollup", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::strncmp(line, "AnonHugePages:", 14) == 0) std::printf("%s", line);
        std::fclose(f);
    }
    return buffer[12345] == 1 ? 0 : 1;
}
