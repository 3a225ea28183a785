// The HTML report: one self-contained file (inline CSS, inline SVG plots, a few lines of inline
// JavaScript to sort tables; no external script, font, image or link), a table of contents,
// readable in light and dark (prefers-color-scheme).
#include <QString>

#include "core/report/report.h"
#include "ui/report/report_plots.h"
#include "ui/report/report_writer.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

QString esc(const std::string& s) { return toQString(s).toHtmlEscaped(); }

const char* kStyle = R"(
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa;
        --accent: #0969da; --warn-bg: #fff8c5; --warn-line: #d4a72c; --plot-bg: #ffffff; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --head: #151b23;
          --accent: #4493f8; --warn-bg: #3b2e0a; --warn-line: #9e6a03; --plot-bg: #f6f8fa; }
}
body { background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.7em; margin: 0 0 4px; } h2 { border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1em; margin: 1.2em 0 0.4em; }
a { color: var(--accent); } .meta, .skipped { color: var(--muted); }
nav ol { columns: 2; } .warn { background: var(--warn-bg); border-left: 4px solid var(--warn-line); padding: 6px 12px; margin: 8px 0; }
.tablewrap { overflow-x: auto; max-height: 560px; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: var(--head); position: sticky; top: 0; cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " ▲"; } th[aria-sort=descending]::after { content: " ▼"; }
figure { margin: 12px 0; background: var(--plot-bg); border-radius: 6px; padding: 6px; }
figure svg { width: 100%; height: auto; display: block; }
/* The plots were measured with DejaVu Sans (Qt's offscreen font); the same family keeps their labels in place. */
figure svg text { font-family: "DejaVu Sans", Verdana, sans-serif; }
)";

// Click a header to sort by it (numbers by their exact value in data-v, text otherwise); click
// again to reverse.
const char* kScript = R"(
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var key = function (tr) { var td = tr.children[i]; return td.hasAttribute('data-v') ? parseFloat(td.getAttribute('data-v')) : td.textContent; };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b), c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
)";

QString tableHtml(const core::ReportTable& t) {
    QString h = QStringLiteral("<h3>%1</h3><div class=\"tablewrap\"><table class=\"sortable\" id=\"t-%2\"><thead><tr>")
                    .arg(esc(t.title), esc(t.id));
    for (const auto& c : t.columns)
        h += QStringLiteral("<th title=\"%1\">%2%3</th>")
                 .arg(esc(c.key), esc(c.title), c.unit.empty() ? QString() : QStringLiteral(" (%1)").arg(esc(c.unit)));
    h += QStringLiteral("</tr></thead><tbody>");
    for (const auto& row : t.rows) {
        h += QStringLiteral("<tr>");
        for (const auto& cell : row) {
            if (const auto* d = std::get_if<double>(&cell))
                h += QStringLiteral("<td class=\"n\" data-v=\"%1\">%2</td>")
                         .arg(esc(core::exactNumberText(*d)), esc(core::readableNumberText(*d)));
            else h += QStringLiteral("<td>%1</td>").arg(esc(core::readableCellText(cell)));
        }
        h += QStringLiteral("</tr>");
    }
    return h + QStringLiteral("</tbody></table></div>");
}

}  // namespace

QByteArray reportToHtml(const core::Report& report, ReportPlots& plots) {
    QString h = QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                               "<title>%1</title><style>%2</style></head><body>\n")
                    .arg(esc(report.title), QString::fromUtf8(kStyle));
    h += QStringLiteral("<header><h1>%1</h1><p class=\"meta\">Model <b>%2</b> · generated %3%4 · quantbench %5<br>Session %6 · %7 runs</p></header>\n")
             .arg(esc(report.title), esc(report.modelName), esc(report.generatedUtc),
                  report.author.empty() ? QString() : QStringLiteral(" by ") + esc(report.author), esc(report.quantbenchVersion),
                  esc(report.sessionFile), QString::number(report.runLabels.size()));
    h += QStringLiteral("<nav id=\"contents\"><h2>Contents</h2><ol>");
    for (const auto& s : report.sections)
        h += QStringLiteral("<li><a href=\"#%1\">%2</a>%3</li>")
                 .arg(esc(s.id), esc(s.title), s.skipped.empty() ? QString() : QStringLiteral(" <span class=\"skipped\">(not in this session)</span>"));
    h += QStringLiteral("</ol></nav>\n");
    for (const auto& s : report.sections) {
        h += QStringLiteral("<section id=\"%1\"><h2>%2</h2>").arg(esc(s.id), esc(s.title));
        if (!s.skipped.empty()) h += QStringLiteral("<p class=\"skipped\">%1</p>").arg(esc(s.skipped));
        for (const auto& w : s.warnings) h += QStringLiteral("<div class=\"warn\">⚠ Different protocols — %1</div>").arg(esc(w));
        for (const auto& l : s.lines) h += QStringLiteral("<p>%1</p>").arg(esc(l));
        for (const auto& id : s.plots) {
            const QSize size(760, plots.preferredHeight(id, 760));
            const QByteArray svg = plots.inlineSvg(id, size);
            if (!svg.isEmpty()) h += QStringLiteral("<figure>") + QString::fromUtf8(svg) + QStringLiteral("</figure>");
        }
        for (const auto& t : s.tables) h += tableHtml(t);
        h += QStringLiteral("</section>\n");
    }
    h += QStringLiteral("<script>%1</script></body></html>\n").arg(QString::fromUtf8(kScript));
    return h.toUtf8();
}

}  // namespace qb::ui
