#pragma once
// KldPanel — the Results view's "Against FP16" page (issue 13): the mean KL divergence from
// the FP16 baseline and the top-1 agreement with it as bars for every run that has them, and
// the per-token KLD strip of one run over one window (run and window chosen above the strip;
// hovering a bar shows the token that position predicted). Draws from the workspace's runs;
// computes nothing but the tokens' text (one tokenizer look-up per position of the window).

#include <QWidget>

#include "ui/models/run_record.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QSpinBox;

namespace qb::ui {

class Workspace;

class KldPanel : public QWidget {
    Q_OBJECT
public:
    explicit KldPanel(Workspace* workspace, QWidget* parent = nullptr);

    [[nodiscard]] QCustomPlot* kldPlot() const { return m_kld; }
    [[nodiscard]] QCustomPlot* top1Plot() const { return m_top1; }
    [[nodiscard]] QCustomPlot* tokenStrip() const { return m_strip; }
    /// The run whose tokens the strip shows (item data: run id).
    [[nodiscard]] QComboBox* stripRun() const { return m_stripRun; }
    /// The window the strip shows, 1-based (1 … the run's windows).
    [[nodiscard]] QSpinBox* stripWindow() const { return m_stripWindow; }

    /// Redraws the bars and the strip from the workspace's runs. The strip shows the newest run
    /// with per-token KLD, or the run the user picked while it exists.
    void refresh();

private:
    void fillStrip();

    Workspace* m_workspace;
    QCustomPlot* m_kld;
    QCustomPlot* m_top1;
    QCustomPlot* m_strip;
    QComboBox* m_stripRun;
    QSpinBox* m_stripWindow;
    QLabel* m_stripNote;
    bool m_stripPicked = false;  ///< the user chose the strip's run
};

}  // namespace qb::ui
