#include "ui/jobs/text_source.h"

#include <algorithm>
#include <vector>

#include "core/calib/calibration.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

namespace qb::ui {

namespace fs = std::filesystem;

std::string textDisplayName(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        const auto name = path.has_filename() ? path.filename() : path.parent_path().filename();
        return name.string() + "/";
    }
    return path.filename().string();
}

TextSource readTextSource(const fs::path& path) {
    TextSource source;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        source.text = core::readTextFile(path);
        source.name = textDisplayName(path);
    } else {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(path, ec))
            if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
        if (ec) throw core::Error(path.string() + ": cannot list the folder: " + ec.message());
        if (files.empty()) throw core::Error(path.string() + ": the folder holds no .txt file");
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            if (!source.text.empty()) source.text += "\n<|endoftext|>\n";  // each file its own document
            source.text += core::readTextFile(file);
        }
        source.files = int(files.size());
        source.name = textDisplayName(path) + " (" + std::to_string(files.size()) + (files.size() == 1 ? " file)" : " files)");
    }
    core::Sha256 sha;
    sha.update(source.text);
    source.sha256 = sha.hexDigest();
    return source;
}

}  // namespace qb::ui
