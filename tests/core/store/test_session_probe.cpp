// The session probe (issue 17): a child process reads a session file before quantbench does,
// so files that crash, hang or exhaust memory inside libhdf5 become one Error naming the file,
// and valid sessions still read as before.
#include <QtTest>

#include <H5Cpp.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/stats/weight_stats.h"
#include "core/store/session_probe.h"
#include "core/store/session_store.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;
namespace fs = std::filesystem;

namespace {

/// The libhdf5 findings of the session_store fuzz target (tests/fuzz/known/README.md).
const fs::path kFuzzInputs = fs::path(QB_FUZZ_DIR) / "regressions/session_store";

ProbeLimits shortLimits() {
    ProbeLimits limits;
    limits.timeout = std::chrono::milliseconds(2'000);
    limits.memoryBytes = 64ull << 20;
    return limits;
}

SessionData smallSession() {
    SessionData d;
    d.provenance.modelPath = "/models/stories260K";
    d.provenance.calibrationWindows = 4;
    d.provenance.calibrationCtx = 64;
    ModuleStats m;
    m.name = "model.layers.0.mlp.up_proj";
    m.outFeatures = 6;
    m.inFeatures = 4;
    m.weight = computeWeightStats(qb::test::randomMatrix(6, 4, 7, 0.1f), WeightStatsOptions{11});
    d.modules.push_back(m);
    d.plans.push_back({"w4", "{\"default\": {\"method\": \"rtn\", \"bits\": 4}}", "2025-02-01T00:00:00Z"});
    d.runs.push_back({"run-1", "w4", "{}", {{"perplexity", 12.5}}, {{m.name, 0.01}}, "2025-02-01T00:00:01Z", {}, {}, {}, {}, {}, {}});
    return d;
}

/// A copy of file under a name this process never wrote, so the next open probes it.
fs::path unwrittenCopy(const fs::path& file, const fs::path& folder, const std::string& name) {
    const fs::path copy = folder / name;
    fs::copy_file(file, copy, fs::copy_options::overwrite_existing);
    return copy;
}

QString messageOf(const fs::path& file) {
    try {
        (void)SessionStore::read(file);
    } catch (const Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TestSessionProbe : public QObject {
    Q_OBJECT
private slots:
    // ---- the child process and its verdicts ----

    void aBodyThatReturnsIsFinished() {
        QCOMPARE(runInChildProcess([] {}, shortLimits()).verdict, ProbeVerdict::Finished);
    }

    void aBodyThatThrowsErrorIsFailedWithItsMessage() {
        const ProbeResult r = runInChildProcess([] { throw Error("no format attribute"); }, shortLimits());
        QCOMPARE(r.verdict, ProbeVerdict::Failed);
        QCOMPARE(r.message, std::string("no format attribute"));
    }

    void aChildKilledBySignalIsCrashed() {
        const ProbeResult r = runInChildProcess([] { std::raise(SIGKILL); }, shortLimits());
        QCOMPARE(r.verdict, ProbeVerdict::Crashed);
        QCOMPARE(r.message, std::string(strsignal(SIGKILL)));
        QCOMPARE(runInChildProcess([] { std::abort(); }, shortLimits()).verdict, ProbeVerdict::Crashed);
    }

    void aChildThatExitsWithoutReportingIsCrashed() {
        QCOMPARE(runInChildProcess([] { _exit(0); }, shortLimits()).verdict, ProbeVerdict::Crashed);
    }

    void aChildStillRunningAtTheDeadlineIsKilledAsTimedOut() {
        ProbeLimits limits = shortLimits();
        limits.timeout = std::chrono::milliseconds(200);
        QCOMPARE(runInChildProcess([] { for (;;) pause(); }, limits).verdict, ProbeVerdict::TimedOut);
    }

    void anAllocationPastTheMemoryBoundIsOutOfMemory() {
        const ProbeLimits limits = shortLimits();
        const ProbeResult r = runInChildProcess([&] {
            std::vector<char> big(2 * limits.memoryBytes, 1);
            if (big[1] != 1) throw Error("unreachable");
        }, limits);
        QCOMPARE(r.verdict, probeReportsOutOfMemory() ? ProbeVerdict::OutOfMemory : ProbeVerdict::Crashed);
    }

    void theBoundIsAddedToWhatTheProcessAlreadyHolds() {
        // 128 MiB held before the probe (besides Qt's libraries): an absolute bound of 64 MiB
        // would leave the child no room at all.
        std::vector<char> held(128ull << 20, 1);
        const ProbeResult r = runInChildProcess([] { std::vector<char> small(16ull << 20, 1); }, shortLimits());
        QCOMPARE(r.verdict, ProbeVerdict::Finished);
        QCOMPARE(held[12345], char(1));
    }

    void theMessagesSayWhatHappened() {
        const ProbeLimits limits = sessionProbeLimits(0);
        QVERIFY(probeFailureMessage({ProbeVerdict::Crashed, "Segmentation fault"}, limits).find("crashed") != std::string::npos);
        QCOMPARE(probeFailureMessage({ProbeVerdict::OutOfMemory, {}}, limits),
                 std::string("reading it needs more than 1024 MB of memory; refused as a damaged session file"));
        QCOMPARE(probeFailureMessage({ProbeVerdict::TimedOut, {}}, limits),
                 std::string("reading it did not finish in 30 s; refused as a damaged session file"));
    }

    // ---- opening sessions through SessionStore ----

    void everyLibhdf5FindingIsRefusedNamingTheFile_data() {
        QTest::addColumn<QString>("input");
        QVERIFY(fs::is_directory(kFuzzInputs));
        for (const auto& e : fs::directory_iterator(kFuzzInputs))
            QTest::newRow(e.path().filename().c_str()) << QString::fromStdString(e.path().string());
    }
    void everyLibhdf5FindingIsRefusedNamingTheFile() {
        QFETCH(QString, input);
        const fs::path dir = qb::test::freshScratchDir("session_probe_findings");
        const fs::path file = unwrittenCopy(input.toStdString(), dir, fs::path(input.toStdString()).filename().string());
        const QString message = messageOf(file);
        qInfo("%s", qPrintable(message));
        QVERIFY2(message.startsWith(QString::fromStdString(file.string()) + ": "), qPrintable(message));
        QVERIFY2(!message.contains('\n'), qPrintable(message));
    }

    void aStringOfFourGigabytesIsRefusedForItsMemory() {
        const fs::path dir = qb::test::freshScratchDir("session_probe_4gb");
        const QString message = messageOf(unwrittenCopy(kFuzzInputs / "vlen_length_4gb", dir, "s.h5"));
        if (probeReportsOutOfMemory())
            QVERIFY2(message.contains("needs more than 1024 MB of memory"), qPrintable(message));
        else
            QVERIFY2(message.contains("crashed"), qPrintable(message));
    }

    void aValidSessionStillReadsInFull() {
        const fs::path dir = qb::test::freshScratchDir("session_probe_valid");
        SessionStore::write(dir / "written.h5", smallSession());
        const fs::path file = unwrittenCopy(dir / "written.h5", dir, "copy.h5");
        const SessionData back = SessionStore::read(file);
        QCOMPARE(back.provenance.modelPath, std::string("/models/stories260K"));
        QCOMPARE(back.modules.size(), std::size_t(1));
        QCOMPARE(back.modules[0].weight.count, smallSession().modules[0].weight.count);
        QCOMPARE(back.plans.size(), std::size_t(1));
        QCOMPARE(back.runs.at(0).metrics.at("perplexity"), 12.5);
        QCOMPARE(SessionStore::runIds(file), std::vector<std::string>{"run-1"});
    }

    void aProbedFileThatChangesIsProbedAgain() {
        const fs::path dir = qb::test::freshScratchDir("session_probe_changed");
        SessionStore::write(dir / "written.h5", smallSession());
        const fs::path file = unwrittenCopy(dir / "written.h5", dir, "s.h5");
        QCOMPARE(SessionStore::read(file).runs.size(), std::size_t(1));
        fs::copy_file(kFuzzInputs / "crash_H5HG_read", file, fs::copy_options::overwrite_existing);
        QVERIFY(messageOf(file).startsWith(QString::fromStdString(file.string()) + ": "));
    }

    void anObjectOutsideTheSessionLayoutIsReadByTheProbeToo() {
        // A group the session reader never opens (as plan costs are read by readRoot) holding
        // a dataset that declares 2^33 doubles (64 GB) but stores none: only the probe's walk
        // of the rest of the file reads it.
        const fs::path dir = qb::test::freshScratchDir("session_probe_outside");
        SessionStore::write(dir / "written.h5", smallSession());
        const fs::path file = unwrittenCopy(dir / "written.h5", dir, "s.h5");
        {
            H5::H5File h5(file.string(), H5F_ACC_RDWR);
            const hsize_t dims[1] = {hsize_t(1) << 33}, chunk[1] = {1024};
            H5::DSetCreatPropList chunked;
            chunked.setChunk(1, chunk);
            h5.createGroup("/extra").createDataSet("huge", H5::PredType::IEEE_F64LE, H5::DataSpace(1, dims), chunked);
        }
        const QString message = messageOf(file);
        QVERIFY2(message.contains(probeReportsOutOfMemory() ? "needs more than" : "crashed"), qPrintable(message));
    }

    void aForeignFileKeepsItsOwnMessage() {
        const fs::path dir = qb::test::freshScratchDir("session_probe_foreign");
        const fs::path file = dir / "notes.h5";
        { std::ofstream(file) << "not hdf5 at all"; }
        QCOMPARE(messageOf(file), QString::fromStdString(file.string() + ": not an HDF5 file, so not a quantbench session"));
    }
};

QTEST_GUILESS_MAIN(TestSessionProbe)
#include "test_session_probe.moc"
