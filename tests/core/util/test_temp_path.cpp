// atomicTempPath / removeStaleTemps: what a killed writer left beside its target is removed by
// the next writer of that target; a live writer's temp, other targets' temps and names that
// only look like temps are kept.
#include <QtTest/QtTest>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/util/temp_path.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using qb::core::atomicTempPath;
using qb::core::removeStaleTemps;

namespace {
// The pid of a child that has exited and been reaped: no process has it (until reused).
pid_t deadPid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}
void touch(const fs::path& p) { std::ofstream(p) << "partial"; }
}  // namespace

class TestTempPath : public QObject {
    Q_OBJECT
private slots:
    void staleTempsOfTheTargetGo() {
        const fs::path dir = fs::path(QB_TEST_SCRATCH_DIR) / "temp_path";
        fs::remove_all(dir);
        fs::create_directories(dir);
        const fs::path target = dir / "session.h5";
        const std::string dead = std::to_string(deadPid());
        touch(dir / ("session.h5.tmp-" + dead));                        // a killed writer's file
        const std::string deadToo = std::to_string(deadPid());
        fs::create_directories(dir / ("session.h5.tmp-" + deadToo) / "inner");  // a killed quantize's folder
        touch(dir / ("session.h5.tmp-" + std::to_string(::getppid())));  // a live process's: kept
        touch(dir / ("other.h5.tmp-" + dead));                          // another target's: kept
        touch(dir / "session.h5.tmp-notapid");                          // not a temp name: kept
        const fs::path mine = atomicTempPath(target);
        QCOMPARE(mine.filename().string(), "session.h5.tmp-" + std::to_string(::getpid()));
        QVERIFY(!fs::exists(dir / ("session.h5.tmp-" + dead)));
        QVERIFY(!fs::exists(dir / ("session.h5.tmp-" + deadToo)));
        QVERIFY(fs::exists(dir / ("session.h5.tmp-" + std::to_string(::getppid()))));
        QVERIFY(fs::exists(dir / ("other.h5.tmp-" + dead)));
        QVERIFY(fs::exists(dir / "session.h5.tmp-notapid"));
        QCOMPARE(removeStaleTemps(target), std::size_t(0));  // nothing stale is left
        QCOMPARE(removeStaleTemps(dir / "other.h5"), std::size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestTempPath)
#include "test_temp_path.moc"
