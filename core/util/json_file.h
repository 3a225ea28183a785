#pragma once
// Reading JSON documents and writing small text files with the project's error lines
// ("FILE: cannot read", "FILE: not valid JSON (…)", "FILE: write failed"). Core-only: the
// header includes nlohmann/json, which qbcore links privately.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/util/json_input.h"

namespace qb::core {

/// The JSON document in file, within limits (core/util/json_input.h: kConfigJsonLimits,
/// kTokenizerJsonLimits, …); throws Error naming the file when it cannot be read or parsed, is
/// larger than limits allow or nested deeper than they allow.
[[nodiscard]] nlohmann::json readJsonFile(const std::filesystem::path& file, const JsonInputLimits& limits);
/// The same, keeping the document's key order (for files written back with edits, e.g. config.json).
[[nodiscard]] nlohmann::ordered_json readOrderedJsonFile(const std::filesystem::path& file, const JsonInputLimits& limits);
/// Writes text to file (truncating); throws Error naming the file when the write fails.
void writeTextFile(const std::filesystem::path& file, const std::string& text);
/// s with the regex metacharacters . ^ $ | ( ) [ ] { } * + ? \ escaped (module names in
/// GPTQModel's "dynamic" and compressed-tensors' "ignore" patterns).
[[nodiscard]] std::string escapeRegex(const std::string& s);

}  // namespace qb::core
