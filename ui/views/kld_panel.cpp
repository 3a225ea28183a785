#include "ui/views/kld_panel.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include "core/util/error.h"
#include "qcustomplot.h"
#include "ui/models/workspace.h"
#include "ui/plots/kld_plots.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

KldPanel::KldPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_kld(createKldPlot()), m_top1(createTop1Plot()), m_strip(createTokenKldStrip()),
      m_stripRun(new QComboBox(this)), m_stripWindow(new QSpinBox(this)), m_stripNote(new QLabel(this)) {
    setObjectName(QStringLiteral("KldPanel"));
    m_stripRun->setObjectName(QStringLiteral("tokenKldRun"));
    m_stripRun->setToolTip(tr("The run whose per-token KL divergence the strip shows"));
    m_stripWindow->setObjectName(QStringLiteral("tokenKldWindow"));
    m_stripWindow->setToolTip(tr("The evaluation window the strip shows (windows of the evaluation text, in order)"));
    m_stripWindow->setPrefix(tr("window "));
    m_stripNote->setObjectName(QStringLiteral("tokenKldNote"));
    auto* bars = new QHBoxLayout;
    bars->addWidget(m_kld, 1);
    bars->addWidget(m_top1, 1);
    auto* pick = new QHBoxLayout;
    pick->addWidget(new QLabel(tr("Per-token KLD of"), this));
    pick->addWidget(m_stripRun, 1);
    pick->addWidget(m_stripWindow);
    pick->addWidget(m_stripNote);
    pick->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bars, 3);
    layout->addLayout(pick);
    layout->addWidget(m_strip, 2);
    connect(m_stripRun, &QComboBox::activated, this, [this] { m_stripPicked = true; });
    connect(m_stripRun, &QComboBox::currentIndexChanged, this, &KldPanel::fillStrip);
    connect(m_stripWindow, &QSpinBox::valueChanged, this, &KldPanel::fillStrip);
    refresh();
}

void KldPanel::refresh() {
    const auto& runs = m_workspace->runs();
    fillKld(m_kld, m_top1, runs);
    const int kept = m_stripRun->currentData().toInt();
    {
        const QSignalBlocker block(m_stripRun);
        m_stripRun->clear();
        for (const auto& r : runsWithKld(runs))
            if (!r->tokenKld.empty()) m_stripRun->addItem(toQString(r->name), r->id);
        // A run the user picked stays while it exists; else the newest run with per-token KLD.
        const int at = m_stripPicked ? m_stripRun->findData(kept) : -1;
        if (at < 0) m_stripPicked = false;
        m_stripRun->setCurrentIndex(at >= 0 ? at : m_stripRun->count() - 1);
    }
    fillStrip();
}

void KldPanel::fillStrip() {
    const RunPtr run = m_workspace->findRun(m_stripRun->currentData().toInt());
    const int windows = run ? run->tokenKldWindows() : 0;
    {
        const QSignalBlocker block(m_stripWindow);
        m_stripWindow->setRange(1, std::max(1, windows));
        m_stripWindow->setEnabled(windows > 1);
    }
    m_stripNote->setText(windows > 0 ? tr("of %1, %2 positions each").arg(windows).arg(run->tokenKldWindowLength()) : QString());
    const auto model = m_workspace->model();
    const auto tokenizer = model ? model->tokenizer : nullptr;
    fillTokenKldStrip(m_strip, run, m_stripWindow->value() - 1, [tokenizer](int id) {
        if (!tokenizer) return std::string();
        try {
            return tokenizer->pieceBytes(id);
        } catch (const core::Error&) {
            return std::string();  // an id outside this tokenizer's vocabulary: no text
        }
    });
}

}  // namespace qb::ui
