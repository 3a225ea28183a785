#pragma once
// The subcommands of quantbench-cli. Each takes parsed options, calls one core function and
// prints what a user needs; it returns the process exit code and throws qb::core::Error on
// bad input (main() prints it in one line).

#include <optional>
#include <string>

namespace qb::cli {

struct InfoArgs {
    std::string model;
    bool json = false;
};
int runInfo(const InfoArgs& args);

struct EvalArgs {
    std::string model;
    std::string text;
    int ctx = 512;
    std::optional<int> maxWindows;
    int batch = 8;
    bool json = false;
    bool quiet = false;
};
int runEval(const EvalArgs& args);

}  // namespace qb::cli
