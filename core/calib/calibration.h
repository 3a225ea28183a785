#pragma once
// Calibration and evaluation text → token windows.
//
// Text protocol (resources/data/tinystories/README.md): split on lines holding only
// "<|endoftext|>", strip each story, drop empty ones; encode each with BOS first, no EOS;
// concatenate. Plain text without such lines is one document.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"

namespace qb::core {

/// Stories of a text (split on "<|endoftext|>" lines, stripped, empty ones dropped).
[[nodiscard]] std::vector<std::string> splitDocuments(const std::string& text);
/// Reads a UTF-8 text file; throws Error "<file>: cannot read" / "<file>: is empty".
[[nodiscard]] std::string readTextFile(const std::filesystem::path& file);
/// All documents encoded with BOS (when the tokenizer has one) and concatenated.
[[nodiscard]] std::vector<int> encodeDocuments(const Tokenizer& tokenizer, const std::string& text);

struct CalibrationOptions {
    int windows = 128;        ///< number of windows wanted
    int ctx = 512;            ///< tokens per window
    std::uint64_t seed = 0;   ///< random start positions are drawn from std::mt19937_64(seed)
};

struct CalibrationSet {
    std::vector<int> tokens;  ///< windows × ctx ids, window after window
    int windows = 0;
    int ctx = 0;
    bool shortened = false;   ///< fewer windows (or a shorter ctx) than asked: the text is too short
    std::string note;         ///< what was shortened, for the user
};

/// Draws `windows` windows of `ctx` tokens at uniformly random start positions of the token
/// stream (seeded; the GPTQ reference's sampling). If the stream is shorter than ctx, one
/// window of the whole stream is returned; if it holds fewer than `windows` disjoint
/// windows, still `windows` (overlapping) windows are drawn — `note` says so either way.
[[nodiscard]] CalibrationSet sampleCalibration(const std::vector<int>& stream, const CalibrationOptions& options);

}  // namespace qb::core
