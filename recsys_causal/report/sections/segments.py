"""The segments section: effects of the primary mean and proportion metrics by segment, heterogeneity tests, and
harmed segments (each one blocks the decision)."""

from __future__ import annotations

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.ab_units import ab_units, treatment_label
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding
from recsys_causal.report.records import estimates_json, records
from recsys_causal.report.sections.base import Section, SectionResult, register

METHOD = ("Segments: Welch (CUPED) effects per segment; Cochran's Q and a joint interaction "
          "Wald test for heterogeneity; harm = one-sided test in the bad direction, Holm-adjusted.")


@register
class Segments(Section):
    """Segment effects of the primary mean and proportion metrics (nothing when there are none), with
    heterogeneity tests; every harmed segment blocks the decision."""

    name, title, order = "segments", "Segments", 60
    designs, requires = ("ab",), "segments"

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.hte import segment_effects

        ctx.progress("segment effects")
        cfg, seg = ctx.cfg, ctx.cfg.segments
        columns = [m.column or m.name for m in cfg.metrics.primary if m.kind in ("mean", "proportion")]
        if not columns:
            return SectionResult()
        r = segment_effects(ab_units(ctx).units, metrics=columns, segments=seg.columns, variant_col=cfg.variants.column,
                            control=cfg.variants.control, treatment=treatment_label(cfg),
                            prior_interactions_col=seg.prior_interactions, covariates=cfg.covariates,
                            directions={g.metric: g.direction for g in cfg.guardrails}, min_units=seg.min_units,
                            merge_small=seg.merge_small, alpha=cfg.alpha, unit_col=cfg.experiment.unit)
        data = {"effects": estimates_json(r.effects), "heterogeneity": records(r.heterogeneity),
                "harms": records(r.harms), "warnings": r.warnings}
        frame = r.to_frame()
        figures = {}
        for metric in columns:
            f = frame[frame["metric"] == metric]
            figures[f"forest_{metric}"] = figure_svg(bar_intervals(
                [f"{a}={b}" for a, b in zip(f["dimension"], f["segment"], strict=True)], f["value"], f["ci_low"],
                f["ci_high"], title=f"{metric}: effect by segment", xlabel="effect", interval=interval_label(cfg.alpha)))
        findings = [Finding("blocker", f"Segment {h.dimension}={h.segment} is harmed on {h.metric} "
                                       f"(effect {h.effect:.3g}, adjusted one-sided p = {h.p_adjusted:.2g}).")
                    for h in r.harms.itertuples(index=False)]
        return SectionResult(r, data, figures=figures, methods=[METHOD], findings=findings)
