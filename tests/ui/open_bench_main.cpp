// quantbench-open-bench — how the workbench behaves on a large checkpoint (BENCHMARKS.md):
//   1. the time from "open this folder" until the model tree is filled (the Load job's result
//      applied on the GUI thread);
//   2. the GUI thread's responsiveness while a long job runs on a worker: a 10 ms timer on
//      the GUI thread records how late each tick fires; the largest lateness is the longest
//      stall a user would feel.
// Runs the real MainWindow (offscreen is fine: QT_QPA_PLATFORM=offscreen).
//   quantbench-open-bench MODEL_DIR [CALIB_WINDOWS=2] [CALIB_CTX=256] [TIMEOUT_S=600]
// The job measured in 2. is Inspect on CALIB_WINDOWS × CALIB_CTX tokens of the bundled calib.txt.

#include <cstdio>
#include <cstdlib>

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include "support/test_support.h"
#include "ui/jobs/job.h"
#include "ui/main_window.h"
#include "ui/models/workspace.h"
#include "ui/workbench_controller.h"

using namespace qb;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: quantbench-open-bench MODEL_DIR [CALIB_WINDOWS] [CALIB_CTX] [TIMEOUT_S]\n");
        return 2;
    }
    QApplication app(argc, argv);
    const QString dir = QString::fromLocal8Bit(argv[1]);
    const int windows = argc > 2 ? std::atoi(argv[2]) : 2;
    const int ctx = argc > 3 ? std::atoi(argv[3]) : 256;
    const int timeoutS = argc > 4 ? std::atoi(argv[4]) : 600;

    ui::WorkbenchController controller;
    ui::MainWindow window(&controller);
    window.resize(1400, 900);
    window.show();
    controller.calibrationSettings().textFile = test::bundledText("calib.txt");
    controller.calibrationSettings().windows = windows;
    controller.calibrationSettings().ctx = ctx;

    QElapsedTimer clock;
    QTimer probe;
    qint64 lastTick = 0, maxLateMs = 0, ticks = 0;
    probe.setInterval(10);
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const qint64 now = clock.elapsed();
        if (ticks > 0) maxLateMs = std::max(maxLateMs, now - lastTick - 10);
        lastTick = now;
        ++ticks;
    });
    int status = 0;
    QObject::connect(&controller, &ui::WorkbenchController::errorOccurred, [&](const QString& title, const QString& message) {
        std::fprintf(stderr, "error: %s: %s\n", qPrintable(title), qPrintable(message));
        status = 1;
        QApplication::exit(1);
    });

    bool opened = false;
    QObject::connect(controller.workspace(), &ui::Workspace::modelChanged, [&] {
        if (!controller.workspace()->model() || opened) return;
        opened = true;
        const double openS = double(clock.nsecsElapsed()) * 1e-9;
        std::printf("model tree shown   %.2f s after the open (%zu modules, stall max %lld ms during the load)\n", openS,
                    controller.workspace()->model()->modules.size(), maxLateMs);
        std::fflush(stdout);
        QTimer::singleShot(0, [&] {
            ui::Job* job = controller.inspect();
            if (!job) {
                std::fprintf(stderr, "error: inspect was not queued\n");
                QApplication::exit(1);
                return;
            }
            maxLateMs = 0;
            ticks = 0;
            const qint64 start = clock.elapsed();
            QTimer::singleShot(timeoutS * 1000, job, [job] { job->cancel(); });
            QObject::connect(job, &ui::Job::finished, [&, start](ui::JobState state) {
                const double s = double(clock.elapsed() - start) * 1e-3;
                std::printf("inspect job        %s after %.1f s (%d windows x %d tokens)\n", qPrintable(ui::jobStateName(state)), s,
                            windows, ctx);
                std::printf("GUI thread         longest stall %lld ms over %lld ticks of a 10 ms timer\n", maxLateMs, ticks);
                std::fflush(stdout);
                QApplication::exit(status);
            });
        });
    });
    clock.start();
    probe.start();
    controller.openModelFolder(dir);
    return QApplication::exec();
}
