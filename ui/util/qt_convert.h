#pragma once
// Conversions at the ui/ boundary: core speaks UTF-8 std::string and std::filesystem::path,
// the widgets speak QString. Nothing else in ui/ should convert by hand.

#include <filesystem>
#include <string>

#include <QString>

namespace qb::ui {

[[nodiscard]] inline QString toQString(const std::string& s) { return QString::fromStdString(s); }
[[nodiscard]] inline QString toQString(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }
[[nodiscard]] inline std::string toStdString(const QString& s) { return s.toStdString(); }
[[nodiscard]] inline std::filesystem::path toPath(const QString& s) { return std::filesystem::path(s.toStdString()); }

/// "1.04 MB", "312 kB" — SI units, as the CLI prints sizes.
[[nodiscard]] QString humanBytes(double bytes);
/// "12,345"
[[nodiscard]] QString withThousands(std::uint64_t n);
/// "1:05", "12 s", "3 min 20 s" — a duration for the jobs table.
[[nodiscard]] QString humanDuration(double seconds);

}  // namespace qb::ui
