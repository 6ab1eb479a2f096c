"""The incrementality-holdout section: intent-to-treat lift, effect on the exposed, over-credit; the ITT interval
decides."""

from __future__ import annotations

from recsys_causal.estimate import interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.config import HoldoutSpec
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding, interval_finding, pct
from recsys_causal.report.inputs import check_columns, check_labels, holdout_columns, unique_table
from recsys_causal.report.records import estimates_json, json_number
from recsys_causal.report.sections.base import Section, SectionResult, register


@register
class Holdout(Section):
    """The holdout readout of ``data.units``; contributes the units by group to data quality."""

    name, title, order, designs = "holdout", "Incrementality holdout", 80, ("holdout",)

    def run(self, ctx: ReportContext) -> SectionResult:
        from recsys_causal.incrementality import analyze_holdout

        cfg, h = ctx.cfg, ctx.cfg.holdout or HoldoutSpec()
        unit = cfg.experiment.unit
        units = path = None
        if cfg.data.decision_log:
            r = holdout_from_log(ctx, h)
        else:
            units, path = ctx.table(cfg.data.units, "data.units")
            check_columns(units, holdout_columns(unit, h), f"data.units ({path.name})")
            units = unique_table(units, unit, path, "data.units", ctx)
            check_labels(units, h.group_col, [("holdout.holdout_label", h.holdout_label),
                                              ("holdout.treated_label", h.treated_label)])
            ctx.progress("analysing the holdout")
            r = analyze_holdout(units, group_col=h.group_col, holdout_label=h.holdout_label,
                                treated_label=h.treated_label, exposed_col=h.exposed_col, ghost_col=h.ghost_col,
                                outcome_col=h.outcome_col, revenue_col=h.revenue_col,
                                attributed_col=h.attributed_col, cost_col=h.cost_col, covariates=h.covariates,
                                unit_col=unit, alpha=cfg.alpha, source=path.name,
                                allow_holdout_exposure=h.allow_holdout_exposure)
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
        quality = {"units": {h.treated_label: r.counts["treated"], h.holdout_label: r.counts["holdout"]}}
        findings = [finding]
        if h.planned_share is not None:
            quality["srm"], share_finding = holdout_share_check(quality["units"], h)
            findings.insert(0, share_finding)
            method += (" Holdout share: chi-square test of the observed against the planned share "
                       f"(holdout.planned_share), flagged at p < {quality['srm']['threshold']:g}.")
        if h.segments:
            seg_units, name = ((r.log_units.units, "the units built from data.decision_log") if units is None
                               else (units, f"data.units ({path.name})"))
            data["complier_segments"], note = complier_segments(ctx, seg_units, name, h)
            method += note
        return SectionResult(r, data, figures={"holdout": figure}, methods=[method], warnings=list(r.warnings),
                             quality=quality, findings=findings)


def complier_segments(ctx: ReportContext, units, name: str, h: HoldoutSpec) -> tuple[list[dict], str]:
    """The effect on the exposed by each of ``holdout.segments`` (complier effects with a χ² heterogeneity test)
    on the readout's unit table ``units`` (named ``name`` in errors) and its method note."""
    cfg = ctx.cfg
    check_columns(units, [(f"holdout.segments[{i}]", c) for i, c in enumerate(h.segments)], name)
    rows = [_complier(units, h, seg, cfg.experiment.unit, cfg.alpha, name) for seg in h.segments]
    return rows, (" Effect on the exposed by segment: 2SLS with segment interactions (the Wald ratio per "
                  "segment, HC1), with a χ² test that the segment effects are equal.")


def holdout_from_log(ctx: ReportContext, h: HoldoutSpec):
    """The holdout readout of ``data.decision_log`` (exposure from shown module items, ghost exposures from
    suppressed slates, the outcome a request column or a column of ``data.covariates_table``); its request
    accounting joins the data-quality section."""
    from recsys_causal.incrementality import analyze_holdout
    from recsys_causal.logs import read_decision_log
    from recsys_causal.report.ab_units import unit_accounting
    from recsys_causal.report.records import source_quality

    cfg, d = ctx.cfg, ctx.cfg.data
    path = ctx.path(d.decision_log, "data.decision_log")
    table = ctx.table(d.covariates_table, "data.covariates_table")[0] if d.covariates_table else None
    from_table = table is not None and h.outcome_col in table.columns
    ctx.progress(f"reading decision log {path.name}")
    log, report = read_decision_log(path, request_columns=[] if from_table else [h.outcome_col])
    ctx.data_quality["sources"].append(source_quality(path.name, report))
    check_columns(log.requests, [("experiment.unit", cfg.experiment.unit), ("holdout.group_col", h.group_col)],
                  f"the requests of data.decision_log ({path.name})")
    ctx.progress("analysing the holdout")
    r = analyze_holdout(log, group_col=h.group_col, holdout_label=h.holdout_label, treated_label=h.treated_label,
                        outcome_col=h.outcome_col, covariates=h.covariates, unit_col=cfg.experiment.unit,
                        alpha=cfg.alpha, source=path.name, allow_holdout_exposure=h.allow_holdout_exposure,
                        window=d.metric_window, as_of=d.as_of, module=h.module, unit_table=table,
                        variant_col=h.group_col)
    ctx.data_quality["unit_metrics"] = unit_accounting(r.log_units.metrics)
    return r


def holdout_share_check(units: dict[str, int], h: HoldoutSpec) -> tuple[dict, Finding]:
    """The sample-ratio check of a holdout: observed units per group against the planned holdout share; a
    mismatch blocks (the groups were not split as planned, so no comparison between them can be trusted)."""
    from recsys_causal.experiments.srm import srm_from_counts

    expected = {h.treated_label: 1 - h.planned_share, h.holdout_label: h.planned_share}
    srm = srm_from_counts(units, expected)
    share = units[h.holdout_label] / sum(units.values())
    data = {"observed": dict(units), "expected": expected, "chi2": json_number(srm.chi2),
            "p_value": json_number(srm.p_value), "threshold": srm.threshold, "flagged": bool(srm.flagged),
            "observed_share": share}
    text = (f"Holdout share {pct(share)} against the planned {pct(h.planned_share)} (sample-ratio check "
            f"p = {srm.p_value:.2g})")
    if srm.flagged:
        return data, Finding("blocker", text + ": the groups were not split as planned, so no comparison between "
                                               "them can be trusted.")
    return data, Finding("reason", text + ": matches.")


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
