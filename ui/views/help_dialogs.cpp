#include "ui/views/help_dialogs.h"

#include <QAction>
#include <QDialog>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QTableWidget>
#include <QVBoxLayout>

namespace qb::ui {

namespace {

QString plainText(QString text) {
    text.remove(QLatin1Char('&'));
    if (text.endsWith(QStringLiteral("…"))) text.chop(1);
    return text;
}

void collect(const QMenu* menu, QList<QPair<QString, QString>>& out) {
    for (const QAction* action : menu->actions()) {
        if (action->menu()) {
            collect(action->menu(), out);
            continue;
        }
        if (action->shortcuts().isEmpty()) continue;
        QStringList keys;
        for (const QKeySequence& key : action->shortcuts()) keys << key.toString(QKeySequence::NativeText);
        out.append({plainText(action->text()), keys.join(QStringLiteral(", "))});
    }
}

QDialog* makeDialog(const QString& objectName, const QString& title, QWidget* content, QWidget* parent) {
    auto* dialog = new QDialog(parent);
    dialog->setObjectName(objectName);
    dialog->setWindowTitle(title);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(content, 1);
    layout->addWidget(buttons);
    return dialog;
}

}  // namespace

QString gettingStartedHtml() {
    return QObject::tr(
        "<b>Getting started</b><ol>"
        "<li><b>Open a model</b>: the bundled demo, a Hugging Face folder (config.json + *.safetensors) or a session. "
        "Its weight statistics appear in the Outliers tab.</li>"
        "<li><b>Inspect (F6)</b> runs calibration text through the model: activation outliers, the Overview and each "
        "module's 4-bit sensitivity.</li>"
        "<li><b>Plan</b> tab: choose bits, group and method per module (Ctrl+Z undoes).</li>"
        "<li><b>Evaluate (F7)</b> the baselines, <b>Quantize (F5)</b> the plan and <b>Benchmark (F8)</b> the runs; the "
        "Results tab compares them. Choose your own calibration and evaluation texts in its bar.</li>"
        "<li><b>Save the session (Ctrl+S)</b>: statistics, plan, runs and where you were.</li>"
        "</ol>Help ▸ Keyboard Shortcuts (F1) lists every key.");
}

QList<QPair<QString, QString>> menuShortcuts(const QMenuBar* menuBar) {
    QList<QPair<QString, QString>> out;
    for (const QAction* action : menuBar->actions())
        if (action->menu()) collect(action->menu(), out);
    return out;
}

QDialog* createShortcutsDialog(const QList<QPair<QString, QString>>& shortcuts, QWidget* parent) {
    QList<QPair<QString, QString>> rows = shortcuts;
    rows.append({QObject::tr("Plan table: edit the selected cells"), QObject::tr("F2 or double-click")});
    rows.append({QObject::tr("Model tree: filter modules"), QObject::tr("type in the filter box")});
    auto* table = new QTableWidget(int(rows.size()), 2);
    table->setObjectName(QStringLiteral("shortcutsTable"));
    table->setHorizontalHeaderLabels({QObject::tr("Action"), QObject::tr("Shortcut")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    for (int row = 0; row < int(rows.size()); ++row) {
        table->setItem(row, 0, new QTableWidgetItem(rows[row].first));
        table->setItem(row, 1, new QTableWidgetItem(rows[row].second));
    }
    QDialog* dialog = makeDialog(QStringLiteral("shortcutsDialog"), QObject::tr("Keyboard shortcuts"), table, parent);
    dialog->resize(460, 520);
    return dialog;
}

QDialog* createGettingStartedDialog(QWidget* parent) {
    auto* label = new QLabel(gettingStartedHtml());
    label->setWordWrap(true);
    label->setTextFormat(Qt::RichText);
    QDialog* dialog = makeDialog(QStringLiteral("gettingStartedDialog"), QObject::tr("Getting started"), label, parent);
    dialog->resize(560, 360);
    return dialog;
}

}  // namespace qb::ui
