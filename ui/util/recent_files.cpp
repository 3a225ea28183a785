#include "ui/util/recent_files.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace qb::ui {

namespace {
const QString kKey = QStringLiteral("recentFiles");
}

RecentFiles::RecentFiles(QObject* parent) : QObject(parent) {}

QStringList RecentFiles::entries() const {
    QStringList list = QSettings().value(kKey).toStringList();
    list.erase(std::remove_if(list.begin(), list.end(), [](const QString& p) { return !QFileInfo::exists(p); }), list.end());
    return list;
}

void RecentFiles::add(const QString& path) {
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    QStringList list = QSettings().value(kKey).toStringList();
    list.removeAll(clean);
    list.prepend(clean);
    while (list.size() > kMaxEntries) list.removeLast();
    QSettings().setValue(kKey, list);
    emit changed();
}

void RecentFiles::clear() {
    QSettings().remove(kKey);
    emit changed();
}

}  // namespace qb::ui
