"""The switchback section: design-based and regression effects, the randomization test, effects by assumed
carryover order; the first effect with the randomization p-value decides."""

from __future__ import annotations

import numpy as np

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.config import SwitchbackSpec
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding, interval_finding
from recsys_causal.report.records import estimates_json, json_number
from recsys_causal.report.sections.base import Section, SectionResult, register


@register
class Switchback(Section):
    """The switchback readout of ``data.schedule`` and ``data.events``; contributes the event counts to data
    quality."""

    name, title, order, designs = "switchback", "Switchback", 70, ("switchback",)

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.switchback import SwitchbackDesign, analyze_switchback

        cfg, s = ctx.cfg, ctx.cfg.switchback or SwitchbackSpec()
        schedule, _ = ctx.table(cfg.data.schedule, "data.schedule")
        events, _ = ctx.table(cfg.data.events, "data.events")
        design = SwitchbackDesign(s.design, p=s.p, carryover_order=s.carryover_order or None) \
            if s.design == "minimax" else SwitchbackDesign(s.design, p=s.p)
        ctx.progress(f"analysing the switchback ({s.n_draws} randomization draws)")
        r = analyze_switchback(schedule, events, design=design, carryover_order=s.carryover_order,
                               max_carryover_order=s.max_carryover_order, burn_in_minutes=s.burn_in_minutes,
                               n_draws=s.n_draws, seed=cfg.seed, alpha=cfg.alpha, value_col=s.metric)
        ri = r.randomization
        data = {"estimates": estimates_json(r.estimates),
                "randomization": {"statistic": json_number(ri.statistic), "p_value": json_number(ri.p_value),
                                  "ci_low": json_number(ri.ci_low), "ci_high": json_number(ri.ci_high),
                                  "n_draws": ri.n_draws},
                "carryover": estimates_json(r.carryover), "events": r.counts, "blocks": int(len(r.blocks)),
                "design": s.model_dump(), "warnings": r.warnings}
        c = [e for e in r.carryover if np.isfinite(e.value)]
        figure = figure_svg(bar_intervals(
            [e.name for e in c], [e.value for e in c], [e.ci_low for e in c], [e.ci_high for e in c],
            title="Effect by assumed carryover order m", xlabel="always-treat minus never-treat effect",
            interval=interval_label(cfg.alpha)))
        method = (f"Switchback: m-aware Hajek estimator (m={s.carryover_order}) with exact design probabilities; "
                  "OLS with hour, weekday and cluster effects and cluster-robust errors by switch run; Fisher "
                  f"randomization test by redrawing the {s.design} design; burn-in of {s.burn_in_minutes:g} "
                  "minutes after each switch.")
        est = r.estimates[0]
        what = (f"{s.metric_label or s.metric} (mean of {s.metric} per {cfg.experiment.unit} block of "
                f"{_block_length(schedule)})")
        checks = carryover_checks(est, r.carryover, cfg.alpha)
        data.update(metric=s.metric, metric_label=s.metric_label or s.metric, unit=cfg.experiment.unit,
                    summary=what, carryover_check=checks, carryover_note=carryover_note(checks, s.carryover_order))
        text = (f"Effect on {what}: {est.value:.3g} [{est.ci_low:.3g}, {est.ci_high:.3g}] "
                f"({interval_label(cfg.alpha)}; {est.method}), randomization p = {ri.p_value:.2g}")
        finding = interval_finding(text, est.ci_low, est.ci_high, ri.p_value < cfg.alpha, ".", ".",
                                   ": not conclusive.")
        if data["carryover_note"]:
            finding = Finding(finding.kind, f"{finding.text} {data['carryover_note']}")
        return SectionResult(r, data, figures={"carryover": figure}, methods=[method],
                             quality={"events": r.counts}, findings=[finding])


def _block_length(schedule) -> str:
    """The typical block length of the schedule, e.g. ``1 h`` or ``30 min``."""
    minutes = float((schedule["block_end"] - schedule["block_start"]).median() / np.timedelta64(1, "m"))
    return f"{minutes / 60:g} h" if minutes % 60 == 0 else f"{minutes:g} min"


def carryover_checks(chosen, carryover, alpha: float) -> list[dict]:
    """The design-based estimate at every other assumed carryover order, and whether it agrees with the chosen
    one in sign and in significance (its interval excluding 0 at level ``alpha``)."""
    def significant(e) -> bool:
        return bool(e.ci_low > 0 or e.ci_high < 0)

    out = []
    for e in carryover:
        m = e.details.get("carryover_order")
        if e.details.get("windows_treated") is None or m == chosen.details.get("carryover_order") \
                or not np.isfinite(e.value):
            continue
        same_sign = bool(np.sign(e.value) == np.sign(chosen.value))
        same_sig = significant(e) == significant(chosen)
        out.append({"carryover_order": int(m), "value": json_number(e.value), "ci_low": json_number(e.ci_low),
                    "ci_high": json_number(e.ci_high), "p_value": json_number(e.p_value), "same_sign": same_sign,
                    "significant": significant(e), "agrees": same_sign and same_sig})
    return out


def carryover_note(checks: list[dict], m: int) -> str | None:
    """One sentence naming the carryover orders whose estimate disagrees with the one at ``m`` (else None)."""
    bad = [c for c in checks if not c["agrees"]]
    if not bad:
        return None
    parts = [f"m={c['carryover_order']}: {c['value']:.3g} [{c['ci_low']:.3g}, {c['ci_high']:.3g}], "
             + ("opposite sign" if not c["same_sign"] else "significant" if c["significant"] else "not significant")
             for c in bad]
    return (f"Caution: the estimate depends on the assumed carryover order (m={m} used; " + "; ".join(parts) + ").")
