#include "core/text/byte_level.h"

#include <unordered_map>

#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

std::array<char32_t, 256> makeAlphabet() {
    // Printable Latin-1 bytes stand for themselves; the rest (controls, space, 0x7F-0xA0, 0xAD)
    // take code points 256, 257, ... in byte order.
    std::array<char32_t, 256> table{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        table[b] = printable ? char32_t(b) : next++;
    }
    return table;
}

const std::unordered_map<char32_t, unsigned char>& inverseAlphabet() {
    static const auto inverse = [] {
        std::unordered_map<char32_t, unsigned char> m;
        const auto& table = byteLevelAlphabet();
        for (int b = 0; b < 256; ++b) m.emplace(table[b], static_cast<unsigned char>(b));
        return m;
    }();
    return inverse;
}

}  // namespace

const std::array<char32_t, 256>& byteLevelAlphabet() {
    static const auto table = makeAlphabet();
    return table;
}

std::optional<std::string> byteLevelToBytes(std::string_view mapped) {
    const auto& inverse = inverseAlphabet();
    std::string bytes;
    bytes.reserve(mapped.size());
    std::size_t pos = 0;
    while (pos < mapped.size()) {
        const auto it = inverse.find(decodeUtf8(mapped, pos));
        if (it == inverse.end()) return std::nullopt;
        bytes += static_cast<char>(it->second);
    }
    return bytes;
}

std::string bytesToByteLevel(std::string_view bytes) {
    const auto& table = byteLevelAlphabet();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) appendUtf8(out, table[static_cast<unsigned char>(c)]);
    return out;
}

}  // namespace qb::core::text
