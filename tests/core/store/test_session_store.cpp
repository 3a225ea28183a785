// Session files: a write → read round trip of every field, plans and runs appended later,
// and one clear error for every kind of file that is not a session this build can read.
#include <QtTest>

#include <H5Cpp.h>

#include <fstream>
#include <limits>

#include "core/io/checkpoint.h"
#include "core/store/session_provenance.h"
#include "core/store/session_store.h"
#include "core/util/sha256.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;
namespace fs = std::filesystem;

namespace {

ModuleStats makeModule(const std::string& name, Index out, Index in, unsigned seed,
                       std::shared_ptr<const ActivationStats> activation) {
    ModuleStats m;
    m.name = name;
    m.outFeatures = out;
    m.inFeatures = in;
    m.weight = computeWeightStats(qb::test::randomMatrix(out, in, seed, 0.1f), WeightStatsOptions{11});
    m.activation = std::move(activation);
    m.sensitivity.sym = seed % 2 == 1;
    m.sensitivity.entries = {{4, 128, 0.0123, {}}, {4, std::nullopt, 0.0456, {}},
                             {3, 32, std::nullopt, "group size 32 does not divide 12"}};
    return m;
}

std::shared_ptr<const ActivationStats> makeActivation(Index in, unsigned seed, bool planted) {
    MatrixRM X = qb::test::randomMatrix(300, in, seed, 0.5f);
    if (planted) X(7, 1) = 40.0f;
    ActivationStatsOptions o;
    o.relativeFactor = 15.0;
    return std::make_shared<const ActivationStats>(computeActivationStats(X, o));
}

/// Modules in an order that alphabetical HDF5 iteration would change (layers.2 before layers.10);
/// q and k share one ActivationStats; the last module has none.
SessionData makeSession() {
    SessionData d;
    d.provenance.modelPath = "/models/stories260K";
    d.provenance.configSha256 = std::string(64, 'c');
    d.provenance.safetensorsHeaders = {{"model-00001-of-00002.safetensors", std::string(64, '1')},
                                       {"model-00002-of-00002.safetensors", std::string(64, '2')}};
    d.provenance.calibrationSha256 = std::string(64, 'f');
    d.provenance.calibrationWindows = 16;
    d.provenance.calibrationCtx = 256;
    d.provenance.calibrationSeed = 0xFFFFFFFFFFFFFFF1ull;
    d.provenance.quantbenchVersion = "0.1.0";
    d.provenance.createdUtc = "2025-01-31T17:04:05Z";
    const auto attn = makeActivation(6, 1, true);
    d.modules.push_back(makeModule("model.layers.2.self_attn.q_proj", 8, 6, 2, attn));
    d.modules.push_back(makeModule("model.layers.2.self_attn.k_proj", 4, 6, 3, attn));
    d.modules.push_back(makeModule("model.layers.10.mlp.down_proj", 6, 12, 4, makeActivation(12, 5, false)));
    d.modules.push_back(makeModule("model.layers.10.mlp.up_proj", 12, 6, 6, nullptr));
    d.plans.push_back({"w4-all", R"({"default": {"method": "rtn", "bits": 4}})", "2025-02-01T00:00:00Z"});
    d.runs.push_back({"run-2", "w4-all", "{}", {{"perplexity", 12.5}, {"seconds", 3.25}},
                      {{"model.layers.2.self_attn.q_proj", 0.01}}, "2025-02-01T00:00:01Z", {}, {}, {}, {}, {}, {}});
    d.runs.push_back({"run-1", "w4-all", "{}", {}, {}, "2025-02-01T00:00:02Z", {}, {}, {}, {}, {}, {}});
    return d;
}

void compareWeight(const WeightStats& a, const WeightStats& b) {
    QCOMPARE(a.count, b.count);
    QCOMPARE(a.mean, b.mean);
    QCOMPARE(a.std, b.std);
    QCOMPARE(a.min, b.min);
    QCOMPARE(a.max, b.max);
    QCOMPARE(a.absmax, b.absmax);
    QCOMPARE(a.excessKurtosis, b.excessKurtosis);
    QCOMPARE(a.fracBeyond3Sigma, b.fracBeyond3Sigma);
    QCOMPARE(a.fracBeyond6Sigma, b.fracBeyond6Sigma);
    QCOMPARE(a.histogram.counts, b.histogram.counts);
    QCOMPARE(a.histogram.edges, b.histogram.edges);
    QVERIFY(a.rowAbsmax == b.rowAbsmax);
    QVERIFY(a.colAbsmax == b.colAbsmax);
}

void compareActivation(const ActivationStats& a, const ActivationStats& b) {
    QCOMPARE(a.inFeatures, b.inFeatures);
    QCOMPARE(a.tokens, b.tokens);
    QCOMPARE(a.nonFinite, b.nonFinite);
    QCOMPARE(a.medianAbsmax, b.medianAbsmax);
    QCOMPARE(a.options.llmInt8Threshold, b.options.llmInt8Threshold);
    QCOMPARE(a.options.relativeFactor, b.options.relativeFactor);
    QCOMPARE(a.options.percentile, b.options.percentile);
    QCOMPARE(a.options.percentileOctaves, b.options.percentileOctaves);
    QCOMPARE(a.options.sampleTokens, b.options.sampleTokens);
    QVERIFY(a.absmax == b.absmax);
    QVERIFY(a.meanAbs == b.meanAbs);
    QVERIFY(a.rms == b.rms);
    QVERIFY(a.hessianDiag == b.hessianDiag);
    QVERIFY(a.percentileAbs == b.percentileAbs);
    QVERIFY(a.int8Fraction == b.int8Fraction);
    QVERIFY(a.sample == b.sample);
    QCOMPARE(a.outliers.size(), b.outliers.size());
    for (std::size_t i = 0; i < a.outliers.size(); ++i) {
        QCOMPARE(a.outliers[i].index, b.outliers[i].index);
        QCOMPARE(a.outliers[i].absmax, b.outliers[i].absmax);
        QCOMPARE(a.outliers[i].rule, b.outliers[i].rule);
        QCOMPARE(a.outliers[i].int8Fraction, b.outliers[i].int8Fraction);
    }
}

void compareSensitivity(const SensitivityTable& a, const SensitivityTable& b) {
    QCOMPARE(a.sym, b.sym);
    QCOMPARE(a.entries.size(), b.entries.size());
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
        QCOMPARE(a.entries[i].bits, b.entries[i].bits);
        QCOMPARE(a.entries[i].groupSize, b.entries[i].groupSize);
        QCOMPARE(a.entries[i].relativeError, b.entries[i].relativeError);
        QCOMPARE(a.entries[i].note, b.entries[i].note);
    }
}

