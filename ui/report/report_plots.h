#pragma once
// ReportPlots — the report's figures, drawn offscreen by the same QCustomPlot builders the
// workbench's views use (ui/plots/: createPerplexityPlot + fillPerplexity, fillPareto,
// fillModuleErrors, fillLatency, fillPrefill, fillActivationAbsmax), so a report and the
// Results/Outliers views never disagree. Each plot id is a ReportSection::plots entry.
// Needs a QApplication (offscreen is fine); GUI thread only.

#include <memory>
#include <string>
#include <vector>

#include <QByteArray>
#include <QRect>

#include "core/store/session_data.h"

class QCPPainter;
class QCustomPlot;

namespace qb::ui {

class ReportPlots {
public:
    /// session must outlive this object; runIds are the runs the report includes.
    ReportPlots(const core::SessionData& session, const std::vector<std::string>& runIds);
    ~ReportPlots();
    ReportPlots(const ReportPlots&) = delete;
    ReportPlots& operator=(const ReportPlots&) = delete;

    /// Draws plot id with its top-left corner at the painter's origin, size × size logical
    /// pixels, as vectors (PDF). False for an unknown id.
    bool paint(const std::string& id, QCPPainter* painter, QSize size);
    /// The plot as an SVG element for inline HTML (no XML prolog, DOCTYPE or namespace URLs);
    /// empty for an unknown id.
    [[nodiscard]] QByteArray inlineSvg(const std::string& id, QSize size);
    /// The plot's height for a given width (taller for plots with a row per run or module).
    [[nodiscard]] int preferredHeight(const std::string& id, int width) const;

private:
    QCustomPlot* plot(const std::string& id);

    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace qb::ui
