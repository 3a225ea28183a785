#pragma once
// OutliersView — the statistics of the selected module: weight histogram, activation max |x|
// per input channel with the LLM.int8() and relative thresholds, weight max |w| per output row,
// and the token × channel |x| heatmap, plus the list of outlier channels. Fed by the
// workspace's statistics (an Inspect job or a session); redraws when the selection changes.

#include <QWidget>

class QCustomPlot;
class QLabel;
class QTableWidget;

namespace qb::ui {

class Workspace;

class OutliersView : public QWidget {
    Q_OBJECT
public:
    explicit OutliersView(Workspace* workspace, QWidget* parent = nullptr);

    [[nodiscard]] QCustomPlot* weightHistogram() const { return m_histogram; }
    [[nodiscard]] QCustomPlot* activationAbsmax() const { return m_absmax; }
    [[nodiscard]] QCustomPlot* rowAbsmax() const { return m_rowAbsmax; }
    [[nodiscard]] QCustomPlot* activationHeatmap() const { return m_heatmap; }
    [[nodiscard]] QTableWidget* outlierTable() const { return m_outliers; }

    /// Redraws every plot for the workspace's current module.
    void refresh();

private:
    void fillOutlierTable();

    Workspace* m_workspace;
    QLabel* m_summary;
    QCustomPlot* m_histogram;
    QCustomPlot* m_absmax;
    QCustomPlot* m_rowAbsmax;
    QCustomPlot* m_heatmap;
    QTableWidget* m_outliers;
};

}  // namespace qb::ui