/// Runs f, expects an Error whose message starts with the file and contains `part`.
template <class F>
void expectError(const fs::path& file, const std::string& part, F&& f) {
    try {
        f();
        QFAIL("no error");
    } catch (const Error& e) {
        const std::string message = e.what();
        QVERIFY2(message.rfind(file.string() + ": ", 0) == 0, message.c_str());
        QVERIFY2(message.find(part) != std::string::npos, message.c_str());
        QVERIFY2(message.find('\n') == std::string::npos, message.c_str());
    }
}

bool hasTempFiles(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
    return false;
}

}  // namespace

class TestSessionStore : public QObject {
    Q_OBJECT
private slots:
    void roundTripKeepsEveryField() {
        const fs::path dir = qb::test::freshScratchDir("session_roundtrip");
        const SessionData d = makeSession();
        QVERIFY(d.modules[0].activation->outliers.size() == 1);  // the planted channel
        SessionStore::write(dir / "s.qbsession", d);
        QVERIFY(!hasTempFiles(dir));
        const SessionData r = SessionStore::read(dir / "s.qbsession");

        QCOMPARE(r.schemaVersion, 1);
        const SessionProvenance &p = d.provenance, &q = r.provenance;
        QCOMPARE(q.modelPath, p.modelPath);
        QCOMPARE(q.configSha256, p.configSha256);
        QCOMPARE(q.safetensorsHeaders.size(), std::size_t(2));
        QCOMPARE(q.safetensorsHeaders[1].file, p.safetensorsHeaders[1].file);
        QCOMPARE(q.safetensorsHeaders[1].sha256, p.safetensorsHeaders[1].sha256);
        QCOMPARE(q.calibrationSha256, p.calibrationSha256);
        QCOMPARE(q.calibrationWindows, 16);
        QCOMPARE(q.calibrationCtx, 256);
        QCOMPARE(q.calibrationSeed, 0xFFFFFFFFFFFFFFF1ull);
        QCOMPARE(q.quantbenchVersion, std::string("0.1.0"));
        QCOMPARE(q.createdUtc, p.createdUtc);

        QCOMPARE(r.modules.size(), d.modules.size());
        for (std::size_t i = 0; i < d.modules.size(); ++i) {
            QCOMPARE(r.modules[i].name, d.modules[i].name);  // model order, not alphabetical
            QCOMPARE(r.modules[i].outFeatures, d.modules[i].outFeatures);
            QCOMPARE(r.modules[i].inFeatures, d.modules[i].inFeatures);
            compareWeight(r.modules[i].weight, d.modules[i].weight);
            QCOMPARE(bool(r.modules[i].activation), bool(d.modules[i].activation));
            if (d.modules[i].activation) compareActivation(*r.modules[i].activation, *d.modules[i].activation);
            compareSensitivity(r.modules[i].sensitivity, d.modules[i].sensitivity);
        }
        QCOMPARE(r.modules[0].activation.get(), r.modules[1].activation.get());  // shared, stored once

        QCOMPARE(r.plans.size(), std::size_t(1));
        QCOMPARE(r.plans[0].name, std::string("w4-all"));
        QCOMPARE(r.plans[0].json, d.plans[0].json);
        QCOMPARE(r.plans[0].createdUtc, d.plans[0].createdUtc);
        QCOMPARE(r.runs.size(), std::size_t(2));
        QCOMPARE(r.runs[0].id, std::string("run-2"));  // written order
        QCOMPARE(r.runs[0].metrics, d.runs[0].metrics);
        QCOMPARE(r.runs[0].moduleErrors, d.runs[0].moduleErrors);
        QCOMPARE(r.runs[0].planName, std::string("w4-all"));
        QCOMPARE(r.runs[1].createdUtc, d.runs[1].createdUtc);
        QVERIFY(r.runs[1].metrics.empty());
    }

