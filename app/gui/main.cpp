// quantbench — the desktop workbench. Composition root: register the GPU backends, parse the
// command line (quantbench [--demo] [--screenshot FILE] [MODEL_DIR | SESSION.h5]) and open the window.

#include <cstdio>

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QPixmap>
#include <QTimer>

#include "app/common/gpu_registration.h"
#include "app/common/huge_page_malloc.h"
#include "ui/jobs/job.h"
#include "ui/main_window.h"
#include "ui/util/app_paths.h"
#include "ui/views/resume_offer_dialog.h"
#include "ui/views/log_view.h"
#include "ui/workbench_controller.h"

namespace {

/// True when Qt can reach a display (or the user chose a platform plugin explicitly).
bool displayAvailable() {
    return qEnvironmentVariableIsSet("QT_QPA_PLATFORM") || qEnvironmentVariableIsSet("DISPLAY") ||
           qEnvironmentVariableIsSet("WAYLAND_DISPLAY");
}

}  // namespace

int main(int argc, char** argv) {
    qb::app::reexecWithHugePageMalloc(argv);  // first: it may replace the process (BENCHMARKS.md, "Huge pages for malloc")
    if (!displayAvailable()) {
        std::fprintf(stderr, "error: no display (set DISPLAY, or run under xvfb-run, or use quantbench-cli)\n");
        return 1;
    }
    QGuiApplication::setHighDpiScaleFactorRoundingPolicy(Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("quantbench"));
    QApplication::setApplicationName(QStringLiteral("quantbench"));
    QApplication::setApplicationVersion(QStringLiteral(QB_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("org.quantbench.Quantbench"));  // installer/org.quantbench.Quantbench.desktop

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Post-training quantization workbench for large language models"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Open the bundled demo model (stories260K)."));
    parser.addOption(demo);
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Open the model (or --demo), save the window as a PNG to FILE once it has loaded, and quit "
                       "(exit 1 when the model failed to open): a smoke test of an installation."),
        QStringLiteral("FILE"));
    parser.addOption(screenshot);
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("A model folder (config.json + *.safetensors) or a session file (.h5)."),
                                 QStringLiteral("[MODEL_DIR | SESSION.h5]"));
    parser.process(app);

    // The installed icon theme's (share/icons/hicolor), else the resources folder's copy.
    const QString iconFile = qb::ui::resourcesDir() + QStringLiteral("/icons/quantbench.svg");
    QApplication::setWindowIcon(QIcon::fromTheme(QStringLiteral("quantbench"), QIcon(iconFile)));

    const std::string gpuLine = qb::app::registerGpuBackends();
    qb::ui::WorkbenchController controller;
    qb::ui::MainWindow window(&controller);
    window.show();
    window.logView()->appendLine(QString::fromStdString(gpuLine));

    const QStringList args = parser.positionalArguments();
    if (parser.isSet(screenshot)) {
        const QString file = parser.value(screenshot);
        QTimer::singleShot(0, &controller, [&, file] {
            qb::ui::Job* job = !args.isEmpty() ? controller.openPath(args.first()) : controller.openDemoModel();
            if (!job) {
                std::fprintf(stderr, "error: --screenshot: nothing to open (give a model folder or --demo)\n");
                QApplication::exit(1);
                return;
            }
            QObject::connect(job, &qb::ui::Job::finished, &window, [&window, file](qb::ui::JobState state) {
                // One more turn of the event loop so the views have drawn the loaded model.
                QTimer::singleShot(200, &window, [&window, file, state] {
                    const bool saved = window.grab().save(file, "PNG");
                    if (!saved) std::fprintf(stderr, "error: %s: cannot write the screenshot\n", qPrintable(file));
                    QApplication::exit(saved && state == qb::ui::JobState::Succeeded ? 0 : 1);
                });
            });
        });
        return QApplication::exec();
    }
    QTimer::singleShot(0, &controller, [&] {
        if (window.offerRecovery()) return;  // unsaved work of a session that did not end cleanly comes first
        if (qb::ui::offerInterruptedQuantize(controller, &window)) return;  // then a Quantize job it left
        if (!args.isEmpty()) controller.openPath(args.first());
        else if (parser.isSet(demo)) controller.openDemoModel();
    });
    return QApplication::exec();
}
