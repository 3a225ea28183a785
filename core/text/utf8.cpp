#include "core/text/utf8.h"

namespace qb::core::text {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Length of the valid UTF-8 sequence at s[pos], or 0 (with `consumed` set to the length of the
// maximal invalid prefix, at least 1) — the "maximal subpart" rule of Unicode §3.9 that
// from_utf8_lossy follows.
std::size_t validSequence(std::string_view s, std::size_t pos, std::size_t& consumed, char32_t& cp) {
    const auto c0 = static_cast<unsigned char>(s[pos]);
    consumed = 1;
    if (c0 < 0x80) {
        cp = c0;
        return 1;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        len = 2;
        cp = c0 & 0x1F;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        len = 3;
        cp = c0 & 0x0F;
        if (c0 == 0xE0) lo = 0xA0;
        if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        len = 4;
        cp = c0 & 0x07;
        if (c0 == 0xF0) lo = 0x90;
        if (c0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if (pos + k >= s.size()) return 0;
        const auto c = static_cast<unsigned char>(s[pos + k]);
        if (c < lo || c > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (c & 0x3F);
        consumed = k + 1;
    }
    return len;
}

}  // namespace

char32_t decodeUtf8(std::string_view s, std::size_t& pos) {
    std::size_t consumed = 0;
    char32_t cp = 0;
    const std::size_t len = validSequence(s, pos, consumed, cp);
    if (len == 0) {
        pos += consumed;
        return kReplacement;
    }
    pos += len;
    return cp;
}

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string utf8Lossy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t consumed = 0;
        char32_t cp = 0;
        const std::size_t len = validSequence(s, pos, consumed, cp);
        if (len == 0) {
            appendUtf8(out, kReplacement);
            pos += consumed;
        } else {
            out.append(s.substr(pos, len));
            pos += len;
        }
    }
    return out;
}

}  // namespace qb::core::text
