// quantbench — the desktop workbench. Composition root: register the GPU backends, parse the
// command line (quantbench [--demo] [MODEL_DIR | SESSION.h5]) and open the window.

#include <cstdio>

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "app/common/gpu_registration.h"
#include "ui/main_window.h"
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
    if (!displayAvailable()) {
        std::fprintf(stderr, "error: no display (set DISPLAY, or run under xvfb-run, or use quantbench-cli)\n");
        return 1;
    }
    QGuiApplication::setHighDpiScaleFactorRoundingPolicy(Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("quantbench"));
    QApplication::setApplicationName(QStringLiteral("quantbench"));
    QApplication::setApplicationVersion(QStringLiteral(QB_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("quantbench"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Post-training quantization workbench for large language models"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Open the bundled demo model (stories260K)."));
    parser.addOption(demo);
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("A model folder (config.json + *.safetensors) or a session file (.h5)."),
                                 QStringLiteral("[MODEL_DIR | SESSION.h5]"));
    parser.process(app);

    const std::string gpuLine = qb::app::registerGpuBackends();
    qb::ui::WorkbenchController controller;
    qb::ui::MainWindow window(&controller);
    window.show();
    window.logView()->appendLine(QString::fromStdString(gpuLine));

    const QStringList args = parser.positionalArguments();
    QTimer::singleShot(0, &controller, [&] {
        if (window.offerRecovery()) return;  // unsaved work of a session that did not end cleanly comes first
        if (qb::ui::offerInterruptedQuantize(controller, &window)) return;  // then a Quantize job it left
        if (!args.isEmpty()) controller.openPath(args.first());
        else if (parser.isSet(demo)) controller.openDemoModel();
    });
    return QApplication::exec();
}
