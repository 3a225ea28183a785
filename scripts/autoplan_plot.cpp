// Draws the measured Pareto plot of scripts/autoplan_table.sh: bits per weight against held-out
// perplexity (left) and KLD (right), the uniform plans as crosses, the autopilot's plans as
// dots joined in size order. Built and run by autoplan_table.sh (Qt offscreen, QCustomPlot):
//   autoplan_plot pareto.tsv out.png "title"
#include <QApplication>
#include <QFile>
#include <QTextStream>
#include <qcustomplot.h>

#include <algorithm>
#include <map>

struct Point {
    double bpw, ppl, kld;
};

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    if (argc != 4) return 2;
    QFile file(argv[1]);
    if (!file.open(QIODevice::ReadOnly)) return 1;
    std::map<QString, std::vector<Point>> byKind;
    QTextStream in(&file);
    in.readLine();  // header
    while (!in.atEnd()) {
        const QStringList f = in.readLine().split('\t');
        if (f.size() == 5) byKind[f[0]].push_back({f[2].toDouble(), f[3].toDouble(), f[4].toDouble()});
    }
    for (auto& [kind, pts] : byKind) std::sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.bpw < b.bpw; });

    QCustomPlot plot;
    plot.resize(1100, 460);
    plot.plotLayout()->clear();
    auto* title = new QCPTextElement(&plot, argv[3], QFont("DejaVu Sans", 11, QFont::Bold));
    plot.plotLayout()->addElement(0, 0, title);
    plot.plotLayout()->addElement(1, 0, new QCPLayoutGrid);
    auto* grid = static_cast<QCPLayoutGrid*>(plot.plotLayout()->element(1, 0));
    const char* names[2] = {"held-out perplexity", "held-out KLD (nats)"};
    for (int panel = 0; panel < 2; ++panel) {
        auto* rect = new QCPAxisRect(&plot);
        grid->addElement(0, panel, rect);
        rect->axis(QCPAxis::atBottom)->setLabel("bits per weight (linear modules)");
        rect->axis(QCPAxis::atLeft)->setLabel(names[panel]);
        for (const auto& [kind, pts] : byKind) {
            auto* g = plot.addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            const bool isAuto = kind == "autopilot";
            g->setName(isAuto ? "autopilot (plan --auto at the uniform plan's size)" : "uniform plans (gptq, awq, rtn × 3, 4 bits × g32, g64, g128, per row)");
            for (const auto& p : pts) g->addData(p.bpw, panel == 0 ? p.ppl : p.kld);
            g->setPen(QPen(isAuto ? QColor(200, 40, 40) : QColor(40, 80, 200), 1.5));
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(isAuto ? QCPScatterStyle::ssDisc : QCPScatterStyle::ssCross, 8));
        }
        rect->axis(QCPAxis::atBottom)->rescale();
        rect->axis(QCPAxis::atLeft)->rescale();
        rect->axis(QCPAxis::atBottom)->scaleRange(1.1);
        rect->axis(QCPAxis::atLeft)->scaleRange(1.15);
    }
    // One legend under the title's row, listing both series once.
    auto* legend = new QCPLegend;
    plot.plotLayout()->addElement(2, 0, legend);
    plot.plotLayout()->setRowStretchFactor(2, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    for (int i = 0; i < 2 && i < plot.graphCount(); ++i) plot.graph(i)->addToLegend(legend);
    plot.replot();
    return plot.savePng(argv[2], 1100, 460) ? 0 : 1;
}
