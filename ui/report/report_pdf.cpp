// The PDF report: A4 or Letter portrait (the layout follows the page's paint rectangle), a title block (title, model, date, author, session), each section
// with its lines, warnings, vector plots (QCustomPlot::toPainter on the PDF painter) and
// tables, and "page N of M" at the foot of every page. Laid out twice: once to count the pages,
// once to paint them.
#include <QFontMetricsF>
#include <QPageLayout>
#include <QPdfWriter>

#include <algorithm>
#include <numeric>

#include <qcustomplot.h>

#include "core/report/report.h"
#include "core/util/error.h"
#include "ui/report/report_plots.h"
#include "ui/report/report_writer.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

constexpr int kDpi = 96;
constexpr double kTablePt = 7.0;  // page units are 1/96 inch: A4 is about 794 × 1123, Letter 816 × 1056, less the margins

class PdfLayout {
public:
    PdfLayout(QPdfWriter& writer, QCPPainter* painter, ReportPlots& plots, int pageCount)
        : m_writer(writer), m_p(painter), m_plots(plots), m_pages(pageCount) {
        const QRect r = writer.pageLayout().paintRectPixels(kDpi);
        m_width = r.width();
        m_height = r.height() - 24;  // room for the page number
    }

    int run(const core::Report& report) {
        titleBlock(report);
        for (const auto& s : report.sections) section(s);
        footer();
        return m_page;
    }

private:
    QFont font(double pt, bool bold = false) const {
        QFont f(QStringLiteral("DejaVu Sans"));
        f.setPointSizeF(pt);
        f.setBold(bold);
        return f;
    }
    double textHeight(const QString& text, const QFont& f, double width) const {
        return QFontMetricsF(f, &m_writer).boundingRect(QRectF(0, 0, width, 1e6), Qt::TextWordWrap, text).height();
    }
    void ensure(double h) {
        if (m_y + h > m_height && m_y > 0) newPage();
    }
    void newPage() {
        footer();
        if (m_p) m_writer.newPage();
        ++m_page;
        m_y = 0;
    }
    void footer() {
        if (!m_p) return;
        m_p->setFont(font(8));
        m_p->setPen(Qt::darkGray);
        m_p->drawText(QRectF(0, m_height + 6, m_width, 18), Qt::AlignRight | Qt::AlignVCenter,
                      QStringLiteral("page %1 of %2").arg(m_page).arg(m_pages));
        m_p->drawText(QRectF(0, m_height + 6, m_width, 18), Qt::AlignLeft | Qt::AlignVCenter, m_footer);
    }
    void text(const QString& t, const QFont& f, QColor color = Qt::black, double gapAfter = 6, QColor background = {}) {
        const double h = textHeight(t, f, m_width - (background.isValid() ? 12 : 0));
        ensure(h + gapAfter);
        if (m_p) {
            if (background.isValid()) {
                m_p->fillRect(QRectF(0, m_y - 2, m_width, h + 4), background);
                m_p->fillRect(QRectF(0, m_y - 2, 3, h + 4), QColor(0xd4, 0xa7, 0x2c));
            }
            m_p->setFont(f);
            m_p->setPen(color);
            m_p->drawText(QRectF(background.isValid() ? 8 : 0, m_y, m_width - (background.isValid() ? 12 : 0), h),
                          Qt::TextWordWrap, t);
        }
        m_y += h + gapAfter;
    }
    void titleBlock(const core::Report& r) {
        m_footer = toQString(r.title);
        text(toQString(r.title), font(18, true), Qt::black, 4);
        text(QStringLiteral("Model: %1\nDate: %2\nAuthor: %3\nSession: %4\nRuns: %5")
                 .arg(toQString(r.modelName), toQString(r.generatedUtc), r.author.empty() ? QStringLiteral("—") : toQString(r.author),
                      toQString(r.sessionFile), QString::number(r.runLabels.size())),
             font(9.5), Qt::black, 10);
        QString contents;
        for (const auto& s : r.sections) contents += QStringLiteral("• %1%2\n").arg(toQString(s.title), s.skipped.empty() ? QString() : QStringLiteral(" (not in this session)"));
        text(QStringLiteral("Contents"), font(12, true), Qt::black, 2);
        text(contents.trimmed(), font(9), Qt::black, 12);
    }
    void section(const core::ReportSection& s) {
        ensure(80);
        text(toQString(s.title), font(13, true), QColor(0x09, 0x69, 0xda), 4);
        if (!s.skipped.empty()) {
            text(toQString(s.skipped), font(9), Qt::darkGray, 10);
            return;
        }
        for (const auto& w : s.warnings)
            text(QStringLiteral("⚠ Different protocols — ") + toQString(w), font(8.5), QColor(0x6a, 0x44, 0x00), 6, QColor(0xff, 0xf8, 0xc5));
        for (const auto& l : s.lines) text(toQString(l), font(9), Qt::black, 5);
        for (const auto& id : s.plots) plot(id);
        for (const auto& t : s.tables) table(t);
        m_y += 8;
    }
    void plot(const std::string& id) {
        const int h = std::min(m_height - 10, m_plots.preferredHeight(id, m_width));
        ensure(h + 8);
        if (m_p) {
            m_p->save();
            m_p->translate(0, m_y);
            m_plots.paint(id, m_p, QSize(m_width, h));
            m_p->restore();
        }
        m_y += h + 8;
    }
    /// A cell as the PDF shows it: SHA-256 columns shortened to 12 digits (the full hashes are
    /// in the JSON, CSV and HTML).
    static QString cellText(const core::ReportTable& t, std::size_t col, const core::ReportCell& cell) {
        QString s = toQString(core::readableCellText(cell));
        const std::string& key = t.columns[col].key;
        if (key.size() >= 6 && key.compare(key.size() - 6, 6, "sha256") == 0 && s.size() > 13) s = s.left(12) + QChar(0x2026);
        return s;
    }
    static QString headerText(const core::ReportColumn& c) {
        return toQString(c.title + (c.unit.empty() || c.unit == "bits" ? "" : " (" + c.unit + ")"));
    }
    void table(const core::ReportTable& t) {
        // Columns empty in every row are left out; a table wider than the page is split into
        // column blocks, each repeating the first column (the run or module the row is about).
        std::vector<std::size_t> cols;
        for (std::size_t c = 0; c < t.columns.size(); ++c)
            for (const auto& row : t.rows)
                if (!std::holds_alternative<std::monostate>(row[c])) {
                    cols.push_back(c);
                    break;
                }
        if (cols.empty()) return;
        const QFontMetricsF fb(font(kTablePt), &m_writer), fh(font(kTablePt, true), &m_writer);
        std::vector<double> w(cols.size());
        for (std::size_t i = 0; i < cols.size(); ++i) {
            w[i] = fh.horizontalAdvance(headerText(t.columns[cols[i]])) + 10;
            for (const auto& row : t.rows) w[i] = std::max(w[i], fb.horizontalAdvance(cellText(t, cols[i], row[cols[i]])) + 10);
            w[i] = std::min(w[i], 300.0);
        }
        std::vector<std::vector<std::size_t>> blocks{{0}};
        double width = w[0];
        for (std::size_t i = 1; i < cols.size(); ++i) {
            if (width + w[i] > m_width && blocks.back().size() > 1) {
                blocks.push_back({0});
                width = w[0];
            }
            blocks.back().push_back(i);
            width += w[i];
        }
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            std::vector<std::size_t> bc;
            std::vector<double> bw;
            double sum = 0;
            for (const auto i : blocks[b]) bc.push_back(cols[i]), bw.push_back(w[i]), sum += w[i];
            const double stretch = std::clamp(m_width / sum, 0.5, 1.3);
            for (double& x : bw) x *= stretch;
            tableBlock(t, bc, bw, toQString(t.title) + (b ? QStringLiteral(" (continued)") : QString()));
        }
    }
    void tableBlock(const core::ReportTable& t, const std::vector<std::size_t>& cols, const std::vector<double>& w, const QString& title) {
        const QFont body = font(kTablePt), head = font(kTablePt, true);
        const QFontMetricsF fb(body, &m_writer), fh(head, &m_writer);
        const double rowH = fb.height() + 4;
        text(title, font(9.5, true), Qt::black, 2);
        const auto header = [&] {
            if (!m_p) return;
            double x = 0;
            m_p->fillRect(QRectF(0, m_y, std::accumulate(w.begin(), w.end(), 0.0), rowH), QColor(0xf0, 0xf2, 0xf5));
            m_p->setFont(head);
            m_p->setPen(Qt::black);
            for (std::size_t i = 0; i < cols.size(); ++i) {
                m_p->drawText(QRectF(x + 4, m_y, w[i] - 8, rowH), Qt::AlignVCenter | Qt::AlignLeft,
                              fh.elidedText(headerText(t.columns[cols[i]]), Qt::ElideRight, w[i] - 8));
                x += w[i];
            }
        };
        ensure(2 * rowH);
        header();
        m_y += rowH;
        for (const auto& row : t.rows) {
            if (m_y + rowH > m_height) {
                newPage();
                header();
                m_y += rowH;
            }
            if (m_p) {
                double x = 0;
                m_p->setFont(body);
                m_p->setPen(Qt::black);
                for (std::size_t i = 0; i < cols.size(); ++i) {
                    const auto& cell = row[cols[i]];
                    const QString s = fb.elidedText(cellText(t, cols[i], cell), Qt::ElideRight, w[i] - 8);
                    const auto align = std::holds_alternative<double>(cell) ? Qt::AlignRight : Qt::AlignLeft;
                    m_p->drawText(QRectF(x + 4, m_y, w[i] - 8, rowH), Qt::AlignVCenter | align, s);
                    x += w[i];
                }
                m_p->setPen(QColor(0xd1, 0xd9, 0xe0));
                m_p->drawLine(QPointF(0, m_y + rowH), QPointF(x, m_y + rowH));
            }
            m_y += rowH;
        }
        m_y += 8;
    }

    QPdfWriter& m_writer;
    QCPPainter* m_p;
    ReportPlots& m_plots;
    int m_pages = 0;
    int m_page = 1;
    int m_width = 0, m_height = 0;
    double m_y = 0;
    QString m_footer;
};

}  // namespace

int writeReportPdf(const core::Report& report, ReportPlots& plots, const QString& file, core::PaperSize paper) {
    QPdfWriter writer(file);
    writer.setResolution(kDpi);
    writer.setPageLayout(QPageLayout(QPageSize(paper == core::PaperSize::Letter ? QPageSize::Letter : QPageSize::A4), QPageLayout::Portrait, QMarginsF(12, 12, 12, 10), QPageLayout::Millimeter));
    writer.setTitle(toQString(report.title));
    writer.setCreator(QStringLiteral("quantbench ") + toQString(report.quantbenchVersion));
    const int pages = PdfLayout(writer, nullptr, plots, 0).run(report);
    QCPPainter painter;
    if (!painter.begin(&writer)) throw core::Error(file.toStdString() + ": cannot write the PDF");
    painter.setRenderHint(QPainter::Antialiasing);
    const int painted = PdfLayout(writer, &painter, plots, pages).run(report);
    painter.end();
    return painted;
}

}  // namespace qb::ui
