#pragma once
// The runs of a session as the workbench shows them (titles, numbers, texts, protocols), for a
// caller that has a SessionData but no open workbench (the report writers). The conversion is
// the one the workbench applies when it opens a session (ui/workbench_sessions.cpp).

#include <string>
#include <vector>

#include "core/store/session_data.h"
#include "ui/models/run_record.h"

namespace qb::ui {

/// data.runs as RunRecords in stored order; moduleOrder orders each run's per-module errors
/// (modules not in it are left out); precision names the loaded baseline ("F32").
[[nodiscard]] std::vector<RunPtr> runsFromSession(const core::SessionData& data, const std::vector<std::string>& moduleOrder,
                                                  const std::string& precision);

}  // namespace qb::ui
