#include "ui/plots/plot_support.h"

#include <cmath>

#include <QApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QSvgGenerator>
#include <QToolTip>

#include "qcustomplot.h"

namespace qb::ui {

namespace {

const char* kMessageName = "qb-plot-message";

/// Re-applies the palette when the desktop theme changes.
class PaletteWatcher : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) {
            auto* plot = static_cast<QCustomPlot*>(watched);
            applyPalette(plot);
            plot->replot();
        }
        return false;
    }
};

void showContextMenu(QCustomPlot* plot, const QPoint& pos, const std::function<void()>& reset) {
    QMenu menu(plot);
    menu.addAction(QObject::tr("Reset view"), plot, [plot, reset] {
        reset();
        plot->replot();
    });
    menu.addSeparator();
    menu.addAction(QObject::tr("Save plot as PNG/SVG/PDF…"), plot, [plot] {
        const QString name = plot->objectName().isEmpty() ? QStringLiteral("plot") : plot->objectName();
        QString selected;
        const QString file = QFileDialog::getSaveFileName(
            plot, QObject::tr("Save plot"), name + QStringLiteral(".png"),
            QObject::tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"), &selected);
        if (file.isEmpty()) return;
        QString target = file;
        if (QFileInfo(file).suffix().isEmpty()) target += selected.contains(QLatin1String("svg")) ? QStringLiteral(".svg")
                                                   : selected.contains(QLatin1String("pdf")) ? QStringLiteral(".pdf")
                                                                                              : QStringLiteral(".png");
        if (!savePlot(plot, target)) QToolTip::showText(QCursor::pos(), QObject::tr("Could not write %1").arg(target), plot);
    });
    menu.exec(plot->mapToGlobal(pos));
}

}  // namespace

QCustomPlot* createPlot(const QString& objectName, const QString& explanation, ReadoutFn readout, std::function<void()> resetView) {
    auto* plot = new QCustomPlot;
    plot->setObjectName(objectName);
    plot->setMinimumSize(260, 170);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot->setAntialiasedElements(QCP::aePlottables);
    plot->setNoAntialiasingOnDrag(true);
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    plot->setMouseTracking(true);
    plot->legend->setVisible(false);
    QFont small = plot->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    plot->legend->setFont(small);
    auto reset = resetView ? std::move(resetView) : std::function<void()>([plot] { plot->rescaleAxes(); });
    QObject::connect(plot, &QCustomPlot::customContextMenuRequested, plot,
                     [plot, reset](const QPoint& pos) { showContextMenu(plot, pos, reset); });
    QObject::connect(plot, &QCustomPlot::mouseDoubleClick, plot, [plot, reset](QMouseEvent*) {
        reset();
        plot->replot();
    });
    QObject::connect(plot, &QCustomPlot::mouseMove, plot, [plot, readout, explanation](QMouseEvent* event) {
        const QPointF pos = event->position();
        QString text = readout ? readout(plot, pos) : QString();
        if (text.isEmpty() && !plot->axisRect()->rect().contains(pos.toPoint())) text = explanation;
        if (text.isEmpty()) QToolTip::hideText();
        else QToolTip::showText(event->globalPosition().toPoint(), text, plot);
    });
    plot->installEventFilter(new PaletteWatcher(plot));
    applyPalette(plot);
    return plot;
}

bool savePlot(QCustomPlot* plot, const QString& file, int width, int height) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    if (suffix == QLatin1String("png")) return plot->savePng(file, width, height, 2.0);
    if (suffix == QLatin1String("pdf")) return plot->savePdf(file, width, height);
    if (suffix == QLatin1String("svg")) {
        const int w = width > 0 ? width : plot->width();
        const int h = height > 0 ? height : plot->height();
        QSvgGenerator svg;
        svg.setFileName(file);
        svg.setSize(QSize(w, h));
        svg.setViewBox(QRect(0, 0, w, h));
        svg.setTitle(plot->objectName());
        QCPPainter painter;
        if (!painter.begin(&svg)) return false;
        plot->toPainter(&painter, w, h);
        painter.end();
        return QFileInfo::exists(file);
    }
    return false;
}

void applyPalette(QCustomPlot* plot) {
    const QPalette pal = plot->palette();
    const QColor base = pal.color(QPalette::Base);
    const QColor text = pal.color(QPalette::Text);
    QColor grid = text;
    grid.setAlpha(40);
    plot->setBackground(QBrush(base));
    const auto axes = plot->axisRect() ? plot->axisRect()->axes() : QList<QCPAxis*>();
    for (QCPAxis* axis : axes) {
        axis->setBasePen(QPen(text));
        axis->setTickPen(QPen(text));
        axis->setSubTickPen(QPen(text));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
        axis->grid()->setSubGridVisible(false);
        axis->grid()->setZeroLinePen(Qt::NoPen);
    }
    plot->legend->setBrush(QBrush(base));
    plot->legend->setBorderPen(QPen(grid));
    plot->legend->setTextColor(text);
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) title->setTextColor(text);
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* label = qobject_cast<QCPItemText*>(plot->item(i)); label && label->objectName() == QLatin1String(kMessageName))
            label->setColor(text);
}

QColor seriesColor(int i) {
    static const QColor kColors[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(148, 103, 189),
                                     QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127), QColor(23, 190, 207)};
    return kColors[std::size_t(i) % std::size(kColors)];
}

QColor warningColor() { return QColor(230, 140, 20); }
QColor alarmColor() { return QColor(214, 39, 40); }

QCPColorGradient heatGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.00, QColor(68, 1, 84));
    g.setColorStopAt(0.25, QColor(59, 82, 139));
    g.setColorStopAt(0.50, QColor(33, 145, 140));
    g.setColorStopAt(0.75, QColor(94, 201, 98));
    g.setColorStopAt(1.00, QColor(253, 231, 37));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

void setPlotMessage(QCustomPlot* plot, const QString& text) {
    for (int i = plot->itemCount() - 1; i >= 0; --i)
        if (plot->item(i)->objectName() == QLatin1String(kMessageName)) plot->removeItem(i);
    if (text.isEmpty()) return;
    auto* label = new QCPItemText(plot);
    label->setObjectName(QLatin1String(kMessageName));
    label->setClipToAxisRect(false);
    label->position->setType(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(0.5, 0.5);
    label->setPositionAlignment(Qt::AlignCenter);
    label->setText(text);
    label->setColor(plot->palette().color(QPalette::Text));
}

void setPlotTitle(QCustomPlot* plot, const QString& title) {
    QCPTextElement* element = nullptr;
    if (plot->plotLayout()->rowCount() > 1) element = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
    if (!element) {
        plot->plotLayout()->insertRow(0);
        element = new QCPTextElement(plot, title);
        QFont f = plot->font();
        f.setBold(true);
        element->setFont(f);
        element->setTextColor(plot->palette().color(QPalette::Text));
        plot->plotLayout()->addElement(0, 0, element);
    }
    element->setText(title);
}

QString compactNumber(double v) {
    if (!std::isfinite(v)) return QStringLiteral("–");
    const double a = std::abs(v);
    if (a == 0.0) return QStringLiteral("0");
    if (a >= 1e5 || a < 1e-3) return QString::number(v, 'e', 2);
    if (a >= 100) return QString::number(v, 'f', 0);
    if (a >= 1) return QString::number(v, 'f', 2);
    return QString::number(v, 'g', 3);
}

void clearPlotContent(QCustomPlot* plot) {
    plot->clearPlottables();
    plot->clearItems();
    plot->legend->setVisible(false);
}

}  // namespace qb::ui
