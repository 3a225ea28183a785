#include "ui/views/optimize_bar.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "core/quant/quant_scheme.h"

#include "ui/jobs/job.h"
#include "ui/models/plan_document.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {
constexpr double kBytesPerMegabyte = 1e6;
constexpr double kDefaultKldNats = 0.1;  // what switching to the KLD unit starts from
}

OptimizeBar::OptimizeBar(PlanDocument* document, QWidget* parent)
    : QWidget(parent), m_document(document), m_target(new QDoubleSpinBox(this)), m_unit(new QComboBox(this)),
      m_windows(new QSpinBox(this)), m_ctx(new QSpinBox(this)), m_optimize(new QPushButton(tr("Optimize"), this)),
      m_cancel(new QPushButton(tr("Cancel"), this)), m_progress(new QProgressBar(this)), m_summary(new QLabel(this)) {
    setObjectName(QStringLiteral("optimizeBar"));
    m_target->setObjectName(QStringLiteral("optimizeTarget"));
    m_target->setRange(0.001, 32.0);
    m_target->setDecimals(3);
    m_target->setSingleStep(0.25);
    m_target->setValue(3.5);
    m_target->setToolTip(tr("The size the plan must fit: bits per weight over the linear modules, or megabytes (10⁶ bytes) of them;\n"
                            "or a bound on the predicted ΔKLD (sum of the modules' measured costs, nats): the smallest plan within it"));
    m_unit->setObjectName(QStringLiteral("optimizeUnit"));
    m_unit->addItem(tr("bits/weight"), int(Unit::BitsPerWeight));
    m_unit->addItem(tr("MB"), int(Unit::Megabytes));
    m_unit->addItem(tr("ΔKLD nats (smallest plan)"), int(Unit::KldNats));
    m_windows->setObjectName(QStringLiteral("optimizeWindows"));
    m_windows->setRange(1, 512);
    m_windows->setValue(8);
    m_windows->setToolTip(tr("Calibration windows the costs are measured on (the calibration text and seed of Results)"));
    m_ctx->setObjectName(QStringLiteral("optimizeCtx"));
    m_ctx->setRange(8, 8192);
    m_ctx->setValue(128);
    m_ctx->setToolTip(tr("Tokens per calibration window"));
    m_optimize->setObjectName(QStringLiteral("optimizeButton"));
    m_optimize->setToolTip(tr("Measure what every candidate costs each module (KLD from the FP model with only that module quantized),\n"
                              "then choose the plan of least total cost that fits the target (exact knapsack). One undo step;\n"
                              "the modules it changes are marked until the next edit."));
    m_cancel->setObjectName(QStringLiteral("optimizeCancel"));
    m_progress->setObjectName(QStringLiteral("optimizeProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setMaximumWidth(220);
    m_progress->setVisible(false);
    m_summary->setObjectName(QStringLiteral("optimizeSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setVisible(false);

    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(new QLabel(tr("Optimize to"), this));
    row->addWidget(m_target);
    row->addWidget(m_unit);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("methods:"), this));
    for (const auto m : {core::QuantMethod::Gptq, core::QuantMethod::Awq, core::QuantMethod::Rtn}) {
        const QString name = toQString(core::methodName(m));
        m_methods.emplace_back(m, addCheck(row, name, QStringLiteral("optimizeMethod_") + name, true));
    }
    row->addSpacing(8);
    row->addWidget(new QLabel(tr("bits:"), this));
    // Every width core packs (one list); 5–7 start unchecked: only quantbench reads them (no
    // GPTQ/AWQ/compressed-tensors loader does), and each checked width is one more measured candidate.
    for (const int b : core::kSupportedWeightBits) {
        const bool engineWidth = b <= 4 || b == 8;
        m_bits.emplace_back(b, addCheck(row, QString::number(b), QStringLiteral("optimizeBits_%1").arg(b), engineWidth));
    }
    row->addSpacing(8);
    row->addWidget(new QLabel(tr("groups:"), this));
    m_groups.emplace_back(32, addCheck(row, QStringLiteral("32"), QStringLiteral("optimizeGroup_32"), true));
    m_groups.emplace_back(128, addCheck(row, QStringLiteral("128"), QStringLiteral("optimizeGroup_128"), true));
    m_groups.emplace_back(std::nullopt, addCheck(row, tr("per row"), QStringLiteral("optimizeGroup_row"), false));
    row->addSpacing(8);
    m_fp16 = addCheck(row, tr("fp16"), QStringLiteral("optimizeFp16"), true);
    m_fp16->setToolTip(tr("Keeping a module in F16 is a candidate too"));
    row->addSpacing(8);
    row->addWidget(new QLabel(tr("windows:"), this));
    row->addWidget(m_windows);
    row->addWidget(new QLabel(QStringLiteral("×"), this));
    row->addWidget(m_ctx);
    row->addSpacing(8);
    row->addWidget(m_optimize);
    row->addWidget(m_cancel);
    row->addWidget(m_progress);
    row->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(row);
    layout->addWidget(m_summary);

    connect(m_unit, &QComboBox::activated, this, [this] { convertTarget(Unit(m_unit->currentData().toInt())); });
    connect(m_optimize, &QPushButton::clicked, this, [this] {
        QString why;
        if (const auto r = request(&why)) {
            emit optimizeRequested(*r);
        } else {
            showSummary(tr("error: %1").arg(why));
        }
    });
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_job) m_job->cancel();
    });
    connect(m_document, &PlanDocument::totalsChanged, this, &OptimizeBar::updateEnabled);
    updateEnabled();
}

