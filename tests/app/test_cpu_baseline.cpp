// The CPU baseline check (app/common/cpu_baseline): a build for x86-64-v3 started on a CPU
// without AVX2 must name what is missing in one line instead of dying with SIGILL. The CPU is
// played by a fixed feature set, so the test does not depend on the machine it runs on.
#include <QtTest>

#include <cstring>

#include "app/common/cpu_baseline.h"

using qb::app::cpuBaselineMessage;
using qb::app::kMaxCpuFeatures;

namespace {

// A CPU of the Sandy Bridge generation: SSE4.2 and AVX, no AVX2/FMA/BMI/F16C/MOVBE.
bool sandyBridge(const char* f) {
    for (const char* has : {"popcnt", "sse3", "ssse3", "sse4.1", "sse4.2", "avx"})
        if (std::strcmp(f, has) == 0) return true;
    return false;
}
// A Zen 2 EPYC: x86-64-v3, no AVX-512.
bool zen2(const char* f) { return std::strncmp(f, "avx512", 6) != 0; }
bool everything(const char*) { return true; }
bool nothing(const char*) { return false; }

QStringList missing(const char* march, bool (*has)(const char*)) {
    const char* names[kMaxCpuFeatures];
    const int n = qb::app::missingCpuFeatures(march, has, names);
    QStringList out;
    for (int i = 0; i < n; ++i) out << QString::fromLatin1(names[i]);
    return out;
}

}  // namespace

class TestCpuBaseline : public QObject {
    Q_OBJECT

private slots:
    void v3BuildOnAnAvxOnlyCpuNamesTheMissingFeatures() {
        QCOMPARE(missing("x86-64-v3", &sandyBridge), (QStringList{"avx2", "bmi", "bmi2", "f16c", "fma", "movbe"}));
        const char* names[kMaxCpuFeatures];
        const int n = qb::app::missingCpuFeatures("x86-64-v3", &sandyBridge, names);
        char line[512];
        cpuBaselineMessage("x86-64-v3", names, n, line, sizeof line);
        const QString text = QString::fromLatin1(line);
        QVERIFY2(text.startsWith("error: this quantbench was built for x86-64-v3 and this CPU lacks avx2, bmi, bmi2, f16c, fma, movbe: "),
                 qPrintable(text));
        QVERIFY(!text.contains('\n'));
    }

    void v2BuildRunsOnTheSameCpu() { QVERIFY(missing("x86-64-v2", &sandyBridge).isEmpty()); }

    void v4BuildOnAZen2NeedsAvx512() {
        QCOMPARE(missing("x86-64-v4", &zen2), (QStringList{"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}));
        QVERIFY(missing("x86-64-v3", &zen2).isEmpty());
    }

    void aCpuWithNothingFillsTheListToItsBound() {
        QCOMPARE(missing("x86-64-v4", &nothing).size(), kMaxCpuFeatures);
    }

    void nativeAndDefaultBuildsAreNotChecked() {
        QVERIFY(missing("native", &nothing).isEmpty());
        QVERIFY(missing("", &nothing).isEmpty());
        QVERIFY(missing("x86-64-v3", &everything).isEmpty());
    }

    void theMessageIsCutToItsBuffer() {
        const char* names[] = {"avx2"};
        char line[24];
        cpuBaselineMessage("x86-64-v3", names, 1, line, sizeof line);
        QCOMPARE(std::strlen(line), sizeof line - 1);
        QCOMPARE(QString::fromLatin1(line), QStringLiteral("error: this quantbench "));
    }

    void thisCpuRunsTheTestBinaryItsBuildTargets() {
        // The test binary is built with QB_MARCH and it is running, so the check must not refuse it.
        QVERIFY(missing(QB_BUILD_MARCH, &qb::app::cpuHas).isEmpty());
    }
};

QTEST_APPLESS_MAIN(TestCpuBaseline)
#include "test_cpu_baseline.moc"
