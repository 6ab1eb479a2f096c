"""The segments section: effects of the primary mean, proportion and ratio metrics by segment, heterogeneity
tests, and harmed segments (each one blocks the decision)."""

from __future__ import annotations

import pandas as pd

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.ab_units import ab_units, treatment_label
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding
from recsys_causal.report.ratio_segments import ratio_segment_effects
from recsys_causal.report.records import estimates_json, records
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Segments: Welch (CUPED) effects per segment; Cochran's Q and a joint interaction "
          "Wald test for heterogeneity; harm = one-sided test in the bad direction, Holm-adjusted.")


@register
class Segments(Section):
    """Segment effects of the primary mean, proportion and ratio metrics (nothing when there are none), with
    heterogeneity tests; every harmed segment blocks the decision."""

    name, title, order = "segments", "Segments", 60
    designs, requires = ("ab",), "segments"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.hte import segment_effects

        ctx.progress("segment effects")
        cfg, seg = ctx.cfg, ctx.cfg.segments
        units = ab_units(ctx).units
        columns = [m.column or m.name for m in cfg.metrics.primary if m.kind in ("mean", "proportion")]
        ratios = [m for m in cfg.metrics.primary if m.kind == "ratio"]
        readouts = [segment_effects(units, metrics=columns, segments=seg.columns, variant_col=cfg.variants.column,
                                    control=cfg.variants.control, treatment=treatment_label(cfg),
                                    prior_interactions_col=seg.prior_interactions, covariates=cfg.covariates,
                                    directions={g.metric: g.direction for g in cfg.guardrails},
                                    min_units=seg.min_units, merge_small=seg.merge_small, alpha=cfg.alpha,
                                    unit_col=cfg.experiment.unit)] if columns else []
        for m in ratios:
            readouts += ratio_segment_effects(units, m, cfg, treatment_label(cfg))
        if not readouts:
            return SectionResult()
        effects = [e for r in readouts for e in r.effects]
        harms = pd.concat([r.harms for r in readouts if len(r.harms)] or [readouts[0].harms], ignore_index=True)
        data = {"effects": estimates_json(effects),
                "heterogeneity": [h for r in readouts for h in records(r.heterogeneity)],
                "harms": records(harms), "warnings": [w for r in readouts for w in r.warnings],
                "ratio_metrics": [m.name for m in ratios]}
        frame = pd.concat([r.to_frame() for r in readouts], ignore_index=True)
        figures = {f"forest_{metric}": self._forest(frame[frame["metric"] == metric], metric, cfg.alpha)
                   for metric in [*columns, *(m.name for m in ratios)]}
        findings = [Finding("blocker", f"Segment {h.dimension}={h.segment} is harmed on {h.metric} "
                                       f"(effect {h.effect:.3g}, adjusted one-sided p = {h.p_adjusted:.2g}).")
                    for h in harms.itertuples(index=False)]
        method = METHOD + (" Ratio metrics (" + ", ".join(m.name for m in ratios) + "): the same on each unit's "
                           "linearised ratio within its segment and arm (delta method)." if ratios else "")
        return SectionResult(readouts, data, figures=figures, methods=[method], findings=findings)

    @staticmethod
    def _forest(f: pd.DataFrame, metric: str, alpha: float) -> str:
        return figure_svg(bar_intervals(
            [f"{a}={b}" for a, b in zip(f["dimension"], f["segment"], strict=True)], f["value"], f["ci_low"],
            f["ci_high"], title=f"{metric}: effect by segment", xlabel="effect", interval=interval_label(alpha)))
