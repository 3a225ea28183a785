// quantbench-cli quantize --resume as a user runs it: an interrupted run continued from its
// state folder writes the uninterrupted run's checkpoint bytes; a changed run is refused in
// one line; a run without --resume removes a stale state and says so.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/cli_process.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

using test::CliRun;
using test::readBytes;
using test::runCli;

QString path(const fs::path& p) { return QString::fromStdString(p.string()); }

// quantize on the bundled model: 16 windows of 128 tokens on one thread (fast, and no OpenMP
// spinning on a loaded machine), plan and output given.
QStringList quantizeArgs(const fs::path& plan, const fs::path& out) {
    return {"quantize", "--model", path(test::bundledModelDir()), "--plan", path(plan), "--calib", path(test::bundledText("calib.txt")),
            "--calib-windows", "16", "--calib-ctx", "128", "--threads", "1", "--quiet", "--out", path(out)};
}

fs::path writePlan(const fs::path& dir, const std::string& name, const std::string& json) {
    const fs::path p = dir / name;
    std::ofstream(p) << json;
    return p;
}

// quantize stopped (as by Ctrl-C) once layer k is durable: the test-only hook of cmd_quantize.
CliRun quantizeStoppedAfter(int k, const QStringList& args) {
    qputenv("QB_TEST_STOP_AFTER_LAYER", QByteArray::number(k));
    CliRun r = runCli(args);
    qunsetenv("QB_TEST_STOP_AFTER_LAYER");
    return r;
}

nlohmann::json reportWithoutTimes(const fs::path& file) {
    auto j = nlohmann::json::parse(readBytes(file));
    j.erase("seconds");
    for (auto& m : j["modules"]) m.erase("seconds");
    return j;
}

}  // namespace

class TestCliResume : public QObject {
    Q_OBJECT

private slots:
    void aResumedQuantizeWritesTheBytesOfAnUninterruptedOne_data() {
        QTest::addColumn<QString>("plan");
        QTest::addColumn<int>("stopAfter");
        QTest::newRow("rtn w4 g32, after layer 1") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})" << 1;
        QTest::newRow("gptq w4 g32, after layer 3") << R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})" << 3;
    }
    void aResumedQuantizeWritesTheBytesOfAnUninterruptedOne() {
        QFETCH(QString, plan);
        QFETCH(int, stopAfter);
        const fs::path dir = test::freshScratchDir("cli_resume");
        const fs::path planFile = writePlan(dir, "plan.json", plan.toStdString());
        const CliRun full = runCli(quantizeArgs(planFile, dir / "full"));
        QVERIFY2(full.exitCode == 0, full.err.constData());

        const CliRun stopped = quantizeStoppedAfter(stopAfter, quantizeArgs(planFile, dir / "resumed"));
        QCOMPARE(stopped.exitCode, 1);
        const std::string state = (dir / "resumed.quantize-state").string();
        QCOMPARE(stopped.err.toStdString(), "note: " + std::to_string(stopAfter + 1) + " of 5 layers are kept in " + state +
                                                "; quantize --resume with the same arguments continues\nerror: cancelled\n");
        QVERIFY(!fs::exists(dir / "resumed"));

        const CliRun resumed = runCli(quantizeArgs(planFile, dir / "resumed") << "--resume");
        QVERIFY2(resumed.exitCode == 0, resumed.err.constData());
        for (const char* f : {"model.safetensors", "config.json", "quantize_config.json", "tokenizer.model"}) {
            const std::string a = readBytes(dir / "full" / f);
            QVERIFY2(!a.empty() && a == readBytes(dir / "resumed" / f), f);
        }
        QCOMPARE(reportWithoutTimes(dir / "resumed" / "quantbench_report.json"), reportWithoutTimes(dir / "full" / "quantbench_report.json"));
        QVERIFY2(!fs::exists(state), "a finished run leaves no state");
    }

    void aChangedPlanIsRefusedInOneLine() {
        const fs::path dir = test::freshScratchDir("cli_resume_refused");
        const fs::path w4 = writePlan(dir, "w4.json", R"({"default": {"method": "rtn", "bits": 4}})");
        const fs::path w3 = writePlan(dir, "w3.json", R"({"default": {"method": "rtn", "bits": 3}})");
        QCOMPARE(quantizeStoppedAfter(0, quantizeArgs(w4, dir / "out")).exitCode, 1);
        const CliRun r = runCli(quantizeArgs(w3, dir / "out") << "--resume");
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.toStdString(), "error: cannot resume from " + (dir / "out.quantize-state").string() +
                                          ": the plan changed since the interrupted run (run without --resume to start again)\n");
        QVERIFY(fs::exists(dir / "out.quantize-state" / "layer-00000.safetensors"));  // the refusal keeps the state
    }

    void withoutResumeAStaleStateIsRemovedAndSaidSo() {
        const fs::path dir = test::freshScratchDir("cli_resume_fresh");
        const fs::path plan = writePlan(dir, "plan.json", R"({"default": {"method": "rtn", "bits": 4}})");
        QCOMPARE(quantizeStoppedAfter(2, quantizeArgs(plan, dir / "out")).exitCode, 1);
        const CliRun r = runCli(quantizeArgs(plan, dir / "out"));
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err.toStdString(), "note: removed the state of an interrupted run (3 layers) in " + (dir / "out.quantize-state").string() +
                                          "; starting from layer 0 (quantize --resume continues such a run)\n");
        QVERIFY(fs::exists(dir / "out" / "model.safetensors"));
        QVERIFY(!fs::exists(dir / "out.quantize-state"));
    }

    void aResumeAfterTheStateWasRemovedFindsTheRunDone() {
        // A kill between the state's removal and the exit leaves the finished output and no
        // state: --resume recognises its own run by the fingerprint in quantbench_report.json.
        const fs::path dir = test::freshScratchDir("cli_resume_written");
        const fs::path plan = writePlan(dir, "plan.json", R"({"default": {"method": "rtn", "bits": 4}})");
        QCOMPARE(runCli(quantizeArgs(plan, dir / "out")).exitCode, 0);
        QVERIFY(!fs::exists(dir / "out.quantize-state"));
        const std::string before = readBytes(dir / "out" / "model.safetensors");
        const CliRun again = runCli(quantizeArgs(plan, dir / "out") << "--resume");
        QCOMPARE(again.exitCode, 0);
        QCOMPARE(again.err.toStdString(), "note: " + (dir / "out").string() +
                                              " was written by this run before the interruption (nothing to resume; --eval, --session and --export did not run)\n");
        QVERIFY(readBytes(dir / "out" / "model.safetensors") == before);

        // Another run's output is refused as before.
        const fs::path w3 = writePlan(dir, "w3.json", R"({"default": {"method": "rtn", "bits": 3}})");
        const CliRun other = runCli(quantizeArgs(w3, dir / "out") << "--resume");
        QCOMPARE(other.exitCode, 1);
        QCOMPARE(other.err.toStdString(), "error: " + (dir / "out").string() +
                                              ": already exists and is not an empty folder (choose another --out or remove it)\n");
    }
};

QTEST_GUILESS_MAIN(TestCliResume)
#include "test_cli_resume.moc"
