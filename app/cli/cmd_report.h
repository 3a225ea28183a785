#pragma once
// quantbench-cli report: a session's report as HTML, PDF, Markdown, CSV or JSON (issue 13).
// Built only with the GUI library (QB_BUILD_GUI): the plots are the workbench's QCustomPlot
// plots, drawn offscreen.

#include <string>

namespace qb::cli {

struct ReportArgs {
    std::string session;  ///< the HDF5 session to report on
    std::string out;      ///< FILE.html, .pdf, .md, .csv or .json (the format follows the extension)
    std::string runs;     ///< "3,5": only these runs (the baselines stay); empty = every run
    std::string compare;  ///< "3,5": the two runs "what changed" compares; empty = the last two with a plan
    std::string author;   ///< the title block's author; empty = QSettings report/author, else the login name
    std::string paper;    ///< "a4" or "letter" for a PDF; empty = QSettings report/paper, else by the locale
    bool quiet = false;
};
/// Writes the report; 0 on success. Throws core::Error (one line) for a bad session, option or
/// output file, before anything is written.
int runReport(const ReportArgs& args);

}  // namespace qb::cli
