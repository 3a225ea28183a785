#pragma once
// TextSource — a calibration or evaluation text as the user chose it: one text file, or a
// folder whose *.txt files are read in name order, each its own document (joined by an
// "<|endoftext|>" line, the separator core::splitDocuments knows). What a run records about it: the name, the SHA-256 of the bytes read and
// whether it is the bundled text. Read on a job thread (readTextSource); the rest is cheap.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace qb::ui {

/// The text a job read and how to name it in the job, the log, the run's row and its tooltip.
struct TextSource {
    std::string text;    ///< the bytes read (a folder's files joined by "\n<|endoftext|>\n")
    std::string name;    ///< textDisplayName(path): "calib.txt", "my-texts/ (3 files)"
    std::string sha256;  ///< 64 lowercase hex characters of text
    int files = 1;
};

/// Reads path (a file, or the *.txt files of a folder in name order). Throws core::Error naming
/// the path when it cannot be read or a folder holds no .txt file. Job threads only (file I/O).
[[nodiscard]] TextSource readTextSource(const std::filesystem::path& path);

/// "calib.txt" for a file, "my-texts/" for a folder: the name the views show (no I/O beyond
/// asking whether path is a folder).
[[nodiscard]] std::string textDisplayName(const std::filesystem::path& path);

/// The first 12 hex characters of a SHA-256, enough to tell texts apart in a row.
[[nodiscard]] inline std::string shortSha(const std::string& sha256) { return sha256.substr(0, 12); }

}  // namespace qb::ui
