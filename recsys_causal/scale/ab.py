"""A/B analysis where the data lives: the readout of :func:`~recsys_causal.experiments.analyze_ab` from sums
computed by DuckDB or Spark.

``analyze_ab(data, ...)`` with engine data — an :class:`~recsys_causal.scale.engines.Engine`, a DuckDB relation,
a Parquet path, a Spark DataFrame or a :class:`~recsys_causal.scale.ab_units.SQLUnitMetrics` — runs
:func:`analyze_on_engine`:

1. the unit table: given, or built from the decision log with ``window`` and ``as_of``
   (:func:`~recsys_causal.scale.ab_units.unit_metrics_sql`); an engine's table without them is read as a unit
   table (one row per ``unit_col``);
2. per metric ONE ``GROUP BY variant`` over the unit table (left-joined by unit with a pre-period covariate
   table for CUPED) returns, per variant, the count, ``Σ z`` and ``Σ z zᵀ`` of the metric's value columns and
   covariates (:class:`~recsys_causal.scale.ab_source.ABSource`); a metric that is not moment-based (a
   quantile) runs its own few aggregate queries (:meth:`~recsys_causal.experiments.metric_base.Metric.arms_sql`).
   The sample-ratio-mismatch test uses the per-variant unit counts.

Python receives only those sums. Arm summaries, lifts, Holm / Benjamini–Hochberg adjustment and guardrail
verdicts are the code of the in-memory readout (the metric classes and
:func:`~recsys_causal.experiments.ab_lifts.lifts_and_guardrails`), so the results equal the in-memory readout of
the same unit table to floating-point accuracy. :func:`analyze_ab_sql` is the deprecated name of this path.

>>> from recsys_causal.experiments import Metric, analyze_ab
>>> from recsys_causal.logs import DecisionLog
>>> from recsys_causal.scale import DuckDBEngine
>>> from recsys_causal.simulate.ab import simulate_ab_log
>>> req, cand, _ = simulate_ab_log(n_users=400, seed=1)
>>> engine = DuckDBEngine.from_frame(DecisionLog.from_frames(req, cand).to_long_frame())
>>> units = unit_metrics_sql(engine, window="7D", as_of="2026-04-01", outcomes=["click", "purchase"])
>>> units.n_units, units.n_immature
(400, 0)
>>> r = analyze_ab(units, metrics=["click", Metric.ratio("ctr", "click", "impressions")],
...                expected_split={"control": 0.5, "treatment": 0.5})
>>> r.srm.flagged, [e.name for e in r.metrics][:2]
(False, ['click treatment abs', 'click treatment rel'])
"""

from __future__ import annotations

import os
import warnings as _warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from recsys_causal.caveats import AssumptionWarning, DataQualityWarning, caveat, emits_caveats
from recsys_causal.checks import check_alpha
from recsys_causal.display import duration, timestamp
from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.experiments.ab_lifts import (
    analysed_metrics,
    finish_readout,
    lifts_and_guardrails,
    resolve_variants,
)
from recsys_causal.experiments.ab_readout import ABReadout
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.metric_base import ArmSummaries, Metric, as_metric
from recsys_causal.experiments.srm import srm_from_counts
from recsys_causal.frames import is_table, to_pandas
from recsys_causal.scale.ab_source import ABSource, check_one_row_per_unit, register_covariates
from recsys_causal.scale.ab_units import (
    SQLUnitMetrics,
    outcome_columns,
    require_sql_columns,
    unit_metrics_sql,
)
from recsys_causal.scale.engines import DOUBLE_MAX, NUMERIC_TYPE, Engine, as_engine, is_duckdb_relation


def is_engine_data(data: Any) -> bool:
    """Whether ``analyze_ab`` runs on an engine for ``data``: a SQL unit table, an engine, a Parquet path, a
    DuckDB relation or a Spark DataFrame."""
    return (isinstance(data, SQLUnitMetrics | Engine | str | os.PathLike) or is_duckdb_relation(data)
            or (hasattr(data, "sparkSession") and hasattr(data, "createOrReplaceTempView")))


