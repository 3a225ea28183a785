#include "ui/util/app_paths.h"

#include <QDir>
#include <QStandardPaths>

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace qb::ui {

namespace {
bool holdsResources(const QString& dir) { return !dir.isEmpty() && QFileInfo::exists(dir + QStringLiteral("/models")); }
}  // namespace

QString resourcesDir() {
    const QString fromEnv = qEnvironmentVariable("QB_RESOURCES_DIR");
    if (holdsResources(fromEnv)) return QDir::cleanPath(fromEnv);
    if (QCoreApplication::instance() != nullptr) {
        const QString installed = QDir::cleanPath(QCoreApplication::applicationDirPath() + QStringLiteral("/../share/quantbench"));
        if (holdsResources(installed)) return installed;
    }
#ifdef QB_UI_SOURCE_RESOURCES_DIR
    const QString source = QStringLiteral(QB_UI_SOURCE_RESOURCES_DIR);
    if (holdsResources(source)) return QDir::cleanPath(source);
#endif
    return {};
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
