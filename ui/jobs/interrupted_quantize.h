#pragma once
// Quantize jobs the workbench did not see end: each Quantize job is recorded in QSettings
// ("interruptedQuantize/<id>") with what it needs to run again and the folder of its durable
// per-layer state (core::QuantizeResumeState); the record and the folder are removed when the
// job ends in any way (done, failed, cancelled). A record left at the next start belongs to a
// workbench that crashed or was killed mid-job: the start offers to resume it
// (ResumeOfferDialog), which continues after the last layer the state holds.
//
// Discovery rule: a record counts when its state folder exists, holds at least one complete
// layer, and no live process owns it (owner.pid, so a second workbench's running job is left
// alone). Records without such a folder are dropped as they are read. GUI thread only.

#include <QList>
#include <QString>

#include "core/quant/plan.h"
#include "ui/jobs/core_jobs.h"

namespace qb::ui {

struct InterruptedQuantize {
    QString id;            ///< the record's key
    QString stateFolder;   ///< "<app data>/quantize-state/<id>.quantize-state"
    QString modelDir;      ///< the checkpoint folder the job quantized
    QString planJson;      ///< the plan (canonical JSON)
    QString scheme;        ///< the plan in short, for the run's name
    CalibrationSettings calibration;
    EvaluateSettings evaluation;
    int layers = 0;        ///< the model's decoder layers
    int layersDone = 0;    ///< complete layers in the state folder (filled by pendingInterruptedQuantizes)
};

/// A new record for a Quantize job of modelDir: a fresh id and its state folder under the
/// application data folder (made when missing). Not stored yet.
[[nodiscard]] InterruptedQuantize newQuantizeRecord(const QString& modelDir);

/// Stores job in QSettings (before the job starts).
void rememberQuantize(const InterruptedQuantize& job);
/// Removes the record and its state folder (the job ended, or the user discarded it).
void forgetQuantize(const QString& id);
/// The records that count (see the discovery rule above), oldest first; drops stale ones.
[[nodiscard]] QList<InterruptedQuantize> pendingInterruptedQuantizes();

}  // namespace qb::ui