    // OmniQuant runs (issue 15): each trained layer's loss per epoch reads back as written, layers
    // of different epoch counts included; a history whose values do not add up is refused.
    void trainingLossHistoryRoundTripsAndAShortOneIsRefused() {
        const fs::path file = qb::test::freshScratchDir("session_training_loss") / "s.qbsession";
        SessionData d = makeSession();
        d.runs[0].trainingLoss = {{0, {3.5, 2.25, 1.125}}, {3, {0.5, 0.25}}, {4, {}}};
        SessionStore::write(file, d);
        const SessionData r = SessionStore::read(file);
        QCOMPARE(r.runs[0].trainingLoss, d.runs[0].trainingLoss);
        QVERIFY(r.runs[1].trainingLoss.empty());  // a run without one has none
        {
            H5::H5File f(file.string(), H5F_ACC_RDWR);
            H5::Group run = f.openGroup("/runs/run-2");
            run.unlink("training_loss");
            const hsize_t four[1] = {4};  // the epochs say 5
            const double values[4] = {1, 2, 3, 4};
            run.createDataSet("training_loss", H5::PredType::IEEE_F64LE, H5::DataSpace(1, four)).write(values, H5::PredType::NATIVE_DOUBLE);
        }
        expectError(file, "'training_loss' has 4 values, expected 5", [&] { (void)SessionStore::read(file); });
    }

    void plansAreAddedAndReplaced() {
        const fs::path file = qb::test::freshScratchDir("session_plans") / "s.qbsession";
        SessionStore::write(file, makeSession());
        SessionStore::writePlan(file, {"a-plan", R"({"x": 1})", ""});
        SessionStore::writePlan(file, {"w4-all", R"({"replaced": true})", "2025-03-01T00:00:00Z"});
        QCOMPARE(SessionStore::planNames(file), (std::vector<std::string>{"a-plan", "w4-all"}));
        QCOMPARE(SessionStore::readPlan(file, "w4-all").json, std::string(R"({"replaced": true})"));
        const PlanRecord fresh = SessionStore::readPlan(file, "a-plan");
        QCOMPARE(fresh.createdUtc.size(), std::size_t(20));  // filled in: "YYYY-MM-DDTHH:MM:SSZ"
        QCOMPARE(fresh.createdUtc.back(), 'Z');
        QCOMPARE(SessionStore::read(file).modules.size(), std::size_t(4));  // the rest survives
        expectError(file, "no plan named 'nope'", [&] { (void)SessionStore::readPlan(file, "nope"); });
        QVERIFY(!hasTempFiles(file.parent_path()));
    }

