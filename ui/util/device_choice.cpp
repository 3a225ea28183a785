#include "ui/util/device_choice.h"

#include <QActionGroup>
#include <QLabel>
#include <QMenu>
#include <QStatusBar>

#include "core/backend/backend.h"

namespace qb::ui {

namespace {

QString labelOf(const core::Backend& b) {
    return QObject::tr("Device: %1").arg(QString::fromStdString(b.name()));
}

}  // namespace

void installDeviceChoice(QMenu* menu, QStatusBar* bar) {
    auto& registry = core::BackendRegistry::instance();
    auto* label = new QLabel(bar);
    label->setObjectName(QStringLiteral("deviceLabel"));
    bar->addPermanentWidget(label);
    const auto show = [label](const core::Backend& b) {
        label->setText(labelOf(b));
        label->setToolTip(QString::fromStdString(b.description()));
    };
    show(*registry.preferred());

    QMenu* sub = menu->addMenu(QObject::tr("Compute &Device"));
    sub->setObjectName(QStringLiteral("menuDevice"));
    auto* group = new QActionGroup(sub);
    group->setExclusive(true);
    const std::string preferred = registry.preferred()->name();
    for (const auto& backend : registry.all()) {
        const QString name = QString::fromStdString(backend->name());
        QAction* action = sub->addAction(QStringLiteral("%1 — %2").arg(name, QString::fromStdString(backend->description())));
        action->setObjectName(QStringLiteral("actionDevice_") + name);
        action->setCheckable(true);
        action->setChecked(backend->name() == preferred);
        group->addAction(action);
        QObject::connect(action, &QAction::triggered, label, [backend, show] {
            core::BackendRegistry::instance().setPreferred(backend->name());
            show(*backend);
        });
    }
}

}  // namespace qb::ui
