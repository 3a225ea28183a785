#pragma once
// OverviewView — where the outliers live, at a glance: a heatmap of decoder layers × module
// kinds coloured by the workspace's statistic (worst-statistic severity, weight excess kurtosis,
// activation outlier fraction, activation max |x|, activation outlier ratio, RTN 4-bit
// sensitivity), the one the Model tree's column shows too. Clicking a cell makes
// that module current; the current module is framed.

#include <optional>

#include <QWidget>

#include "ui/models/module_statistic.h"

class QComboBox;
class QCustomPlot;
class QLabel;

namespace qb::core {
struct ModuleStats;
}

namespace qb::ui {

class Workspace;

class OverviewView : public QWidget {
    Q_OBJECT
public:
    using Statistic = ModuleStatistic;

    explicit OverviewView(Workspace* workspace, QWidget* parent = nullptr);

    [[nodiscard]] QCustomPlot* plot() const { return m_plot; }
    /// The workspace's statistic (the Model tree's column follows the same choice).
    void setStatistic(Statistic statistic);
    [[nodiscard]] Statistic statistic() const;
    [[nodiscard]] QComboBox* statisticBox() const { return m_statistic; }
    /// The statistic of one module, when its statistics hold it.
    [[nodiscard]] static std::optional<double> valueOf(const core::ModuleStats& module, Statistic statistic);
    /// Selects the module under a plot coordinate (what a click does).
    void selectAt(double kindCoord, double layerCoord);

    void refresh();

private:
    void markCurrent();

    Workspace* m_workspace;
    QComboBox* m_statistic;
    QLabel* m_help;
    QCustomPlot* m_plot;
};

}  // namespace qb::ui
