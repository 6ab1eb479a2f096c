"""Run the analysis plan of an ``experiment.yaml``: load data, run the readouts, decide, collect figures.

The result is plain data (a JSON-ready dict) plus figures as SVG strings; rendering is separate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import interval_label
from recsys_causal.report.config import HoldoutSpec, ReportConfig, SwitchbackSpec, resolve
from recsys_causal.report.decision import decide
from recsys_causal.report.figures import bar_intervals, effect_by_day_figure, figure_svg
from recsys_causal.report.inputs import (
    ab_columns,
    check_columns,
    check_labels,
    count_duplicates,
    holdout_columns,
    unique_table,
)
from recsys_causal.report.records import (
    estimates_json,
    json_number,
    read_table,
    records,
    reproducibility,
    source_quality,
)
from recsys_causal.suggest import choices_text, did_you_mean

SCHEMA_VERSION = 1
Progress = Callable[[str], None]


def run_plan(cfg: ReportConfig, base: Path, config_bytes: bytes, progress: Progress = lambda _: None) -> dict:
    """Every section of the report as data, with ``figures`` holding SVG strings."""
    inputs: dict[str, Path] = {}
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "experiment": cfg.experiment.model_dump(),
        "alpha": cfg.alpha,
        "data_quality": {"sources": []},
        "metrics": [], "guardrails": [], "segments": None, "novelty": None, "switchback": None, "holdout": None,
        "ope": None,
        "methods": [], "figures": {},
    }
    design = cfg.experiment.design
    if design == "ab":
        _ab(cfg, base, result, inputs, progress)
    elif design == "holdout":
        _holdout(cfg, base, result, inputs, progress)
    else:
        _switchback(cfg, base, result, inputs, progress)
    if cfg.ope_screen:
        _ope_screen(cfg, base, result, inputs, progress)
    result["decision"] = decide(result, design)
    result["reproducibility"] = reproducibility(cfg, config_bytes, inputs)
    return result


# ----------------------------------------------------------------------------- A/B


def _ab(cfg, base, result, inputs, progress) -> None:
    from recsys_causal.experiments import Guardrail, analyze_ab, unit_metrics_from_log
    from recsys_causal.logs import read_decision_log

    d = cfg.data
    unit = cfg.experiment.unit
    log = None
    if d.decision_log:
        path = resolve(base, d.decision_log, "data.decision_log")
        events = resolve(base, d.outcome_events, "data.outcome_events")
        inputs["data.decision_log"] = path
        if events is not None:
            inputs["data.outcome_events"] = events
        progress(f"reading decision log {path.name}")
        log, report = read_decision_log(path, outcome_events=events, labels=d.labels or None, as_of=d.as_of)
        result["data_quality"]["sources"].append(source_quality(path.name, report))
        check_columns(log.requests, [("experiment.unit", unit), ("variants.column", cfg.variants.column)],
                      f"the requests of data.decision_log ({path.name})")
        if d.as_of is None:
            raise ConfigError("data.as_of is required with a decision log (it decides which windows are mature)",
                              column="data.as_of", fix="add e.g. as_of: '2026-06-20T00:00:00Z'")
        progress("building unit metrics")
        um = unit_metrics_from_log(log, window=d.metric_window, as_of=d.as_of, unit_col=unit,
                                   variant_col=cfg.variants.column)
        units = um.units
        result["data_quality"]["unit_metrics"] = {
            "window": str(um.window), "as_of": str(um.as_of), "units": int(len(units)),
            "immature_units_excluded": int(um.n_immature),
            "multi_variant_units_quarantined": int(um.quarantine.count) if um.quarantine else 0,
            "missing_outcomes": {k: int(v) for k, v in um.missing_outcomes.items()},
            "requests_read": int(um.n_requests_read), "requests_used": int(um.n_requests_used),
            "requests_quarantined": {k: int(v) for k, v in um.requests_quarantined.items()},
            "requests_excluded": {k: int(v) for k, v in um.requests_excluded.items()},
            "reconciles": bool(um.reconciles()),
        }
    else:
        path = resolve(base, d.units, "data.units")
        inputs["data.units"] = path
        units = unique_table(read_table(path), unit, path, "data.units", result)
    if d.covariates_table:
        from recsys_causal.checks import join_units

        cpath = resolve(base, d.covariates_table, "data.covariates_table")
        inputs["data.covariates_table"] = cpath
        extra = read_table(cpath)
        check_columns(extra, [("experiment.unit", unit)], f"data.covariates_table ({cpath.name})")
        check_columns(units, [("experiment.unit", unit)], "the unit table")
        units, dedup = join_units(units, extra, unit, name=str(cpath))
        count_duplicates(result, "data.covariates_table", dedup)
    metrics = [_metric(m, "primary") for m in cfg.metrics.primary]
    metrics += [_metric(m, "secondary") for m in cfg.metrics.secondary]
    guardrails = [Guardrail(g.metric, direction=g.direction, margin=g.margin, relative=g.relative, alpha=cfg.alpha)
                  for g in cfg.guardrails]
    check_columns(units, ab_columns(cfg), "the unit table" + (" (built from data.decision_log)" if log else ""))
    check_labels(units, cfg.variants.column, [(f"variants.expected_split.{k}", k) for k in cfg.variants.expected_split])
    progress("analysing the A/B test")
    ab = analyze_ab(units, variant_col=cfg.variants.column, control=cfg.variants.control, metrics=metrics,
                    guardrails=guardrails, covariates=cfg.covariates or None,
                    expected_split=cfg.variants.expected_split, unit_col=unit, alpha=cfg.alpha,
                    **_covariate_times(cfg, units))
    srm = ab.srm
    result["data_quality"]["srm"] = {"observed": {k: int(v) for k, v in srm.observed.items()},
                                     "expected": srm.expected, "chi2": json_number(srm.chi2),
                                     "p_value": json_number(srm.p_value), "threshold": srm.threshold,
                                     "flagged": bool(srm.flagged)}
    result["data_quality"]["units"] = {k: int(v) for k, v in ab.n_units.items()}
    result["metrics"] = estimates_json(ab.metrics)
    result["guardrails"] = estimates_json(ab.guardrails)
    result["warnings"] = result.get("warnings", []) + list(ab.warnings)
    rel = [e for e in ab.metrics if e.details.get("lift") == "relative"]
    if rel:
        result["figures"]["lifts"] = figure_svg(bar_intervals(
            [f"{e.details.get('metric')} ({e.details.get('variant')})" for e in rel],
            [e.value for e in rel], [e.ci_low for e in rel], [e.ci_high for e in rel],
            title="Relative lift", xlabel="relative lift (treatment / control − 1)",
            interval=interval_label(rel[0].alpha)))
    if len(ab.guardrails):
        g = list(ab.guardrails)
        result["figures"]["guardrails"] = figure_svg(bar_intervals(
            [str(e.details.get("guardrail")) for e in g], [e.details["harm"] for e in g],
            [e.details["harm_lower"] for e in g], [e.details["harm_upper"] for e in g],
            title="Guardrails: harm (one-sided bounds) against the margin", xlabel="harm in the bad direction",
            marks=[e.details["margin"] for e in g], interval=interval_label(g[0].alpha, "bounds")))
    result["methods"] += [
        "Lifts: Welch t (Welch–Satterthwaite df) for differences, delta method for ratio metrics; each relative "
        "lift shares the p-value of its absolute lift (one hypothesis per metric) with a Fieller interval"
        + (", CUPED with pre-period covariates " + ", ".join(cfg.covariates) if cfg.covariates else "") + ".",
        "Multiplicity: Holm across primary metrics, Benjamini–Hochberg across secondary metrics.",
        "Guardrails: one-sided non-inferiority tests against each margin (ok / violated / inconclusive).",
        f"Sample-ratio mismatch: chi-square against the expected split, flagged at p < {srm.threshold:g}.",
    ]
    if cfg.segments is not None:
        _segments(cfg, units, result, progress)
    if cfg.novelty is not None:
        _novelty(cfg, log, result, progress)


def _covariate_times(cfg, units: pd.DataFrame) -> dict:
    """``covariate_times`` / ``first_exposure_col`` for analyze_ab from the YAML (nothing when not given)."""
    if not cfg.covariate_times:
        return {}
    if cfg.first_exposure not in units.columns:
        raise ConfigError(f"first_exposure: the unit table has no column {cfg.first_exposure!r} to compare "
                          "covariate_times with", column="first_exposure",
                          fix=f"name the first-exposure column; columns present: {sorted(map(str, units.columns))[:20]}")
    return {"covariate_times": dict(cfg.covariate_times), "first_exposure_col": cfg.first_exposure}


def _novelty(cfg, log, result, progress) -> None:
    from recsys_causal.errors import EstimationError
    from recsys_causal.experiments import decay_from_panel, effect_by_day, novelty_panel

    progress("novelty-decay readout")
    nv = cfg.novelty
    if nv.metric not in log.reward_columns:
        raise ConfigError(f"novelty.metric: {nv.metric!r} is not an outcome of data.decision_log"
                          f"{did_you_mean(nv.metric, log.reward_columns)}", column="novelty.metric",
                          fix=f"use one of the outcome columns {choices_text(log.reward_columns)}")
    panel = novelty_panel(log, metric=nv.metric, unit=cfg.experiment.unit, variant_col=cfg.variants.column,
                          as_of=cfg.data.as_of, days=nv.days)
    treatment = _treatment(cfg)
    kw = {"metric": "value", "control": cfg.variants.control, "treatment": treatment, "alpha": cfg.alpha}
    section = {"metric": nv.metric, "by_day": None, "fit": None, "note": None}
    try:
        daily, fit = decay_from_panel(panel, **kw)  # GLS with the covariance of the daily effects
        decay = {"label": fit.label, "long_run": estimates_json([fit.long_run])[0],
                 "initial": estimates_json([fit.initial])[0], "tau_days": json_number(fit.tau),
                 "p_initial_equals_long_run": json_number(fit.p_value), "identified": bool(fit.identified),
                 "effect": estimates_json([fit.effect])[0], "not_identified_reason": fit.note or None}
        if fit.identified:
            section["fit"] = decay
        else:  # no long-run effect to show: the page prints the note, the JSON keeps the fit under "decay"
            section["decay"] = decay
            section["note"] = _not_identified_text(nv.metric, fit, cfg.alpha)
        curve_t = np.linspace(0, daily["days_since_exposure"].max(), 50)
        curve = (curve_t, fit.predict(curve_t) if fit.identified else np.full(50, fit.effect.value))
        curve_label = "fitted decay" if fit.identified else "constant effect (decay not identified)"
    except EstimationError as exc:
        daily = effect_by_day(panel, **kw)
        section["note"] = f"decay curve not fitted: {exc}"
        curve, curve_label = None, ""
    section["by_day"] = records(daily)
    result["novelty"] = section
    result["figures"]["novelty"] = figure_svg(effect_by_day_figure(
        daily, curve, nv.metric, interval=interval_label(cfg.alpha), curve_label=curve_label))
    result["methods"].append("Novelty: daily effect by days since first exposure (Welch, per day); decay curve "
                             "long_run + (initial − long_run)·exp(−t/τ) by generalised least squares with the "
                             "covariance of the daily effects; label novelty / primacy / stable. When the decay "
                             "is not identified (stable, τ at a bound, or a long-run interval far wider than the "
                             "daily ones) the constant-effect GLS mean is reported instead.")


def _not_identified_text(metric: str, fit, alpha: float) -> str:
    e = fit.effect
    return (f"{metric}: {fit.label}. The decay was not identified ({fit.note}), so no long-run effect is reported; "
            f"constant effect over the days (GLS mean with the covariance of the daily effects) {e.value:.4g} "
            f"[{e.ci_low:.4g}, {e.ci_high:.4g}] ({100 * (1 - alpha):g}% interval); test of initial = long-run "
            f"p = {fit.p_value:.4g}.")


def _segments(cfg, units, result, progress) -> None:
    from recsys_causal.hte import segment_effects

    progress("segment effects")
    seg = cfg.segments
    columns = [m.column or m.name for m in cfg.metrics.primary if m.kind in ("mean", "proportion")]
    if not columns:
        return
    directions = {g.metric: g.direction for g in cfg.guardrails}
    r = segment_effects(units, metrics=columns, segments=seg.columns, variant_col=cfg.variants.column,
                        control=cfg.variants.control, treatment=_treatment(cfg),
                        prior_interactions_col=seg.prior_interactions, covariates=cfg.covariates,
                        directions=directions, min_units=seg.min_units, merge_small=seg.merge_small,
                        alpha=cfg.alpha, unit_col=cfg.experiment.unit)
    result["segments"] = {
        "effects": estimates_json(r.effects),
        "heterogeneity": records(r.heterogeneity),
        "harms": records(r.harms),
        "warnings": r.warnings,
    }
    for metric in columns:
        frame = r.to_frame()
        frame = frame[frame["metric"] == metric]
        result["figures"][f"forest_{metric}"] = figure_svg(bar_intervals(
            [f"{a}={b}" for a, b in zip(frame["dimension"], frame["segment"], strict=True)], frame["value"],
            frame["ci_low"], frame["ci_high"], title=f"{metric}: effect by segment", xlabel="effect",
            interval=interval_label(cfg.alpha)))
    result["methods"].append("Segments: Welch (CUPED) effects per segment; Cochran's Q and a joint interaction "
                             "Wald test for heterogeneity; harm = one-sided test in the bad direction, Holm-adjusted.")


def _treatment(cfg) -> str:
    others = [v for v in cfg.variants.expected_split if v != cfg.variants.control]
    return others[0] if others else "treatment"


def _metric(m, role):
    return m.to_metric(role)


# ----------------------------------------------------------------------------- holdout


def _holdout(cfg, base, result, inputs, progress) -> None:
    from recsys_causal.incrementality import analyze_holdout

    path = resolve(base, cfg.data.units, "data.units")
    inputs["data.units"] = path
    h = cfg.holdout or HoldoutSpec()
    units = read_table(path)
    check_columns(units, holdout_columns(cfg.experiment.unit, h), f"data.units ({path.name})")
    units = unique_table(units, cfg.experiment.unit, path, "data.units", result)
    check_labels(units, h.group_col, [("holdout.holdout_label", h.holdout_label),
                                      ("holdout.treated_label", h.treated_label)])
    progress("analysing the holdout")
    r = analyze_holdout(units, group_col=h.group_col, holdout_label=h.holdout_label, treated_label=h.treated_label,
                        exposed_col=h.exposed_col, ghost_col=h.ghost_col, outcome_col=h.outcome_col,
                        revenue_col=h.revenue_col, attributed_col=h.attributed_col, cost_col=h.cost_col,
                        covariates=h.covariates, unit_col=cfg.experiment.unit, alpha=cfg.alpha, source=path.name,
                        allow_holdout_exposure=h.allow_holdout_exposure)
    result["holdout"] = {"estimates": estimates_json(r.estimates), "counts": r.counts,
                         "assumptions": list(r.assumptions), "warnings": r.warnings}
    result["warnings"] = list(r.warnings)  # shown on the page (e.g. a Wald complier effect under holdout exposure)
    result["data_quality"]["units"] = {h.treated_label: r.counts["treated"], h.holdout_label: r.counts["holdout"]}
    shown = [e for e in r.estimates if e.name.startswith(("ITT lift (absolute)", "effect on exposed"))]
    result["figures"]["holdout"] = figure_svg(bar_intervals(
        [e.name for e in shown], [e.value for e in shown], [e.ci_low for e in shown], [e.ci_high for e in shown],
        title="Incrementality: ITT and effect on the exposed", xlabel="conversion-rate difference",
        interval=interval_label(cfg.alpha)))
    wald = ("the Wald/Bloom estimator (a complier effect here: "
            f"{r.counts['holdout_exposed']} holdout units were exposed)" if r.counts.get("holdout_exposed")
            else "the Wald/Bloom estimator")
    result["methods"] += ["Holdout: intent-to-treat difference in means (CUPED when covariates are given); effect "
                          f"on the exposed by {wald} and by the ghost-exposure comparison; "
                          "over-credit = attributed ÷ incremental conversions with a Fieller interval."]


# ----------------------------------------------------------------------------- switchback


def _switchback(cfg, base, result, inputs, progress) -> None:
    from recsys_causal.switchback import SwitchbackDesign, analyze_switchback

    sp = resolve(base, cfg.data.schedule, "data.schedule")
    ep = resolve(base, cfg.data.events, "data.events")
    inputs["data.schedule"], inputs["data.events"] = sp, ep
    s = cfg.switchback or SwitchbackSpec()
    design = SwitchbackDesign(s.design, p=s.p, carryover_order=s.carryover_order or None) if s.design == "minimax" \
        else SwitchbackDesign(s.design, p=s.p)
    progress(f"analysing the switchback ({s.n_draws} randomization draws)")
    r = analyze_switchback(read_table(sp), read_table(ep), design=design, carryover_order=s.carryover_order,
                           max_carryover_order=s.max_carryover_order, burn_in_minutes=s.burn_in_minutes,
                           n_draws=s.n_draws, seed=cfg.seed, alpha=cfg.alpha)
    ri = r.randomization
    result["switchback"] = {
        "estimates": estimates_json(r.estimates),
        "randomization": {"statistic": json_number(ri.statistic), "p_value": json_number(ri.p_value), "ci_low": json_number(ri.ci_low),
                          "ci_high": json_number(ri.ci_high), "n_draws": ri.n_draws},
        "carryover": estimates_json(r.carryover),
        "events": r.counts, "blocks": int(len(r.blocks)),
        "design": s.model_dump(), "warnings": r.warnings,
    }
    result["data_quality"]["events"] = r.counts
    c = [e for e in r.carryover if np.isfinite(e.value)]
    result["figures"]["carryover"] = figure_svg(bar_intervals(
        [e.name for e in c], [e.value for e in c], [e.ci_low for e in c], [e.ci_high for e in c],
        title="Effect by assumed carryover order m", xlabel="always-treat minus never-treat effect",
        interval=interval_label(cfg.alpha)))
    result["methods"] += [
        f"Switchback: m-aware Hajek estimator (m={s.carryover_order}) with exact design probabilities; OLS with "
        "hour, weekday and cluster effects and cluster-robust errors by switch run; Fisher randomization test by "
        f"redrawing the {s.design} design; burn-in of {s.burn_in_minutes:g} minutes after each switch."]


# ----------------------------------------------------------------------------- OPE screen


def _ope_screen(cfg, base, result, inputs, progress) -> None:
    from recsys_causal.gate import load_gate_config, run_config

    path = resolve(base, cfg.ope_screen, "ope_screen")
    inputs["ope_screen"] = path
    progress(f"OPE screen {path.name}")
    gate_cfg, gate_base = load_gate_config(path)
    res = run_config(gate_cfg, gate_base)
    result["ope"] = res.to_dict(timestamp=False)
    result["methods"].append(f"OPE screen: {gate_cfg.estimator} estimates of each candidate's lift over the logging "
                             "policy with support diagnostics; verdict rule in the README (causal-gate).")
