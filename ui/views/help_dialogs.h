#pragma once
// Help: the "Getting started" steps (the start screen and Help ▸ Getting Started show the same
// text) and the keyboard shortcuts, read from the menu bar's actions so the list can never
// disagree with what the keys do. Dialogs are non-modal (show(), never exec()).

#include <QList>
#include <QPair>
#include <QString>

class QDialog;
class QMenuBar;
class QWidget;

namespace qb::ui {

/// Five steps from opening a model to comparing runs, as rich text (an ordered list).
[[nodiscard]] QString gettingStartedHtml();

/// (action, shortcut) of every menu action that has a shortcut, in menu order: ("Quantize with
/// Plan", "F5"). Texts lose their '&' mnemonics and trailing "…"; several shortcuts join with ", ".
[[nodiscard]] QList<QPair<QString, QString>> menuShortcuts(const QMenuBar* menuBar);

/// A non-modal dialog (objectName "shortcutsDialog", deleted on close) listing shortcuts in a
/// table (objectName "shortcutsTable"), plus the keys of the views that are not menu actions.
[[nodiscard]] QDialog* createShortcutsDialog(const QList<QPair<QString, QString>>& shortcuts, QWidget* parent);

/// A non-modal dialog (objectName "gettingStartedDialog") showing gettingStartedHtml().
[[nodiscard]] QDialog* createGettingStartedDialog(QWidget* parent);

}  // namespace qb::ui
