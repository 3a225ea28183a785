#include "ui/views/jobs_view.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include "ui/jobs/job_queue.h"
#include "ui/models/job_table_model.h"
#include "ui/plots/training_loss_plot.h"

namespace qb::ui {

namespace {

/// Draws the progress column as the platform's progress bar.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 3, -2, -3);
        bar.minimum = 0;
        bar.maximum = 1000;
        bar.progress = int(index.data(JobTableModel::FractionRole).toDouble() * 1000.0);
        bar.text = index.data().toString();
        bar.textVisible = true;
        bar.state = option.state | QStyle::State_Horizontal;
        bar.palette = option.palette;
        const QWidget* w = option.widget;
        (w ? w->style() : QApplication::style())->drawControl(QStyle::CE_ProgressBar, &bar, painter, w);
    }
};

}  // namespace

JobsView::JobsView(JobQueue* queue, QWidget* parent)
    : QWidget(parent), m_queue(queue), m_model(new JobTableModel(queue, this)), m_table(new QTableView(this)),
      m_cancel(new QPushButton(tr("Cancel"), this)), m_clear(new QPushButton(tr("Clear finished"), this)), m_timer(new QTimer(this)),
      m_lossPlot(createTrainingLossPlot(QStringLiteral("jobsLossPlot"), true)) {
    setObjectName(QStringLiteral("JobsView"));
    m_table->setModel(m_model);
    m_table->setItemDelegateForColumn(JobTableModel::Progress, new ProgressDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->horizontalHeader()->setSectionResizeMode(JobTableModel::Stage, QHeaderView::Stretch);
    m_table->setColumnWidth(JobTableModel::Title, 240);
    m_table->setColumnWidth(JobTableModel::State, 80);
    m_table->setColumnWidth(JobTableModel::Progress, 120);
    m_table->setColumnWidth(JobTableModel::Elapsed, 80);
    m_table->setColumnWidth(JobTableModel::Eta, 70);
    m_cancel->setToolTip(tr("Ask the selected (or the running) job to stop; it stops at the next layer or chunk and leaves no output"));
    m_clear->setToolTip(tr("Remove finished, failed and cancelled jobs from the list"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_clear);
    buttons->addStretch(1);
    // The table and the loss plot share the dock's width; the splitter lets the user trade one for the other.
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(m_table);
    split->addWidget(m_lossPlot);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);
    m_lossPlot->setMinimumSize(260, 110);
    m_lossPlot->hide();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);
    layout->addLayout(buttons);

    connect(m_cancel, &QPushButton::clicked, this, &JobsView::cancelSelected);
    connect(m_clear, &QPushButton::clicked, m_queue, &JobQueue::clearFinished);
    connect(m_queue, &JobQueue::jobChanged, this, &JobsView::updateButtons);
    connect(m_queue, &JobQueue::jobChanged, this, &JobsView::updateLossPlot);
    connect(m_queue, &JobQueue::jobRemoved, this, [this](Job* job) {
        if (job == m_lossJob) m_lossJob = nullptr;
        updateLossPlot();
    });
    connect(m_queue, &JobQueue::jobAdded, this, [this] {
        m_table->scrollToBottom();
        updateButtons();
    });
    connect(m_queue, &JobQueue::busyChanged, this, [this](bool busy) {
        if (busy) m_timer->start();
        else m_timer->stop();
        updateButtons();
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &JobsView::updateButtons);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &JobsView::updateLossPlot);
    m_timer->setInterval(250);
    connect(m_timer, &QTimer::timeout, m_model, &JobTableModel::refreshTimes);
    updateButtons();
}

void JobsView::cancelSelected() {
    const auto rows = m_table->selectionModel()->selectedRows();
    Job* job = rows.isEmpty() ? nullptr : m_model->jobAt(rows.first().row());
    if (!job || job->isFinished()) job = m_queue->running();
    if (job) job->cancel();
}

void JobsView::updateLossPlot() {
    const auto hasCurves = [](const Job* j) { return j && !j->curves().empty(); };
    const auto rows = m_table->selectionModel()->selectedRows();
    const Job* job = rows.isEmpty() ? nullptr : m_model->jobAt(rows.first().row());
    if (!hasCurves(job)) job = m_queue->running();
    if (!hasCurves(job)) {
        job = nullptr;
        const auto& jobs = m_queue->jobs();
        for (auto it = jobs.rbegin(); it != jobs.rend() && !job; ++it)
            if (hasCurves(*it)) job = *it;
    }
    if (!job) {
        m_lossJob = nullptr;
        m_lossPlot->hide();
        return;
    }
    int points = 0;
    for (const JobCurve& c : job->curves()) points += int(c.points.size());
    if (job == m_lossJob && points == m_lossPoints && !m_lossPlot->isHidden()) return;  // isHidden: the dock itself may be closed
    m_lossJob = job;
    m_lossPoints = points;
    fillTrainingLoss(m_lossPlot, job->curves(), QString());  // the job is the selected (or running, or latest) row
    m_lossPlot->show();
}

void JobsView::updateButtons() {
    m_cancel->setEnabled(m_queue->busy());
    m_clear->setEnabled(std::any_of(m_queue->jobs().begin(), m_queue->jobs().end(), [](const Job* j) { return j->isFinished(); }));
}

}  // namespace qb::ui