    void runsAreAppendedInOrderAndReplacedInPlace() {
        const fs::path file = qb::test::freshScratchDir("session_runs") / "s.qbsession";
        SessionStore::write(file, makeSession());
        SessionStore::writeRun(file, {"run-0", "p", "{}", {{"perplexity", 9.75}}, {{"m", 0.5}}, "", {}, {}, {}, {}, {}, {}});
        SessionStore::writeRun(file, {"run-2", "p2", "{}", {{"perplexity", 11.0}}, {}, "", {}, {}, {}, {}, {}, {}});
        QCOMPARE(SessionStore::runIds(file), (std::vector<std::string>{"run-2", "run-1", "run-0"}));
        const RunRecord r = SessionStore::readRun(file, "run-2");
        QCOMPARE(r.planName, std::string("p2"));
        QCOMPARE(r.metrics.at("perplexity"), 11.0);
        QCOMPARE(SessionStore::readRun(file, "run-0").moduleErrors.at("m"), 0.5);
        expectError(file, "no run with id 'run-9'", [&] { (void)SessionStore::readRun(file, "run-9"); });
    }

    void provenanceHashesTheModelAndTheCalibrationText() {
        const auto checkpoint = Checkpoint::open(qb::test::bundledModelDir());
        CalibrationSet calib;
        calib.windows = 3;
        calib.ctx = 128;
        const SessionProvenance p = makeSessionProvenance(*checkpoint, "Once upon a time", calib, 7);
        QCOMPARE(p.modelPath, qb::test::bundledModelDir().string());
        QCOMPARE(p.configSha256, sha256FileHex(qb::test::bundledModelDir() / "config.json"));
        QCOMPARE(p.safetensorsHeaders.size(), std::size_t(1));
        QCOMPARE(p.safetensorsHeaders[0].file, std::string("model.safetensors"));
        QCOMPARE(p.safetensorsHeaders[0].sha256, sha256Hex(checkpoint->files()[0]->headerText()));
        QCOMPARE(p.calibrationSha256, sha256Hex("Once upon a time"));
        QCOMPARE(p.calibrationWindows, 3);
        QCOMPARE(p.calibrationCtx, 128);
        QCOMPARE(p.calibrationSeed, std::uint64_t(7));
        QCOMPARE(p.quantbenchVersion, std::string(QB_VERSION));
        QCOMPARE(p.createdUtc.size(), std::size_t(20));
    }

    void garbageBytesAreNotASession() {
        const fs::path file = qb::test::freshScratchDir("session_garbage") / "garbage.qbsession";
        std::ofstream(file, std::ios::binary) << std::string(5000, '\x5a') << "not hdf5 at all";
        expectError(file, "not an HDF5 file", [&] { (void)SessionStore::read(file); });
    }

    void truncatedFileIsReportedDamaged() {
        const fs::path dir = qb::test::freshScratchDir("session_truncated");
        SessionStore::write(dir / "full.qbsession", makeSession());
        const auto size = fs::file_size(dir / "full.qbsession");
        fs::copy_file(dir / "full.qbsession", dir / "cut.qbsession");
        fs::resize_file(dir / "cut.qbsession", size / 2);
        expectError(dir / "cut.qbsession", "damaged or truncated", [&] { (void)SessionStore::read(dir / "cut.qbsession"); });
    }

    void foreignHdf5FileIsNotASession() {
        const fs::path file = qb::test::freshScratchDir("session_foreign") / "foreign.h5";
        {
            H5::H5File f(file.string(), H5F_ACC_TRUNC);
            const hsize_t dims[2] = {4, 5};
            const MatrixRM data = qb::test::randomMatrix(4, 5, 3);
            f.createDataSet("random", H5::PredType::IEEE_F32LE, H5::DataSpace(2, dims)).write(data.data(), H5::PredType::NATIVE_FLOAT);
        }
        expectError(file, "not a quantbench session", [&] { (void)SessionStore::read(file); });
        expectError(file, "not a quantbench session", [&] { SessionStore::writePlan(file, {"p", "{}", ""}); });
    }

    void newerSchemaIsRefused() {
        const fs::path file = qb::test::freshScratchDir("session_newer") / "s.qbsession";
        SessionStore::write(file, makeSession());
        {
            H5::H5File f(file.string(), H5F_ACC_RDWR);
            const std::int32_t version = 2;
            f.openGroup("/").openAttribute("schema_version").write(H5::PredType::NATIVE_INT32, &version);
        }
        expectError(file, "session schema version 2 is newer than this quantbench supports (1)",
                    [&] { (void)SessionStore::read(file); });
    }

