#pragma once
// RecentFiles — the File → Open Recent list (model folders and session files), kept in
// QSettings under "recentFiles", most recent first, at most kMaxEntries.

#include <QObject>
#include <QStringList>

namespace qb::ui {

class RecentFiles : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxEntries = 10;
    explicit RecentFiles(QObject* parent = nullptr);

    [[nodiscard]] QStringList entries() const;
    /// Moves path to the top (adds it when new).
    void add(const QString& path);
    void clear();

signals:
    void changed();
};

}  // namespace qb::ui
