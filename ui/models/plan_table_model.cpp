#include "ui/models/plan_table_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include "core/quant/scheme_size.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

QColor autopilotMarkColor() { return QColor(255, 226, 150); }

QString groupSizeText(int groupSize) { return groupSize < 0 ? QObject::tr("per row") : QString::number(groupSize); }

PlanTableModel::PlanTableModel(Workspace* workspace, QObject* parent)
    : QAbstractTableModel(parent), m_workspace(workspace), m_document(workspace->plan()) {
    connect(m_document, &PlanDocument::modulesReset, this, [this] {
        beginResetModel();
        endResetModel();
    });
    connect(m_document, &PlanDocument::rowsChanged, this,
            [this](int first, int last) { emit dataChanged(index(first, 0), index(last, ColumnCount - 1)); });
    connect(m_document, &PlanDocument::markedRowsChanged, this, [this] {
        if (rowCount() > 0) emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    });
    connect(m_workspace, &Workspace::statsChanged, this, [this] {
        if (rowCount() > 0) emit dataChanged(index(0, Sensitivity), index(rowCount() - 1, Sensitivity));
    });
}

int PlanTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : m_document->rowCount(); }
int PlanTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

std::optional<PlanField> PlanTableModel::fieldOf(int column) {
    switch (column) {
        case Method: return PlanField::Method;
        case Bits: return PlanField::Bits;
        case GroupSize: return PlanField::GroupSize;
        case Sym: return PlanField::Sym;
        case ActOrder: return PlanField::ActOrder;
        case ActBits: return PlanField::ActBits;
        case Epochs: return PlanField::Epochs;
        case LrLwc: return PlanField::LrLwc;
        default: return std::nullopt;
    }
}

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    if (role == Qt::DisplayRole) {
        static const char* kNames[] = {"Module", "Shape [out, in]", "Method", "Bits", "Group", "Sym", "Act-order", "Act bits",
                                       "Epochs", "LR (LWC)", "Bytes (est.)", "RTN w4 error"};
        return tr(kNames[section]);
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
            case Method: return tr("fp16 keeps the module; rtn = round-to-nearest; gptq/awq = calibrated 4-bit-class methods;\n"
                                   "w8a8 / smoothquant = int8 weights and activations; llm_int8 = int8 with FP outlier columns");
            case Bits: return tr("Weight bits of the integer grid (2–8)");
            case GroupSize: return tr("Input columns sharing one scale and zero point; 'per row' = one group per output row");
            case Sym: return tr("Symmetric grid (absmax, no zero point) instead of asymmetric min-max");
            case ActOrder: return tr("GPTQ: quantize columns in order of decreasing Hessian diagonal (activation order)");
            case ActBits: return tr("Per-token activation bits (4–8); below 8 the activations are simulated (quantized and\n"
                                    "dequantized in float). rtn/gptq/awq/omniquant: 'none' keeps the module weight-only;\n"
                                    "omniquant with activation bits also learns LET");
            case Epochs: return tr("OmniQuant: passes over the calibration windows, one window per AdamW step (0 = RTN with the initial clipping)");
            case LrLwc: return tr("OmniQuant: AdamW learning rate of the clipping parameters (the paper's 5e-3)");
            case Bytes: return tr("Estimated storage in the GPTQ checkpoint layout (packed weights, F16 scales, zeros, g_idx)");
            case Sensitivity: return tr("Relative output error of RTN 4-bit group 128 on the calibration inputs (from Inspect)");
        }
    }
    return {};
}

Qt::ItemFlags PlanTableModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    const auto field = fieldOf(index.column());
    if (!field || !fieldApplies(m_document->row(index.row()).scheme, *field)) return f;
    if (*field == PlanField::Sym || *field == PlanField::ActOrder) return f | Qt::ItemIsUserCheckable;
    return f | Qt::ItemIsEditable;
}

QVariant PlanTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid()) return {};
    const PlanRow& row = m_document->row(index.row());
    const auto field = fieldOf(index.column());
    const bool applies = field && fieldApplies(row.scheme, *field);
    if (role == Qt::CheckStateRole && applies && (*field == PlanField::Sym || *field == PlanField::ActOrder))
        return fieldValue(row.scheme, *field).toBool() ? Qt::Checked : Qt::Unchecked;
    if (role == Qt::EditRole && field) return fieldValue(row.scheme, *field);
    if (role == WeightOnlyAllowedRole && index.column() == ActBits) return isGridMethod(row.scheme.method);
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Module: return toQString(row.name);
            case Shape: return QStringLiteral("[%1, %2]").arg(row.outFeatures).arg(row.inFeatures);
            case Method: return toQString(core::methodName(row.scheme.method));
            case Bits:
                if (row.scheme.method == core::QuantMethod::Fp16) return QStringLiteral("16");
                return applies ? QVariant(row.scheme.grid.bits) : QVariant(QStringLiteral("8"));
            case ActBits: {
                if (!applies) return QStringLiteral("—");
                const int bits = fieldValue(row.scheme, PlanField::ActBits).toInt();
                if (bits == 0) return tr("none");
                return core::isSimulatedActBits(bits) ? tr("%1 (simulated)").arg(bits) : QString::number(bits);
            }
            case GroupSize: return applies ? groupSizeText(fieldValue(row.scheme, PlanField::GroupSize).toInt()) : QStringLiteral("—");
            case Sym:
            case ActOrder: return applies ? QVariant() : QVariant(QStringLiteral("—"));
            case Epochs: return applies ? QVariant(row.scheme.omniquant.epochs) : QVariant(QStringLiteral("—"));
            case LrLwc: return applies ? QVariant(QString::number(row.scheme.omniquant.lrLwc, 'g', 4)) : QVariant(QStringLiteral("—"));
            case Bytes: return humanBytes(double(core::schemeBytes(row.scheme, row.outFeatures, row.inFeatures)));
            case Sensitivity: {
                const auto& stats = m_workspace->stats();
                const auto* s = stats ? stats->find(row.name) : nullptr;
                const auto e = s ? sensitivityAt(*s, 4, 128) : std::nullopt;
                return e ? QStringLiteral("%1 %").arg(*e * 100.0, 0, 'f', 2) : QString();
            }
        }
    }
    if (role == Qt::ForegroundRole && field && !applies) return QBrush(QColor(128, 128, 128));
    if (role == Qt::FontRole && index.column() == Method && !sameScheme(row.scheme, m_document->commonScheme())) {
        QFont f;
        f.setBold(true);
        return f;
    }
    const bool marked = m_document->markedRows().contains(index.row());
    if (role == Qt::BackgroundRole && marked) return QBrush(autopilotMarkColor());
    if (role == Qt::ToolTipRole)
        return marked ? tr("%1 — changed by Optimize (marked until the next edit)").arg(toQString(row.scheme.label())) : toQString(row.scheme.label());
    if (role == Qt::TextAlignmentRole && index.column() >= Bits && index.column() != Sym && index.column() != ActOrder)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

bool PlanTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    const auto field = fieldOf(index.column());
    if (!index.isValid() || !field) return false;
    if (role == Qt::CheckStateRole) return m_document->setField(index.row(), *field, value.toInt() == Qt::Checked);
    if (role != Qt::EditRole) return false;
    return m_document->setField(index.row(), *field, value);
}

}  // namespace qb::ui
