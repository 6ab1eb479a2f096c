"""The A/B test of a report plan: the unit table (unit metrics built from a decision log, or a unit table, joined
with a covariates table) and the A/B readout on it, each computed once per run and shared by the sections that
read them (metrics, guardrails, novelty, segments).

Reading records the inputs, the data quality of each source and the unit-metric accounting on the run's
:class:`~recsys_causal.report.context.ReportContext`; every configured column and label is checked first (a
:class:`~recsys_causal.errors.ConfigError` naming the YAML key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError
from recsys_causal.report.inputs import ab_columns, check_columns, check_labels, unique_table
from recsys_causal.report.records import source_quality

if TYPE_CHECKING:
    from recsys_causal.experiments import ABReadout
    from recsys_causal.logs import DecisionLog
    from recsys_causal.report.context import ReportContext


@dataclass(frozen=True)
class ABUnits:
    """The unit table an A/B plan analyses and the decision log it came from (``None`` for a unit table)."""

    units: pd.DataFrame
    log: DecisionLog | None = None


def ab_units(ctx: ReportContext) -> ABUnits:
    """The plan's unit table, read (and checked) once per run."""
    return ctx.once("ab_units", lambda: _read_units(ctx))


def ab_readout(ctx: ReportContext) -> ABReadout:
    """The plan's A/B readout (lifts, guardrails, sample-ratio check), computed once per run."""
    return ctx.once("ab_readout", lambda: _analyse(ctx))


def treatment_label(cfg) -> str:
    """The first variant of the expected split that is not the control (``"treatment"`` when there is none)."""
    others = [v for v in cfg.variants.expected_split if v != cfg.variants.control]
    return others[0] if others else "treatment"


def _read_units(ctx: ReportContext) -> ABUnits:
    cfg, d = ctx.cfg, ctx.cfg.data
    unit = cfg.experiment.unit
    log = None
    if d.decision_log:
        log, units = _units_from_log(ctx)
    else:
        frame, path = ctx.table(d.units, "data.units")
        units = unique_table(frame, unit, path, "data.units", ctx)
    if d.covariates_table:
        from recsys_causal.checks import join_units

        extra, cpath = ctx.table(d.covariates_table, "data.covariates_table")
        check_columns(extra, [("experiment.unit", unit)], f"data.covariates_table ({cpath.name})")
        check_columns(units, [("experiment.unit", unit)], "the unit table")
        units, dedup = join_units(units, extra, unit, name=str(cpath))
        ctx.count_duplicates("data.covariates_table", dedup)
    check_columns(units, ab_columns(cfg), "the unit table" + (" (built from data.decision_log)" if log else ""))
    check_labels(units, cfg.variants.column, [(f"variants.expected_split.{k}", k) for k in cfg.variants.expected_split])
    return ABUnits(units, log)


def _units_from_log(ctx: ReportContext) -> tuple[DecisionLog, pd.DataFrame]:
    from recsys_causal.experiments import unit_metrics_from_log
    from recsys_causal.logs import read_decision_log

    cfg, d = ctx.cfg, ctx.cfg.data
    path = ctx.path(d.decision_log, "data.decision_log")
    events = ctx.path(d.outcome_events, "data.outcome_events")
    ctx.progress(f"reading decision log {path.name}")
    log, report = read_decision_log(path, outcome_events=events, labels=d.labels or None, as_of=d.as_of)
    ctx.data_quality["sources"].append(source_quality(path.name, report))
    check_columns(log.requests, [("experiment.unit", cfg.experiment.unit), ("variants.column", cfg.variants.column)],
                  f"the requests of data.decision_log ({path.name})")
    if d.as_of is None:
        raise ConfigError("data.as_of is required with a decision log (it decides which windows are mature)",
                          column="data.as_of", fix="add e.g. as_of: '2026-06-20T00:00:00Z'")
    ctx.progress("building unit metrics")
    um = unit_metrics_from_log(log, window=d.metric_window, as_of=d.as_of, unit_col=cfg.experiment.unit,
                               variant_col=cfg.variants.column)
    ctx.data_quality["unit_metrics"] = unit_accounting(um)
    return log, um.units


def unit_accounting(um) -> dict[str, Any]:
    """Where every request of the log went (read = used + quarantined + excluded) and which units were analysed."""
    return {
        "window": str(um.window), "as_of": str(um.as_of), "units": int(len(um.units)),
        "immature_units_excluded": int(um.n_immature),
        "multi_variant_units_quarantined": int(um.quarantine.count) if um.quarantine else 0,
        "missing_outcomes": {k: int(v) for k, v in um.missing_outcomes.items()},
        "requests_read": int(um.n_requests_read), "requests_used": int(um.n_requests_used),
        "requests_quarantined": {k: int(v) for k, v in um.requests_quarantined.items()},
        "requests_excluded": {k: int(v) for k, v in um.requests_excluded.items()},
        "reconciles": bool(um.reconciles()),
    }


def _analyse(ctx: ReportContext) -> ABReadout:
    from recsys_causal.experiments import Guardrail, analyze_ab

    cfg = ctx.cfg
    units = ab_units(ctx).units
    metrics = [m.to_metric(role) for role in ("primary", "secondary") for m in getattr(cfg.metrics, role)]
    guardrails = [Guardrail(g.metric, direction=g.direction, margin=g.margin, relative=g.relative, alpha=cfg.alpha)
                  for g in cfg.guardrails]
    ctx.progress("analysing the A/B test")
    return analyze_ab(units, variant_col=cfg.variants.column, control=cfg.variants.control, metrics=metrics,
                      guardrails=guardrails, covariates=cfg.covariates or None,
                      expected_split=cfg.variants.expected_split, unit_col=cfg.experiment.unit, alpha=cfg.alpha,
                      **_covariate_times(cfg, units))


def _covariate_times(cfg, units: pd.DataFrame) -> dict:
    """``covariate_times`` / ``first_exposure_col`` for analyze_ab from the YAML (nothing when not given)."""
    if not cfg.covariate_times:
        return {}
    require_columns(units, [cfg.first_exposure], keys={cfg.first_exposure: "first_exposure"}, error=ConfigError,
                    message="first_exposure: the unit table has no column {first!r} to compare covariate_times with",
                    fix="name the first-exposure column")
    return {"covariate_times": dict(cfg.covariate_times), "first_exposure_col": cfg.first_exposure}
