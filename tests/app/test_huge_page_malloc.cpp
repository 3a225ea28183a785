// quantbench's mains re-execute themselves once with glibc's malloc on transparent huge pages
// (app/common/huge_page_malloc.h) where that helps: glibc ≥ 2.35 and THP in "madvise" mode.
// Run through a probe process with the same start-up call; each case sets its environment.
#include <QtTest>

#include <gnu/libc-version.h>

namespace {

bool reexecApplies() {
    int major = 0, minor = 0;
    if (std::sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2) return false;
    QFile thp(QStringLiteral("/sys/kernel/mm/transparent_hugepage/enabled"));
    if (!thp.open(QIODevice::ReadOnly)) return false;
    const bool madvise = thp.readAll().contains("[madvise]");
    return madvise && (major > 2 || (major == 2 && minor >= 35));
}

// The probe's GLIBC_TUNABLES line, run with `set` added to a clean environment.
QString tunablesSeen(const QStringList& set) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("GLIBC_TUNABLES"));
    env.remove(QStringLiteral("QB_HUGE_PAGES"));
    for (const QString& kv : set) env.insert(kv.section('=', 0, 0), kv.section('=', 1));
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(QB_HUGE_PAGE_PROBE), {});
    if (!p.waitForFinished(30000) || p.exitCode() != 0) return QStringLiteral("<probe failed>");
    const QString out = QString::fromUtf8(p.readAllStandardOutput());
    qInfo("%s", qPrintable(out.trimmed().replace('\n', QStringLiteral("; "))));
    for (const QString& line : out.split('\n'))
        if (line.startsWith(QStringLiteral("GLIBC_TUNABLES="))) return line.mid(15);
    return QStringLiteral("<no line>");
}

}  // namespace

class TestHugePageMalloc : public QObject {
    Q_OBJECT

private slots:
    void theProcessRunsWithTheHugePageTunable() {
        if (!reexecApplies()) QSKIP("this machine's glibc or THP mode gives the tunable nothing to do");
        QCOMPARE(tunablesSeen({}), QStringLiteral("glibc.malloc.hugetlb=1"));
    }

    void theUsersTunablesAreKept() {
        if (!reexecApplies()) QSKIP("this machine's glibc or THP mode gives the tunable nothing to do");
        QCOMPARE(tunablesSeen({QStringLiteral("GLIBC_TUNABLES=glibc.malloc.check=0")}),
                 QStringLiteral("glibc.malloc.check=0:glibc.malloc.hugetlb=1"));
    }

    void aSettingOfTheUserIsNotOverridden() {
        QCOMPARE(tunablesSeen({QStringLiteral("GLIBC_TUNABLES=glibc.malloc.hugetlb=0")}), QStringLiteral("glibc.malloc.hugetlb=0"));
    }

    void itCanBeTurnedOff() {
        QCOMPARE(tunablesSeen({QStringLiteral("QB_HUGE_PAGES=0")}), QString());
    }
};

QTEST_GUILESS_MAIN(TestHugePageMalloc)
#include "test_huge_page_malloc.moc"
