#include "ui/views/resume_offer_dialog.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/jobs/text_source.h"
#include "ui/util/qt_convert.h"
#include "ui/workbench_controller.h"

namespace qb::ui {

ResumeOfferDialog::ResumeOfferDialog(const InterruptedQuantize& job, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Resume Interrupted Quantization"));
    const QString calib = toQString(textDisplayName(job.calibration.textFile));
    m_text = tr("<p><b>A quantization did not finish</b> the last time the workbench ran (it crashed or was stopped).</p>"
                "<table>"
                "<tr><td>Model</td><td>%1</td></tr>"
                "<tr><td>Plan</td><td>%2</td></tr>"
                "<tr><td>Calibration&nbsp;&nbsp;</td><td>%3, %4 windows × %5 tokens, seed %6</td></tr>"
                "<tr><td>Done</td><td>%7 of %8 layers, kept in %9</td></tr>"
                "</table>"
                "<p>Resume opens the model and continues after layer %10; the run it adds is the one an "
                "uninterrupted quantization gives. Discard deletes the kept layers.</p>")
                 .arg(job.modelDir.toHtmlEscaped(), job.scheme.toHtmlEscaped(), calib.toHtmlEscaped())
                 .arg(job.calibration.windows)
                 .arg(job.calibration.ctx)
                 .arg(job.calibration.seed)
                 .arg(job.layersDone)
                 .arg(job.layers)
                 .arg(QFileInfo(job.stateFolder).fileName().toHtmlEscaped())
                 .arg(job.layersDone - 1);
    auto* label = new QLabel(m_text, this);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* buttons = new QDialogButtonBox(this);
    m_resume = buttons->addButton(tr("Resume"), QDialogButtonBox::AcceptRole);
    m_discard = buttons->addButton(tr("Discard"), QDialogButtonBox::DestructiveRole);
    m_resume->setDefault(true);
    connect(m_resume, &QPushButton::clicked, this, [this] {
        m_choice = ResumeChoice::Resume;
        accept();
    });
    connect(m_discard, &QPushButton::clicked, this, [this] {
        m_choice = ResumeChoice::Discard;
        accept();
    });
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(label);
    layout->addWidget(buttons);
    setMinimumWidth(560);
}

Job* offerInterruptedQuantize(WorkbenchController& controller, QWidget* parent, const ResumePrompt& prompt) {
    const auto pending = pendingInterruptedQuantizes();
    if (pending.isEmpty()) return nullptr;
    const InterruptedQuantize& job = pending.front();  // one at a time: a resume opens its own model
    ResumeChoice choice = ResumeChoice::Later;
    if (prompt) {
        choice = prompt(job);
    } else {
        ResumeOfferDialog dialog(job, parent);
        dialog.exec();
        choice = dialog.choice();
    }
    switch (choice) {
        case ResumeChoice::Resume: return controller.resumeQuantize(job);
        case ResumeChoice::Discard: forgetQuantize(job.id); return nullptr;
        case ResumeChoice::Later: return nullptr;
    }
    return nullptr;
}

}  // namespace qb::ui