QCheckBox* OptimizeBar::addCheck(QHBoxLayout* row, const QString& text, const QString& name, bool checked) {
    auto* box = new QCheckBox(text, this);
    box->setObjectName(name);
    box->setChecked(checked);
    row->addWidget(box);
    return box;
}

std::optional<AutoPlanRequest> OptimizeBar::request(QString* why) const {
    AutoPlanRequest r;
    r.space.methods.clear();
    r.space.bits.clear();
    r.space.groupSizes.clear();
    for (const auto& [m, box] : m_methods)
        if (box->isChecked()) r.space.methods.push_back(m);
    for (const auto& [b, box] : m_bits)
        if (box->isChecked()) r.space.bits.push_back(b);
    for (const auto& [g, box] : m_groups)
        if (box->isChecked()) r.space.groupSizes.push_back(g);
    r.space.includeFp16 = m_fp16->isChecked();
    const auto fail = [why](const QString& text) -> std::optional<AutoPlanRequest> {
        if (why) *why = text;
        return std::nullopt;
    };
    if (r.space.methods.empty()) return fail(tr("choose at least one method"));
    if (r.space.bits.empty()) return fail(tr("choose at least one bit width"));
    if (r.space.groupSizes.empty()) return fail(tr("choose at least one group size"));
    switch (Unit(m_unit->currentData().toInt())) {
        case Unit::Megabytes: r.target.bytes = std::uint64_t(m_target->value() * kBytesPerMegabyte); break;
        case Unit::KldNats: r.target.kld = m_target->value(); break;
        case Unit::BitsPerWeight: r.target.bitsPerWeight = m_target->value(); break;
    }
    r.windows = m_windows->value();
    r.ctx = m_ctx->value();
    return r;
}

void OptimizeBar::setTarget(double value, Unit unit) {
    m_unit->setCurrentIndex(m_unit->findData(int(unit)));
    m_shownUnit = unit;
    m_target->setValue(value);
}

void OptimizeBar::convertTarget(Unit to) {
    // Keep the same size when the unit changes: bytes = bpw · weights / 8.
    const double weights = double(m_document->weights());
    if (to == m_shownUnit || weights <= 0) {
        m_shownUnit = to;
        return;
    }
    if (to == Unit::KldNats || m_shownUnit == Unit::KldNats) {  // a size and a KLD bound do not convert
        m_target->setValue(to == Unit::KldNats ? kDefaultKldNats : to == Unit::Megabytes ? 3.5 * weights / 8.0 / kBytesPerMegabyte : 3.5);
        m_shownUnit = to;
        return;
    }
    const double value = m_target->value();
    m_shownUnit = to;
    m_target->setValue(to == Unit::Megabytes ? value * weights / 8.0 / kBytesPerMegabyte : value * kBytesPerMegabyte * 8.0 / weights);
}

void OptimizeBar::watch(Job* job) {
    m_job = job;
    updateEnabled();
    if (!job) return;
    m_progress->setValue(0);
    m_progress->setFormat(tr("queued"));
    m_progress->setVisible(true);
    connect(job, &Job::progressChanged, this, [this](double fraction, const QString& stage) {
        m_progress->setValue(int(fraction * 1000));
        m_progress->setFormat(stage.isEmpty() ? QStringLiteral("%p%") : stage + QStringLiteral(" · %p%"));
    });
    connect(job, &Job::finished, this, [this, job](JobState state) {
        m_progress->setVisible(false);
        if (state == JobState::Failed) showSummary(job->errorMessage());
        if (state == JobState::Cancelled) showSummary(tr("Optimize cancelled; the plan is unchanged."));
        m_job = nullptr;
        updateEnabled();
    });
}

void OptimizeBar::showSummary(const QString& summary) {
    m_summary->setText(summary);
    m_summary->setVisible(!summary.isEmpty());
}

void OptimizeBar::updateEnabled() {
    const bool running = m_job && !m_job->isFinished();
    m_optimize->setEnabled(!running && m_document->rowCount() > 0);
    m_cancel->setEnabled(running);
}

}  // namespace qb::ui
