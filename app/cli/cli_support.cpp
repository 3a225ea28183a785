#include "app/cli/cli_support.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace qb::cli {

std::string humanBytes(std::uint64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
    return buf;
}

std::string withThousands(std::uint64_t n) {
    std::string s = std::to_string(n);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(std::size_t(i), ",");
    return s;
}

core::RunContext terminalContext(bool quiet) {
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    auto progress = [tty, quiet](double f, std::string_view stage) {
        if (!tty || quiet) return;
        std::fprintf(stderr, "\r%-24.*s %5.1f%%", int(stage.size()), stage.data(), 100.0 * f);
        if (f >= 1.0) std::fprintf(stderr, "\r%40s\r", "");
        std::fflush(stderr);
    };
    auto log = [quiet](std::string_view line) {
        if (!quiet) std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
    };
    return core::RunContext(progress, log);
}

}  // namespace qb::cli
