#pragma once
// Small text-formatting helpers shared by the reports (plain C++, no iostreams state).

#include <cstdio>
#include <string>

namespace qb::core {

/// v with exactly `decimals` digits after the point ("%.*f"), e.g. fixed(3.14159, 2) = "3.14".
[[nodiscard]] inline std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace qb::core
