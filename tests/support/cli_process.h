#pragma once
// Running quantbench-cli as a child process from the CLI's tests: exit code, whether it died
// of a signal, and what it printed. Tests that use runCli() define QB_CLI_PATH (the built
// binary, see tests/app/CMakeLists.txt).

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <filesystem>
#include <string>

namespace qb::test {

struct CliRun {
    int exitCode = -1;     ///< -1 when the process did not start, timed out or crashed
    bool crashed = true;   ///< did not start, timed out, or ended by a signal
    QByteArray out;
    QByteArray err;
};

/// Runs program with args and waits up to timeoutMs.
CliRun runProgram(const QString& program, const QStringList& args, int timeoutMs);

/// The whole content of file ("" when it cannot be read).
std::string readBytes(const std::filesystem::path& file);

#ifdef QB_CLI_PATH
/// quantbench-cli with args.
inline CliRun runCli(const QStringList& args, int timeoutMs = 120000) { return runProgram(QStringLiteral(QB_CLI_PATH), args, timeoutMs); }
#endif

}  // namespace qb::test