@emits_caveats
def analyze_on_engine(
    data: SQLUnitMetrics | Engine | Any, *, metrics: Sequence[str | Metric], control: str = "control",
    covariates: Sequence[str] | None = None, covariates_table: pd.DataFrame | str | None = None,
    expected_split: Mapping[str, float] | None = None, guardrails: Sequence[Guardrail] = (),
    alpha: float = 0.05, srm_threshold: float = 0.001, window: str | pd.Timedelta | None = None,
    as_of: str | pd.Timestamp | None = None, unit_col: str = "user_id", variant_col: str = "variant",
    experiment_id: str | None = None, outcomes: Sequence[str] | None = None, request_metrics: Sequence[str] = (),
    memory_only: Mapping[str, Any] | None = None,
) -> ABReadout:
    """The A/B readout (SRM, absolute and relative lifts with Holm / BH adjustment, CUPED, guardrails) computed
    from sums returned by the engine (see the module docstring).

    ``covariates`` are pre-period columns for CUPED, taken from ``covariates_table`` when given (a pandas
    DataFrame, registered in the engine for the query, or the name of a table in the engine; one row per unit,
    joined on ``unit_col``), else from the unit table. Each metric is analysed over the units where its columns
    and its covariates are all present. ``memory_only``: options of ``analyze_ab`` that need a pandas table
    (an error when set).
    """
    given = sorted(k for k, v in (memory_only or {}).items() if v)
    if given:
        raise ConfigError(f"{given} need a pandas unit table; the engine path does not support them",
                          fix="drop them, or analyse SQLUnitMetrics.to_pandas() in memory")
    alpha = check_alpha(alpha)
    units, owned = _unit_table(data, window=window, as_of=as_of, unit_col=unit_col, variant_col=variant_col,
                               experiment_id=experiment_id, outcomes=outcomes, request_metrics=request_metrics)
    registered: str | None = None
    try:
        metric_list = [as_metric(m) for m in metrics]
        covariates = list(covariates or [])
        analysed = analysed_metrics(metric_list, guardrails)
        all_covariates = list(dict.fromkeys(c for m in analysed for c in m.covariates_for(covariates)))
        engine = units.engine
        in_units = list(dict.fromkeys(c for m in analysed for c in m.columns))
        if covariates_table is None:
            in_units += [c for c in all_covariates if c not in in_units]
        require_sql_columns(engine.table_columns(units.table), [units.variant_col, *in_units], what="unit table",
                            source=engine.source)
        cov_table = None
        if is_table(covariates_table):  # pandas, polars, pyarrow, a DuckDB relation: registered as a pandas table
            cov_table = registered = register_covariates(engine, to_pandas(covariates_table), units.unit_col,
                                                         all_covariates)
        elif covariates_table is not None:
            cov_table = covariates_table
            require_sql_columns(engine.table_columns(cov_table), [units.unit_col, *all_covariates],
                                what=f"covariates table {cov_table!r}", source=engine.source)
            check_one_row_per_unit(engine, cov_table, units.unit_col)
        src = ABSource(engine, units, cov_table, set(all_covariates) if cov_table else set())
        return _readout(src, units, metric_list, guardrails, covariates, control=control,
                        expected_split=expected_split, alpha=alpha, srm_threshold=srm_threshold)
    finally:
        if registered:
            units.engine.unregister_frame(registered)
        if owned:
            units.drop()


def analyze_ab_sql(source: SQLUnitMetrics | Engine | Any, **kwargs: Any) -> ABReadout:
    """Deprecated: ``analyze_ab(source, ...)`` dispatches engine data to :func:`analyze_on_engine` (same
    arguments)."""
    _warnings.warn("analyze_ab_sql() is deprecated and will be removed in the next minor release; call "
                   "analyze_ab(data, ...) with the engine, Parquet path or SQLUnitMetrics as data",
                   DeprecationWarning, stacklevel=2)
    return analyze_on_engine(source, **kwargs)