    void missingFileIsNamed() {
        const fs::path file = qb::test::freshScratchDir("session_missing") / "none.qbsession";
        expectError(file, "no such file", [&] { (void)SessionStore::read(file); });
    }

    void failedWriteKeepsTheOldFile() {
        const fs::path dir = qb::test::freshScratchDir("session_atomic");
        SessionStore::write(dir / "s.qbsession", makeSession());
        SessionData bad = makeSession();
        bad.modules.push_back(bad.modules.front());  // a name twice
        expectError(dir / "s.qbsession", "appears twice", [&] { SessionStore::write(dir / "s.qbsession", bad); });
        QCOMPARE(SessionStore::read(dir / "s.qbsession").modules.size(), std::size_t(4));
        QVERIFY(!hasTempFiles(dir));
        expectError(dir / "no-such-folder" / "s.qbsession", "does not exist",
                    [&] { SessionStore::write(dir / "no-such-folder" / "s.qbsession", bad); });
    }

    void streamedModulesReadBackLikeAWholeWrite() {
        const fs::path dir = qb::test::freshScratchDir("session_stream");
        const SessionData d = makeSession();
        {
            SessionWriter writer(dir / "s.qbsession", d.provenance);
            for (const ModuleStats& m : d.modules) writer.addModule(m);
            QCOMPARE(writer.moduleCount(), std::size_t(4));
            QVERIFY(!fs::exists(dir / "s.qbsession"));  // nothing at the target before commit
            writer.commit();
        }
        QVERIFY(!hasTempFiles(dir));
        const SessionData back = SessionStore::read(dir / "s.qbsession");
        QCOMPARE(back.provenance.calibrationSeed, d.provenance.calibrationSeed);
        QCOMPARE(back.modules.size(), d.modules.size());
        for (std::size_t i = 0; i < d.modules.size(); ++i) {
            QCOMPARE(back.modules[i].name, d.modules[i].name);
            compareWeight(back.modules[i].weight, d.modules[i].weight);
            compareSensitivity(back.modules[i].sensitivity, d.modules[i].sensitivity);
        }
        compareActivation(*back.modules[2].activation, *d.modules[2].activation);
        QCOMPARE(back.modules[0].activation.get(), back.modules[1].activation.get());  // q and k: one group, linked
        QVERIFY(back.plans.empty() && back.runs.empty());
    }

    void uncommittedWriterLeavesNothing() {
        const fs::path dir = qb::test::freshScratchDir("session_stream_abort");
        SessionStore::write(dir / "old.qbsession", makeSession());
        {
            SessionWriter writer(dir / "old.qbsession", makeSession().provenance);
            writer.addModule(makeSession().modules.front());
            QVERIFY(hasTempFiles(dir));
        }  // e.g. inspect was cancelled
        QVERIFY(!hasTempFiles(dir));
        QCOMPARE(SessionStore::read(dir / "old.qbsession").modules.size(), std::size_t(4));  // the old session stands
    }

    void streamedActivationIsNotLinkedToAFreedOneAtTheSameAddress() {
        // A streaming writer sees each layer's ActivationStats freed before the next is made;
        // the allocator may hand the next one the same address. It must get its own group.
        const fs::path dir = qb::test::freshScratchDir("session_stream_address");
        const SessionData d = makeSession();
        SessionWriter writer(dir / "s.qbsession", d.provenance);
        for (unsigned layer = 0; layer < 4; ++layer) {
            auto activation = makeActivation(6, 10 + layer, layer % 2 == 0);
            writer.addModule(makeModule("model.layers." + std::to_string(layer) + ".self_attn.q_proj", 8, 6, layer, activation));
        }
        writer.commit();
        const SessionData back = SessionStore::read(dir / "s.qbsession");
        QCOMPARE(back.modules.size(), std::size_t(4));
        for (unsigned layer = 0; layer < 4; ++layer)
            compareActivation(*back.modules[layer].activation, *makeActivation(6, 10 + layer, layer % 2 == 0));
    }

    void unwritableFolderFailsBeforeAnyModule() {
        const fs::path file = qb::test::freshScratchDir("session_stream_bad") / "missing" / "s.qbsession";
        expectError(file, "does not exist", [&] { SessionWriter writer(file, makeSession().provenance); });
    }
};

QTEST_APPLESS_MAIN(TestSessionStore)
#include "test_session_store.moc"
