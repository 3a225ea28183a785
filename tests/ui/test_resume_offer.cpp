// The start-up offer to resume a Quantize job a crashed workbench left (issue 17): the job is
// found through its QSettings record and state folder, the dialog describes it, Resume adds the
// run an uninterrupted job gives (same perplexity to the last bit), Discard deletes the state.
#include <QtTest>
#include <QtWidgets>

#include <filesystem>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/quant/pipeline.h"
#include "core/quant/resume_state.h"
#include "support/test_support.h"
#include "ui/jobs/interrupted_quantize.h"
#include "ui/jobs/job_queue.h"
#include "ui/jobs/text_source.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/views/resume_offer_dialog.h"
#include "ui/workbench_controller.h"
#include "ui_test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

const char* const kPlan = R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})";

// Requests a stop once layer stopAfter is durable: the moment a crash would come.
class StopAfterLayer final : public core::LayerJournal {
public:
    StopAfterLayer(core::LayerJournal& inner, const core::RunContext& ctx, int stopAfter) : m_inner(inner), m_ctx(ctx), m_stopAfter(stopAfter) {}
    std::optional<core::PartialQuantization> restore(const core::LlamaModel& model, const core::QuantPlan& plan, bool withLayers) override {
        return m_inner.restore(model, plan, withLayers);
    }
    void layerDone(const core::DecoderLayer& layer, const std::vector<core::ModuleReport>& modules, double seconds,
                   const core::MatrixRM& hidden, const core::MatrixRM& fpHidden) override {
        m_inner.layerDone(layer, modules, seconds, hidden, fpHidden);
        if (layer.index == m_stopAfter) m_ctx.requestStop();
    }

private:
    core::LayerJournal& m_inner;
    const core::RunContext& m_ctx;
    int m_stopAfter;
};

}  // namespace

class TestResumeOffer : public QObject {
    Q_OBJECT

    std::unique_ptr<ui::WorkbenchController> m_controller;
    QStringList m_log;

    // What a workbench killed after layer stopAfter of a Quantize job leaves: the job's record
    // and a state folder written by the same fingerprint and journal the job uses.
    ui::InterruptedQuantize leaveInterruptedJob(int stopAfter) {
        const auto model = m_controller->workspace()->model();
        ui::InterruptedQuantize record = ui::newQuantizeRecord(QString::fromStdString(model->dir.string()));
        record.planJson = QString::fromStdString(core::QuantPlan::fromJsonText(kPlan, "plan").toJsonText());
        record.scheme = QStringLiteral("gptq w4 g32");
        record.calibration = m_controller->calibrationSettings();
        record.evaluation = m_controller->evaluateSettings();
        record.layers = model->model->config().numLayers;
        const auto plan = core::QuantPlan::fromJsonText(kPlan, "plan");
        const ui::TextSource text = ui::readTextSource(record.calibration.textFile);
        const auto calib = core::sampleCalibration(core::encodeDocuments(*model->tokenizer, text.text),
                                                   {record.calibration.windows, record.calibration.ctx, record.calibration.seed});
        const auto fingerprint = core::quantizeFingerprint(model->dir, plan, text.text, calib, record.calibration.seed, {},
                                                           core::BackendRegistry::instance().preferred()->name());
        auto state = core::QuantizeResumeState::startFresh(record.stateFolder.toStdString(), fingerprint);
        const core::RunContext ctx;
        StopAfterLayer hook(*state, ctx, stopAfter);
        core::QuantizeOptions options;
        options.journal = &hook;
        try {
            (void)core::quantizeModel(*model->model, plan, calib, ctx, options);
        } catch (const core::Cancelled&) {
        }
        ui::rememberQuantize(record);
        return record;
    }

    ui::Job* lastQuantizeJob() const {
        const auto& jobs = m_controller->jobs()->jobs();
        for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
            if ((*it)->kind() == ui::JobKind::Quantize) return *it;
        return nullptr;
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test-resume"));
        QSettings().remove(QStringLiteral("interruptedQuantize"));
        core::setThreadCount(1);
        m_controller = std::make_unique<ui::WorkbenchController>();
        connect(m_controller->jobs(), &ui::JobQueue::logged, this, [this](const QString& line) { m_log << line; });
        m_controller->calibrationSettings().windows = 8;
        m_controller->calibrationSettings().ctx = 128;
        m_controller->evaluateSettings().ctx = 128;
        m_controller->evaluateSettings().maxWindows = 4;
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_controller->workspace()->plan()->replaceSchemes(
            std::vector<core::QuantScheme>(35, core::QuantPlan::fromJsonText(kPlan, "plan").defaultScheme), QStringLiteral("gptq w4 g32"));
    }

