"""The incrementality-holdout section: intent-to-treat lift, effect on the exposed, over-credit; the ITT interval
decides."""

from __future__ import annotations

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.config import HoldoutSpec
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import interval_finding
from recsys_causal.report.inputs import check_columns, check_labels, holdout_columns, unique_table
from recsys_causal.report.records import estimates_json
from recsys_causal.report.sections.base import Section, SectionResult, register


@register
class Holdout(Section):
    """The holdout readout of ``data.units``; contributes the units by group to data quality."""

    name, title, order, designs = "holdout", "Incrementality holdout", 80, ("holdout",)

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.incrementality import analyze_holdout

        cfg, h = ctx.cfg, ctx.cfg.holdout or HoldoutSpec()
        unit = cfg.experiment.unit
        units, path = ctx.table(cfg.data.units, "data.units")
        check_columns(units, holdout_columns(unit, h), f"data.units ({path.name})")
        units = unique_table(units, unit, path, "data.units", ctx)
        check_labels(units, h.group_col, [("holdout.holdout_label", h.holdout_label),
                                          ("holdout.treated_label", h.treated_label)])
        ctx.progress("analysing the holdout")
        r = analyze_holdout(units, group_col=h.group_col, holdout_label=h.holdout_label,
                            treated_label=h.treated_label, exposed_col=h.exposed_col, ghost_col=h.ghost_col,
                            outcome_col=h.outcome_col, revenue_col=h.revenue_col, attributed_col=h.attributed_col,
                            cost_col=h.cost_col, covariates=h.covariates, unit_col=unit, alpha=cfg.alpha,
                            source=path.name, allow_holdout_exposure=h.allow_holdout_exposure)
        shown = [e for e in r.estimates if e.name.startswith(("ITT lift (absolute)", "effect on exposed"))]
        figure = figure_svg(bar_intervals(
            [e.name for e in shown], [e.value for e in shown], [e.ci_low for e in shown], [e.ci_high for e in shown],
            title="Incrementality: ITT and effect on the exposed", xlabel="conversion-rate difference",
            interval=interval_label(cfg.alpha)))
        wald = ("the Wald/Bloom estimator (a complier effect here: "
                f"{r.counts['holdout_exposed']} holdout units were exposed)" if r.counts.get("holdout_exposed")
                else "the Wald/Bloom estimator")
        method = ("Holdout: intent-to-treat difference in means (CUPED when covariates are given); effect on the "
                  f"exposed by {wald} and by the ghost-exposure comparison; "
                  "over-credit = attributed ÷ incremental conversions with a Fieller interval.")
        itt = r.estimates["ITT lift (absolute)"]
        text = (f"Intent-to-treat lift {itt.value:.3g} [{itt.ci_low:.3g}, {itt.ci_high:.3g}] "
                f"({interval_label(cfg.alpha)})")
        finding = interval_finding(text, itt.ci_low, itt.ci_high, True, ": the module adds conversions.",
                                   ": the module costs conversions.", " is not distinguishable from 0.")
        data = {"estimates": estimates_json(r.estimates), "counts": r.counts, "assumptions": list(r.assumptions),
                "warnings": r.warnings}
        if h.segments:
            check_columns(units, [(f"holdout.segments[{i}]", c) for i, c in enumerate(h.segments)],
                          f"data.units ({path.name})")
            data["complier_segments"] = [_complier(units, h, seg, unit, cfg.alpha, path.name) for seg in h.segments]
            method += (" Effect on the exposed by segment: 2SLS with segment interactions (the Wald ratio per "
                       "segment, HC1), with a χ² test that the segment effects are equal.")
        return SectionResult(r, data, figures={"holdout": figure}, methods=[method], warnings=list(r.warnings),
                             quality={"units": {h.treated_label: r.counts["treated"],
                                                h.holdout_label: r.counts["holdout"]}},
                             findings=[finding])


def _complier(units, h: HoldoutSpec, segment: str, unit: str, alpha: float, source: str) -> dict:
    """The effect on the exposed (complier effect) by ``segment``, its differences and the χ² heterogeneity test."""
    from recsys_causal.incrementality.complier import complier_effects

    c = complier_effects(units, outcome=h.outcome_col, takeup=h.exposed_col, assignment=h.group_col,
                         labels=(h.treated_label, h.holdout_label), segment=segment, covariates=h.covariates,
                         unit_col=unit, alpha=alpha, source=source)
    het = c.heterogeneity.iloc[0]
    return {"dimension": segment, "estimates": estimates_json(c.estimates), "counts": c.counts,
            "chi2": float(het["chi2"]), "df": int(het["df"]), "p_value": float(het["p_value"]),
            "warnings": list(c.warnings)}
