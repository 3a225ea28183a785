#include "ui/util/app_paths.h"

#include <QDir>
#include <QStandardPaths>

#include "core/util/resource_paths.h"

namespace qb::ui {

QString resourcesDir() {
    const auto dir = core::bundledResourcesDir();  // one lookup for the GUI and the CLI
    return dir ? QString::fromStdString(dir->string()) : QString();
}

QString bundledModelDir() {
    const QString dir = resourcesDir();
    return dir.isEmpty() ? QString() : dir + QStringLiteral("/models/stories260K");
}

QString bundledText(const QString& name) {
    const QString dir = resourcesDir();
    return dir.isEmpty() ? QString() : dir + QStringLiteral("/data/tinystories/") + name;
}

QString recoveryFile() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("recovery.h5"));
}

}  // namespace qb::ui
