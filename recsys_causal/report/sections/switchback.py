"""The switchback section: design-based and regression effects, the randomization test, effects by assumed
carryover order; the first effect with the randomization p-value decides."""

from __future__ import annotations

import numpy as np

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.config import SwitchbackSpec
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import interval_finding
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
                               n_draws=s.n_draws, seed=cfg.seed, alpha=cfg.alpha)
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
        text = (f"Effect {est.value:.3g} [{est.ci_low:.3g}, {est.ci_high:.3g}] ({interval_label(cfg.alpha)}; "
                f"{est.method}), randomization p = {ri.p_value:.2g}")
        finding = interval_finding(text, est.ci_low, est.ci_high, ri.p_value < cfg.alpha, ".", ".",
                                   ": not conclusive.")
        return SectionResult(r, data, figures={"carryover": figure}, methods=[method],
                             quality={"events": r.counts}, findings=[finding])
