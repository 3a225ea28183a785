#pragma once
// ResumeOfferDialog — at start-up, the offer to resume a Quantize job that a crashed or killed
// workbench left (ui/jobs/interrupted_quantize.h): what it was (model, plan, calibration), how
// many layers its state holds, and Resume / Discard. Closing the dialog decides nothing: the
// offer comes again at the next start.

#include <functional>

#include <QDialog>

#include "ui/jobs/interrupted_quantize.h"

class QPushButton;

namespace qb::ui {

class Job;
class WorkbenchController;

enum class ResumeChoice { Resume, Discard, Later };

class ResumeOfferDialog : public QDialog {
    Q_OBJECT
public:
    explicit ResumeOfferDialog(const InterruptedQuantize& job, QWidget* parent = nullptr);

    [[nodiscard]] ResumeChoice choice() const { return m_choice; }
    [[nodiscard]] QPushButton* resumeButton() const { return m_resume; }
    [[nodiscard]] QPushButton* discardButton() const { return m_discard; }
    /// The description shown (for tests).
    [[nodiscard]] QString text() const { return m_text; }

private:
    ResumeChoice m_choice = ResumeChoice::Later;
    QPushButton* m_resume = nullptr;
    QPushButton* m_discard = nullptr;
    QString m_text;
};

using ResumePrompt = std::function<ResumeChoice(const InterruptedQuantize&)>;

/// The start-up offer: asks prompt (default: a modal ResumeOfferDialog over parent) about the
/// oldest interrupted Quantize job, if any. Resume → controller.resumeQuantize (the Load job is
/// returned); Discard → the record and its state are removed; Later → kept. nullptr unless a
/// job was resumed.
Job* offerInterruptedQuantize(WorkbenchController& controller, QWidget* parent, const ResumePrompt& prompt = {});

}  // namespace qb::ui
