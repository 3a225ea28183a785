// quantbench-screenshots — drives the real window through a session and saves the pictures of
// docs/screenshots/ (run under Xvfb: xvfb-run -a -s "-screen 0 1600x1000x24" quantbench-screenshots [OUT_DIR]):
//   outliers.png  the Outliers view of the outlier-injected equivalent model (the planted channel framed)
//   overview.png  the layers × modules overview of that model
//   jobs.png      the Jobs dock after an OmniQuant run: each layer's training loss per epoch beside the table
//   plan.png      the plan editor holding a mixed plan
//   results.png   runs against the FP16 and F32 baselines: perplexity with Δ%, Pareto, decode ms/token and
//                 prefill tokens/s against FP16 (Benchmark job), per-module error
//   compare.png   two runs side by side
//   results-kld.png  KL divergence from FP16 and top-1 agreement of every run, and the per-token KLD
//                 strip of the last run over window 2
// With --dark (before OUT_DIR) the same pictures are taken with a dark palette, named *-dark.png,
// to check that every view follows the desktop palette.

#include <cstdio>
#include <deque>
#include <functional>

#include <QApplication>
#include <QDir>
#include <QPalette>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTabWidget>
#include <QTimer>

#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/outliers_view.h"
#include "ui/views/kld_panel.h"
#include "ui/views/overview_view.h"
#include "ui/views/optimize_bar.h"
#include "ui/views/plan_view.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {

constexpr int kLayer = 2, kChannel = 17;
constexpr float kFactor = 40.0f;

/// Runs steps one after another; a step may return a job, and the next step waits for it.
class Script : public QObject {
public:
    using Step = std::function<ui::Job*()>;
    void add(Step step) { m_steps.push_back(std::move(step)); }
    void start() { QTimer::singleShot(0, this, [this] { next(); }); }
    int failures = 0;

private:
    void next() {
        if (m_steps.empty()) {
            QApplication::exit(failures == 0 ? 0 : 1);
            return;
        }
        Step step = std::move(m_steps.front());
        m_steps.pop_front();
        ui::Job* job = step();
        if (!job) {
            QTimer::singleShot(400, this, [this] { next(); });
            return;
        }
        connect(job, &ui::Job::finished, this, [this, job](ui::JobState state) {
            if (state != ui::JobState::Succeeded) {
                std::fprintf(stderr, "job %s: %s\n", qPrintable(job->title()), qPrintable(job->errorMessage()));
                ++failures;
            }
            QTimer::singleShot(400, this, [this] { next(); });
        });
    }
    std::deque<Step> m_steps;
};

