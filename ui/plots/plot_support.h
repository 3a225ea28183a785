#pragma once

#include <algorithm>
// Shared behaviour of every QCustomPlot in the workbench (PlotJuggler's conventions): drag to
// pan, wheel to zoom, double-click to reset, a hover read-out in a tooltip, a context menu with
// "Save plot as PNG/SVG/PDF…", and colours taken from the application palette so a dark
// desktop theme gives a dark plot. qcustomplot.h stays out of headers: plots are passed as
// pointers to the forward-declared class.

#include <functional>

#include <QColor>
#include <QPointF>
#include <QString>

class QCustomPlot;
class QCPColorGradient;

namespace qb::ui {

/// Text for the mouse at pixel position pos of plot, or empty for none.
using ReadoutFn = std::function<QString(QCustomPlot* plot, const QPointF& pos)>;

/// Creates a QCustomPlot named objectName with the workbench's interactions. explanation is
/// shown as the tooltip where there is no read-out (what the plotted statistic means).
/// resetView restores the default ranges (default: rescale all axes).
[[nodiscard]] QCustomPlot* createPlot(const QString& objectName, const QString& explanation, ReadoutFn readout,
                                      std::function<void()> resetView = {});

/// Saves plot by file extension: .png (2× pixel ratio), .svg, .pdf. Returns false on failure.
bool savePlot(QCustomPlot* plot, const QString& file, int width = 0, int height = 0);

/// Applies the palette of plot's widget to axes, grid, legend and background (call again on
/// QEvent::PaletteChange; createPlot does).
void applyPalette(QCustomPlot* plot);

/// Series colour i of a palette that reads on light and dark backgrounds.
[[nodiscard]] QColor seriesColor(int i);
/// Colours of the threshold lines and the outlier highlight.
[[nodiscard]] QColor warningColor();  ///< orange: 3σ, relative threshold
[[nodiscard]] QColor alarmColor();    ///< red: 6σ, LLM.int8() 6.0, outlier channels

/// A perceptually uniform gradient (viridis-like) for heatmaps.
[[nodiscard]] QCPColorGradient heatGradient();

/// Shows text centred in the plot's axis rect (e.g. "Run Inspect (F6) to compute…"); empty removes it.
void setPlotMessage(QCustomPlot* plot, const QString& text);
/// Removes plot's graphs, bars and items and hides its legend, before it is filled again.
void clearPlotContent(QCustomPlot* plot);

/// Sets the plot title (a QCPTextElement in the top layout row, created on first use).
void setPlotTitle(QCustomPlot* plot, const QString& title);

/// "1.23e-04", "0.0123", "12.3", "1,234" — compact numbers for read-outs and labels.
[[nodiscard]] QString compactNumber(double v);

/// Channels of blank margin on each side of a per-channel x axis of n channels, so a marker or
/// label on the first or last channel is not clipped by the axis rect.
[[nodiscard]] inline double channelPad(int n) { return std::max(1.5, n * 0.02); }

}  // namespace qb::ui