def _unit_table(data: Any, *, window: Any, as_of: Any, unit_col: str, variant_col: str, experiment_id: str | None,
                outcomes: Sequence[str] | None, request_metrics: Sequence[str]) -> tuple[SQLUnitMetrics, bool]:
    """The unit table to analyse and whether it was built here (and is dropped afterwards)."""
    if isinstance(data, SQLUnitMetrics):
        if window is not None or as_of is not None:
            raise ConfigError("window and as_of apply when reading a decision log, not to a unit table",
                              fix=f"drop them; this unit table was built with window {data.window}")
        return data, False
    if window is not None and as_of is not None:
        return unit_metrics_sql(data, window=window, as_of=as_of, unit_col=unit_col, variant_col=variant_col,
                                experiment_id=experiment_id, outcomes=outcomes,
                                request_metrics=request_metrics), True
    engine = as_engine(data)
    try:
        return SQLUnitMetrics.from_table(engine, engine.table, unit_col=unit_col, variant_col=variant_col), False
    except DataValidationError as exc:
        raise ConfigError(f"the table of {engine.source} is not one row per unit ({exc.args[0]}); a decision log "
                          "needs window= and as_of= to build unit metrics",
                          fix="pass e.g. window='7D', as_of='2026-05-01', or the result of unit_metrics_sql") from exc


def _readout(src: ABSource, units: SQLUnitMetrics, metric_list: list[Metric], guardrails: Sequence[Guardrail],
             covariates: list[str], *, control: str, expected_split: Mapping[str, float] | None, alpha: float,
             srm_threshold: float) -> ABReadout:
    counts = src.variant_counts()
    control, expected_split, known = resolve_variants(control, expected_split, [k for k in counts if k is not None])
    _refuse_unknown_labels(src, units, counts, known)
    warnings: list[str] = []
    if units.quarantine is not None and units.quarantine.count:
        warnings.append(units.quarantine.message())
    if units.n_immature:
        warnings.append(caveat(f"{units.n_immature} units whose {duration(units.window)} window had not closed by "
                               f"{timestamp(units.as_of)} were excluded", DataQualityWarning))
    if not expected_split:
        warnings.append(caveat("no expected_split given; SRM tested against equal shares", AssumptionWarning))
    split = dict(expected_split) if expected_split else {v: 1.0 for v in known}
    srm = srm_from_counts({v: counts.get(v, 0) for v in known}, split, threshold=srm_threshold)
    n_units = {v: counts.get(v, 0) for v in known}
    treatments = [v for v in known if v != control]

    def arms_for(m: Metric, v: str, level: float) -> ArmSummaries:
        covs = m.covariates_for(covariates)
        src.check_variance(m, (v, control), covs)
        return m.arms_sql(src, v, control, covariates=covs, alpha=level)

    lifts, guard_estimates = lifts_and_guardrails(metric_list, guardrails, treatments, control, alpha=alpha,
                                                  arms_for=arms_for)
    return finish_readout(srm, lifts, guard_estimates, None, n_units, control, units.quarantine, warnings,
                          srm_threshold)


def _refuse_unknown_labels(src: ABSource, units: SQLUnitMetrics, counts: Mapping[str | None, int],
                           known: Sequence[str]) -> None:
    """Units whose variant label is missing or not among ``known`` are an error naming count and examples."""
    bad = {k: n for k, n in counts.items() if k not in known}
    if not bad:
        return
    engine = src.engine
    u = engine.quote(units.unit_col)
    labels = ", ".join(engine.literal(v) for v in known)
    ids = engine.query(f"SELECT u.{u} AS unit FROM {units.table} u WHERE {src.label} IS NULL OR {src.label} "
                       f"NOT IN ({labels}) ORDER BY unit LIMIT 5")["unit"].tolist()
    n_bad = sum(bad.values())
    raise DataValidationError(
        f"{n_bad} rows have unknown variant labels {[str(k) for k in sorted(bad, key=bad.get, reverse=True)[:5]]}"
        f" in column {units.variant_col!r}; expected one of {known}", source=engine.source,
        column=units.variant_col, count=n_bad, examples=ids,
        fix="map the labels to the configured variants, add them to expected_split, or filter them out")


__all__ = ["DOUBLE_MAX", "NUMERIC_TYPE", "SQLUnitMetrics", "analyze_ab_sql", "analyze_on_engine", "is_engine_data", "outcome_columns",
           "unit_metrics_sql"]
