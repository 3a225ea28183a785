#pragma once
// The KL-divergence plots of the Results view (issue 13), filled from the workspace's runs:
//   mean KL(FP16‖run) of every run that has one, as bars (nats per token, lower is better);
//   top-1 agreement with FP16 of the same runs, as bars (percent of positions, higher is better);
//   the per-token KLD strip: KLD_t at every scored position of one window of one run, the
//   token that position predicted in the hover read-out.
// The statistics are core::KldStatistics (core/eval/kl_divergence.h), measured by the
// workbench's jobs against the FP16 baseline or stored by quantbench-cli eval --baseline.

#include <functional>
#include <string>
#include <vector>

#include <QString>

#include "ui/models/run_record.h"

class QCustomPlot;

namespace qb::ui {

[[nodiscard]] QCustomPlot* createKldPlot();   ///< object name "kldBars"
[[nodiscard]] QCustomPlot* createTop1Plot();  ///< object name "top1Bars"

/// The runs with KLD statistics, in the order given (the bars' order).
[[nodiscard]] std::vector<RunPtr> runsWithKld(const std::vector<RunPtr>& runs);
/// Bars of kld->kldMean (on kld) and kld->top1AgreementPercent (on top1) for runsWithKld(runs);
/// a message in each plot when there is none.
void fillKld(QCustomPlot* kld, QCustomPlot* top1, const std::vector<RunPtr>& runs);

/// The text of a token id as it reads on its own (the tokenizer's bytes of the token).
using TokenTextFn = std::function<std::string(int tokenId)>;

/// "“ the”", "“↵”": a token's text made visible for a read-out (quoted; newline, tab and
/// carriage return shown as ↵, →, ␍; bytes that are not UTF-8 as U+FFFD).
[[nodiscard]] QString visibleTokenText(const std::string& bytes);

/// The strip, object name "tokenKldStrip".
[[nodiscard]] QCustomPlot* createTokenKldStrip();
/// Bars of run->tokenKld over window `window` (0-based; run->tokenKldWindowLength() positions,
/// x = position in the window). The read-out of bar i is visibleTokenText(tokenText(target)) on
/// its first line, then its KLD and position. A message instead when the run kept no per-token
/// KLD or window is out of range; run may be null.
void fillTokenKldStrip(QCustomPlot* plot, const RunPtr& run, int window, const TokenTextFn& tokenText);

}  // namespace qb::ui
