#pragma once
// SHA-256 (FIPS 180-4) of byte strings and files, as lowercase hex — used for the provenance
// of a session (config.json, safetensors headers, calibration text).
//
// Sha256 is a streaming hasher: update() any number of times, then hexDigest() once.
// A Sha256 object is not thread-safe; the free functions are.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace qb::core {

class Sha256 {
public:
    Sha256();
    /// Appends bytes to the message.
    void update(const void* data, std::size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    /// Pads, finishes and returns the 32-byte digest. The object must not be updated afterwards.
    [[nodiscard]] std::array<std::uint8_t, 32> digest();
    /// digest() as 64 lowercase hex characters.
    [[nodiscard]] std::string hexDigest();

private:
    void compress(const std::uint8_t* block);
    std::array<std::uint32_t, 8> m_state;
    std::array<std::uint8_t, 64> m_buffer{};
    std::size_t m_buffered = 0;
    std::uint64_t m_totalBytes = 0;
    bool m_finished = false;
};

/// SHA-256 of bytes, 64 lowercase hex characters.
[[nodiscard]] std::string sha256Hex(std::string_view bytes);
/// SHA-256 of a file's content, read in 1 MiB chunks (never whole into memory).
/// Throws Error "<file>: cannot read" when the file cannot be opened or read.
[[nodiscard]] std::string sha256FileHex(const std::filesystem::path& file);

}  // namespace qb::core