    void aFinishedJobLeavesNothingToOffer() {
        QCOMPARE(test::waitForJob(m_controller->quantizeWithPlan()), ui::JobState::Succeeded);
        QVERIFY(ui::pendingInterruptedQuantizes().isEmpty());
        QVERIFY(QSettings().childGroups().contains(QStringLiteral("interruptedQuantize")) == false ||
                QSettings().value(QStringLiteral("interruptedQuantize")).isNull());
        const QString base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/quantize-state");
        QVERIFY(QDir(base).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).isEmpty());
    }

    void resumeAddsTheRunAnUninterruptedJobGives() {
        const auto& runs = m_controller->workspace()->runs();
        QVERIFY(!runs.empty());
        const auto uninterrupted = runs.back();  // aFinishedJobLeavesNothingToOffer's run
        const auto record = leaveInterruptedJob(1);

        const auto pending = ui::pendingInterruptedQuantizes();
        QCOMPARE(pending.size(), 1);
        QCOMPARE(pending.front().layersDone, 2);
        QString shown;
        ui::Job* load = ui::offerInterruptedQuantize(*m_controller, nullptr, [&](const ui::InterruptedQuantize& job) {
            ui::ResumeOfferDialog dialog(job);
            dialog.show();
            shown = dialog.text();
            // The picture of docs/screenshots/resume-offer.png.
            dialog.grab().save(QString::fromStdString((test::freshScratchDir("resume_offer") / "resume-offer.png").string()));
            QTest::mouseClick(dialog.resumeButton(), Qt::LeftButton);
            return dialog.choice();
        });
        QVERIFY2(shown.contains(QStringLiteral("2 of 5 layers")), qPrintable(shown));
        QVERIFY(shown.contains(QStringLiteral("gptq w4 g32")));
        QVERIFY(load);
        QCOMPARE(test::waitForJob(load), ui::JobState::Succeeded);
        ui::Job* job = lastQuantizeJob();
        QVERIFY(job && job->title().contains(QStringLiteral("resumed after layer 1 of 5")));
        QCOMPARE(test::waitForJob(job), ui::JobState::Succeeded);

        QVERIFY2(m_log.filter(QStringLiteral("resuming after layer 1 (2 of 5 layers were done)")).size() == 1, qPrintable(m_log.join('\n')));
        const auto resumed = m_controller->workspace()->runs().back();
        QVERIFY(resumed != uninterrupted);
        QCOMPARE(resumed->bitsPerWeight, uninterrupted->bitsPerWeight);
        QCOMPARE(resumed->perplexity->perplexity, uninterrupted->perplexity->perplexity);  // bit for bit, not within a tolerance
        QCOMPARE(resumed->modules.size(), uninterrupted->modules.size());
        for (std::size_t m = 0; m < resumed->modules.size(); ++m)
            QCOMPARE(resumed->modules[m].relativeError, uninterrupted->modules[m].relativeError);
        QVERIFY(ui::pendingInterruptedQuantizes().isEmpty());
        QVERIFY(!fs::exists(record.stateFolder.toStdString()));
    }

    void discardDeletesTheKeptLayers() {
        const auto record = leaveInterruptedJob(2);
        QVERIFY(fs::exists(record.stateFolder.toStdString()));
        const auto jobsBefore = m_controller->jobs()->jobs().size();
        ui::Job* job = ui::offerInterruptedQuantize(*m_controller, nullptr, [](const ui::InterruptedQuantize& job) {
            ui::ResumeOfferDialog dialog(job);
            dialog.show();
            QTest::mouseClick(dialog.discardButton(), Qt::LeftButton);
            return dialog.choice();
        });
        QVERIFY(!job);
        QCOMPARE(m_controller->jobs()->jobs().size(), jobsBefore);
        QVERIFY(ui::pendingInterruptedQuantizes().isEmpty());
        QVERIFY(!fs::exists(record.stateFolder.toStdString()));
    }

    void laterKeepsTheOfferForTheNextStart() {
        const auto record = leaveInterruptedJob(0);
        QVERIFY(!ui::offerInterruptedQuantize(*m_controller, nullptr, [](const ui::InterruptedQuantize&) { return ui::ResumeChoice::Later; }));
        const auto pending = ui::pendingInterruptedQuantizes();
        QCOMPARE(pending.size(), 1);
        QCOMPARE(pending.front().layersDone, 1);
        ui::forgetQuantize(record.id);
    }

    void cleanupTestCase() {
        m_controller->jobs()->cancelAll();
        m_controller->jobs()->waitForIdle();
        QSettings().remove(QStringLiteral("interruptedQuantize"));
    }
};

QTEST_MAIN(TestResumeOffer)
#include "test_resume_offer.moc"
