// The CPU baseline check (app/common/cpu_baseline): a build for x86-64-v3 started on a CPU
// without AVX2 must name what is missing in one line instead of dying with SIGILL. The CPU is
// played by a fixed feature set, so the test does not depend on the machine it runs on.
#include <QtTest>

#include <algorithm>
#include <set>

#include "app/common/cpu_baseline.h"

using qb::app::cpuBaselineMessage;
using qb::app::missingCpuFeatures;

namespace {

// A CPU of the Sandy Bridge generation: SSE4.2 and AVX, no AVX2/FMA/BMI/F16C/MOVBE.
bool sandyBridge(std::string_view f) {
    static const std::set<std::string_view> has = {"popcnt", "sse3", "ssse3", "sse4.1", "sse4.2", "avx"};
    return has.count(f) != 0;
}
// A Zen 2 EPYC: x86-64-v3, no AVX-512.
bool zen2(std::string_view f) { return !std::string_view(f).starts_with("avx512"); }
bool everything(std::string_view) { return true; }

}  // namespace

class TestCpuBaseline : public QObject {
    Q_OBJECT

private slots:
    void v3BuildOnAnAvxOnlyCpuNamesTheMissingFeatures() {
        const auto missing = missingCpuFeatures("x86-64-v3", &sandyBridge);
        QCOMPARE(missing, (std::vector<std::string>{"avx2", "bmi", "bmi2", "f16c", "fma", "movbe"}));
        const QString line = QString::fromStdString(cpuBaselineMessage("x86-64-v3", missing));
        QVERIFY(line.startsWith("error: this quantbench was built for x86-64-v3 and this CPU lacks avx2, bmi, bmi2, f16c, fma, movbe"));
        QVERIFY(!line.contains('\n'));
    }

    void v2BuildRunsOnTheSameCpu() { QVERIFY(missingCpuFeatures("x86-64-v2", &sandyBridge).empty()); }

    void v4BuildOnAZen2NeedsAvx512() {
        QCOMPARE(missingCpuFeatures("x86-64-v4", &zen2),
                 (std::vector<std::string>{"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}));
        QVERIFY(missingCpuFeatures("x86-64-v3", &zen2).empty());
    }

    void nativeAndDefaultBuildsAreNotChecked() {
        const auto none = [](std::string_view) { return false; };
        QVERIFY(missingCpuFeatures("native", +none).empty());
        QVERIFY(missingCpuFeatures("", +none).empty());
        QVERIFY(missingCpuFeatures("x86-64-v3", &everything).empty());
    }

    void thisCpuRunsTheTestBinaryItsBuildTargets() {
        // The test binary is built with QB_MARCH; it is running, so the check must not refuse it.
        QVERIFY(missingCpuFeatures(QB_BUILD_MARCH, &qb::app::cpuHas).empty());
    }
};

QTEST_APPLESS_MAIN(TestCpuBaseline)
#include "test_cpu_baseline.moc"
