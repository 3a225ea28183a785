#include "ui/views/start_view.h"

#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/util/app_paths.h"
#include "ui/views/help_dialogs.h"
#include "ui/util/recent_files.h"

namespace qb::ui {

StartView::StartView(RecentFiles* recent, QWidget* parent)
    : QWidget(parent), m_recent(recent), m_demo(new QPushButton(tr("Open the bundled demo model"), this)), m_list(new QListWidget(this)) {
    setObjectName(QStringLiteral("StartView"));
    auto* title = new QLabel(tr("quantbench"), this);
    QFont big = title->font();
    big.setPointSizeF(big.pointSizeF() * 2.2);
    big.setBold(true);
    title->setFont(big);
    auto* subtitle = new QLabel(tr("Make an LLM smaller and faster — and see why a layer breaks.\n"
                                   "Open a Hugging Face checkpoint folder (config.json + *.safetensors), drop one on this window, "
                                   "or start with the demo model."),
                                this);
    subtitle->setWordWrap(true);
    m_demo->setToolTip(tr("stories260K: a 260K-parameter Llama trained on TinyStories, bundled with quantbench"));
    m_demo->setEnabled(!bundledModelDir().isEmpty());
    m_demo->setDefault(true);
    auto* folder = new QPushButton(tr("Open model folder…"), this);
    auto* session = new QPushButton(tr("Open session…"), this);
    m_list->setMaximumHeight(220);
    m_list->setToolTip(tr("Double-click to open"));

    auto* column = new QVBoxLayout;
    column->addWidget(title);
    column->addWidget(subtitle);
    column->addSpacing(16);
    column->addWidget(m_demo);
    column->addWidget(folder);
    column->addWidget(session);
    column->addSpacing(16);
    auto* steps = new QLabel(gettingStartedHtml(), this);
    steps->setObjectName(QStringLiteral("gettingStarted"));
    steps->setTextFormat(Qt::RichText);
    steps->setWordWrap(true);
    steps->setFrameShape(QFrame::StyledPanel);
    steps->setMargin(8);
    column->addWidget(steps);
    column->addSpacing(16);
    column->addWidget(new QLabel(tr("Recent"), this));
    column->addWidget(m_list);
    auto* frame = new QWidget(this);
    frame->setLayout(column);
    frame->setFixedWidth(600);
    auto* outer = new QVBoxLayout(this);
    outer->addStretch(1);
    outer->addWidget(frame, 0, Qt::AlignHCenter);
    outer->addStretch(2);

    connect(m_demo, &QPushButton::clicked, this, &StartView::openDemoRequested);
    connect(folder, &QPushButton::clicked, this, &StartView::openFolderRequested);
    connect(session, &QPushButton::clicked, this, &StartView::openSessionRequested);
    connect(m_list, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit openPathRequested(item->data(Qt::UserRole).toString()); });
    connect(m_recent, &RecentFiles::changed, this, &StartView::refreshRecent);
    refreshRecent();
}

void StartView::refreshRecent() {
    m_list->clear();
    for (const QString& path : m_recent->entries()) {
        auto* item = new QListWidgetItem(QFileInfo(path).fileName() + QStringLiteral("  —  ") + path, m_list);
        item->setData(Qt::UserRole, path);
    }
    if (m_list->count() == 0) m_list->addItem(tr("(nothing opened yet)"));
}

}  // namespace qb::ui
