#include "core/util/temp_path.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace qb::core {

namespace fs = std::filesystem;

std::size_t removeStaleTemps(const fs::path& target) {
    const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    const std::string prefix = target.filename().string() + ".tmp-";
    std::size_t removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = pid_t(std::stol(digits));
        if (pid <= 0 || pid == ::getpid()) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        std::error_code rmEc;
        if (fs::remove_all(it->path(), rmEc) > 0 && !rmEc) ++removed;
    }
    return removed;
}

fs::path atomicTempPath(const fs::path& target) {
    removeStaleTemps(target);
    return target.string() + ".tmp-" + std::to_string(::getpid());
}

}  // namespace qb::core
