#include "ui/jobs/interrupted_quantize.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <QDateTime>
#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#include <QUuid>

#include "core/quant/resume_state.h"

namespace qb::ui {

namespace {

constexpr const char* kGroup = "interruptedQuantize";

// A live process other than this one owns the state folder (a second workbench's job).
bool ownedByAnotherLiveProcess(const std::filesystem::path& folder) {
    std::ifstream in(folder / "owner.pid");
    long pid = 0;
    if (!(in >> pid) || pid <= 0 || pid == long(::getpid())) return false;
    return ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

InterruptedQuantize newQuantizeRecord(const QString& modelDir) {
    InterruptedQuantize job;
    // Sortable by time, unique within it.
    job.id = QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMddHHmmsszzz")) + QLatin1Char('-') +
             QUuid::createUuid().toString(QUuid::Id128).left(8);
    const QString base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/quantize-state");
    QDir().mkpath(base);
    job.stateFolder = QString::fromStdString(core::QuantizeResumeState::folderFor((base + QLatin1Char('/') + job.id).toStdString()).string());
    job.modelDir = modelDir;
    return job;
}

void rememberQuantize(const InterruptedQuantize& job) {
    QSettings s;
    s.beginGroup(QLatin1String(kGroup));
    s.beginGroup(job.id);
    s.setValue("stateFolder", job.stateFolder);
    s.setValue("modelDir", job.modelDir);
    s.setValue("planJson", job.planJson);
    s.setValue("scheme", job.scheme);
    s.setValue("layers", job.layers);
    s.setValue("calibration/text", QString::fromStdString(job.calibration.textFile.string()));
    s.setValue("calibration/windows", job.calibration.windows);
    s.setValue("calibration/ctx", job.calibration.ctx);
    s.setValue("calibration/seed", QString::number(job.calibration.seed));
    s.setValue("evaluation/text", QString::fromStdString(job.evaluation.textFile.string()));
    s.setValue("evaluation/ctx", job.evaluation.ctx);
    s.setValue("evaluation/maxWindows", job.evaluation.maxWindows ? *job.evaluation.maxWindows : 0);
    s.sync();  // the record must be on disk before the job can be killed
}

void forgetQuantize(const QString& id) {
    QSettings s;
    s.beginGroup(QLatin1String(kGroup));
    const QString folder = s.value(id + QStringLiteral("/stateFolder")).toString();
    s.remove(id);
    s.sync();
    if (!folder.isEmpty()) {
        std::error_code ec;
        std::filesystem::remove_all(folder.toStdString(), ec);
    }
}

QList<InterruptedQuantize> pendingInterruptedQuantizes() {
    QList<InterruptedQuantize> pending;
    QStringList stale;
    {
        QSettings s;
        s.beginGroup(QLatin1String(kGroup));
        QStringList ids = s.childGroups();
        ids.sort();
        for (const QString& id : ids) {
            s.beginGroup(id);
            InterruptedQuantize job;
            job.id = id;
            job.stateFolder = s.value("stateFolder").toString();
            job.modelDir = s.value("modelDir").toString();
            job.planJson = s.value("planJson").toString();
            job.scheme = s.value("scheme").toString();
            job.layers = s.value("layers").toInt();
            job.calibration.textFile = s.value("calibration/text").toString().toStdString();
            job.calibration.windows = s.value("calibration/windows").toInt();
            job.calibration.ctx = s.value("calibration/ctx").toInt();
            job.calibration.seed = s.value("calibration/seed").toString().toULongLong();
            job.evaluation.textFile = s.value("evaluation/text").toString().toStdString();
            job.evaluation.ctx = s.value("evaluation/ctx").toInt();
            const int maxWindows = s.value("evaluation/maxWindows").toInt();
            job.evaluation.maxWindows = maxWindows > 0 ? std::optional<int>(maxWindows) : std::nullopt;
            s.endGroup();
            const std::filesystem::path folder = job.stateFolder.toStdString();
            if (ownedByAnotherLiveProcess(folder)) continue;  // running elsewhere: neither offered nor dropped
            job.layersDone = core::QuantizeResumeState::completeLayers(folder);
            if (job.layersDone > 0 && !job.modelDir.isEmpty()) pending.push_back(job);
            else stale.push_back(id);
        }
    }
    for (const QString& id : stale) forgetQuantize(id);
    return pending;
}

}  // namespace qb::ui
