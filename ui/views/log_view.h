#pragma once
// LogView — the log pane: one line per job event and core log line, timestamped; failures in
// the CLI's words ("error: ..."). Keeps the last 5000 lines.

#include <QPlainTextEdit>

namespace qb::ui {

class LogView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit LogView(QWidget* parent = nullptr);
    /// Appends "hh:mm:ss  line".
    void appendLine(const QString& line);
};

}  // namespace qb::ui