core::QuantScheme scheme(core::QuantMethod method, int bits, std::optional<int> group) {
    core::QuantScheme s;
    s.method = method;
    s.grid = {bits, group, false};
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("quantbench-screenshots"));
    QStringList args = QApplication::arguments().mid(1);
    const bool dark = args.removeAll(QStringLiteral("--dark")) > 0;
    const QString outDir = args.isEmpty() ? QStringLiteral(QB_SCREENSHOT_DIR) : args.first();
    const QString suffix = dark ? QStringLiteral("-dark.png") : QStringLiteral(".png");
    if (dark) {
        QApplication::setStyle(QStringLiteral("Fusion"));
        QPalette p;
        p.setColor(QPalette::Window, QColor(45, 45, 48));
        p.setColor(QPalette::WindowText, QColor(220, 220, 220));
        p.setColor(QPalette::Base, QColor(30, 30, 32));
        p.setColor(QPalette::AlternateBase, QColor(40, 40, 44));
        p.setColor(QPalette::Text, QColor(220, 220, 220));
        p.setColor(QPalette::Button, QColor(55, 55, 60));
        p.setColor(QPalette::ButtonText, QColor(220, 220, 220));
        p.setColor(QPalette::Highlight, QColor(42, 130, 218));
        p.setColor(QPalette::HighlightedText, Qt::white);
        QApplication::setPalette(p);
    }
    QDir().mkpath(outDir);

    ui::WorkbenchController controller;
    controller.calibrationSettings().windows = 16;
    controller.calibrationSettings().ctx = 256;
    controller.evaluateSettings().ctx = 256;
    controller.evaluateSettings().maxWindows = 32;
    ui::MainWindow window(&controller);
    window.setGeometry(0, 0, 1600, 1000);
    window.show();
    ui::Workspace* ws = controller.workspace();
    ui::PlanDocument* plan = ws->plan();

    Script script;
    const auto shoot = [&](const QString& name) {
        return [&, name]() -> ui::Job* {
            const QString file = outDir + QLatin1Char('/') + QString(name).replace(QStringLiteral(".png"), suffix);
            const bool ok = window.grab().save(file);
            std::printf("%s %s\n", ok ? "wrote" : "FAILED", qPrintable(file));
            if (!ok) ++script.failures;
            return nullptr;
        };
    };
    const auto quantize = [&](std::vector<core::QuantScheme> schemes, const QString& text) {
        return [&, schemes, text]() -> ui::Job* {
            plan->replaceSchemes(schemes, text);
            return controller.quantizeWithPlan();
        };
    };
    const auto all = [&](const core::QuantScheme& s) { return std::vector<core::QuantScheme>(35, s); };

    // 1. The outlier-injected equivalent model: outliers and overview.
    script.add([&]() -> ui::Job* {
        controller.showModel(ui::wrapModel(test::outlierInjectedModel(kLayer, kChannel, kFactor), test::bundledModelDir(),
                                           "stories260K, channel 17 of layer 2 ×40 (equivalent)"));
        return controller.inspect();
    });
    script.add([&]() -> ui::Job* {
        ws->setCurrentModule(QString::fromStdString(core::moduleName(kLayer, core::ModuleKind::Q)));
        window.tabs()->setCurrentWidget(window.outliersView());
        return nullptr;
    });
    script.add(shoot(QStringLiteral("outliers.png")));
    script.add([&]() -> ui::Job* {
        window.tabs()->setCurrentWidget(window.overviewView());
        window.overviewView()->setStatistic(ui::OverviewView::Statistic::OutlierRatio);
        return nullptr;
    });
    script.add(shoot(QStringLiteral("overview.png")));

    // 2. The bundled model: a mixed plan, then runs against the baseline.
    script.add([&] { return controller.openDemoModel(); });
    script.add([&] { return controller.inspect(); });
    script.add([&] { return controller.evaluateBaseline(); });
    script.add(quantize(all(scheme(core::QuantMethod::Rtn, 4, 128)), QStringLiteral("Preset: All W4 g128 RTN")));
    script.add(quantize(all(scheme(core::QuantMethod::Gptq, 4, 128)), QStringLiteral("Preset: All W4 g128 GPTQ")));
    script.add(quantize(all(scheme(core::QuantMethod::Rtn, 3, 32)), QStringLiteral("All W3 g32 RTN")));
    script.add(quantize(all(scheme(core::QuantMethod::W8A8, 8, std::nullopt)), QStringLiteral("All W8A8")));
    script.add(quantize(all(scheme(core::QuantMethod::OmniQuant, 3, 32)), QStringLiteral("All W3 g32 OmniQuant")));
    script.add(shoot(QStringLiteral("jobs.png")));
    script.add([&]() -> ui::Job* {
        window.tabs()->setCurrentWidget(window.planView());
        window.planView()->applyPreset(ui::PlanPreset::W4G128Gptq);
        window.planView()->protectSensitive(3);
        for (int layer : {0, 4})
            if (!plan->setField(layer * 7 + 6, ui::PlanField::Method, QStringLiteral("fp16"))) {
                std::fprintf(stderr, "the plan refused fp16 for layer %d's down_proj\n", layer);
                ++script.failures;
            }
        plan->setFieldForRows({8, 9, 10}, ui::PlanField::GroupSize, 32);
        plan->setFieldForRows({8, 9, 10, 22, 23, 24}, ui::PlanField::ActOrder, true);
        plan->setField(12, ui::PlanField::Bits, 3);
        plan->setField(15, ui::PlanField::Bits, 6);  // a 6-bit module (issue 15's widths)
        window.planView()->optimizeBar()->setTarget(0.25, ui::OptimizeBar::Unit::KldNats);  // shown, not run
        window.planView()->table()->selectRow(8);
        return nullptr;
    });
    script.add(shoot(QStringLiteral("plan.png")));
    script.add([&] { return controller.quantizeWithPlan(); });
    script.add([&] { return controller.benchmarkRuns(); });
    script.add([&]() -> ui::Job* {
        window.tabs()->setCurrentWidget(window.resultsView());
        return nullptr;
    });
    script.add(shoot(QStringLiteral("results.png")));
    script.add([&]() -> ui::Job* {
        const auto& runs = ws->runs();
        window.resultsView()->compareRuns(runs[2]->id, runs.back()->id);
        window.resultsView()->findChild<QTabWidget*>()->setCurrentIndex(1);
        return nullptr;
    });
    script.add(shoot(QStringLiteral("compare.png")));
    script.add([&]() -> ui::Job* {
        auto* panel = window.resultsView()->kldPanel();
        window.resultsView()->findChild<QTabWidget*>()->setCurrentWidget(panel);
        panel->stripWindow()->setValue(2);
        return nullptr;
    });
    script.add(shoot(QStringLiteral("results-kld.png")));
    script.start();
    return QApplication::exec();
}
