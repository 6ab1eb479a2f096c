"""A/B analysis where the decision log lives: unit metrics and readouts computed by DuckDB or Spark.

Two steps run next to the data:

1. :func:`unit_metrics_sql` — the decision log (one row per candidate) → one row per randomisation unit with
   the semantics of :func:`~recsys_causal.experiments.unit_metrics_from_log`: variant, first exposure, and sums
   over the requests in ``[first_exposure, first_exposure + window)`` of impressions and of every outcome over
   shown candidates. Units whose window has not closed by ``as_of`` are excluded and counted, units logged in
   more than one variant are quarantined and counted, missing outcomes are counted. The table stays in the
   engine (a DuckDB temp table, or a cached Spark DataFrame).
2. :func:`analyze_ab_sql` — per metric ONE ``GROUP BY variant`` over the unit table (left-joined by unit with a
   pre-period covariate table for CUPED) returns, per variant, the count, ``Σ z`` and ``Σ z zᵀ`` of the
   metric's columns and covariates over the units where all are present, plus what the variance check needs.
   The sample-ratio-mismatch test uses the per-variant unit counts.

Python receives only those sums. Arm summaries, lifts, Holm / Benjamini–Hochberg adjustment and guardrail
verdicts are computed by the same code as :func:`~recsys_causal.experiments.analyze_ab`
(:func:`~recsys_causal.experiments.readout.arms_from_moments`,
:func:`~recsys_causal.experiments.readout.lifts_and_guardrails`), so the results equal the in-memory readout of
the same unit table to floating-point accuracy. Mean, proportion and ratio metrics are supported; quantile
metrics need the unit table in memory (:meth:`SQLUnitMetrics.to_pandas` and ``analyze_ab``).

>>> from recsys_causal.experiments import Metric
>>> from recsys_causal.logs import DecisionLog
>>> from recsys_causal.scale import DuckDBEngine
>>> from recsys_causal.simulate.ab import simulate_ab_log
>>> req, cand, _ = simulate_ab_log(n_users=400, seed=1)
>>> engine = DuckDBEngine.from_frame(DecisionLog.from_frames(req, cand).to_long_frame())
>>> units = unit_metrics_sql(engine, window="7D", as_of="2026-04-01", outcomes=["click", "purchase"])
>>> units.n_units, units.n_immature
(400, 0)
>>> r = analyze_ab_sql(units, metrics=["click", Metric.ratio("ctr", "click", "impressions")],
...                    expected_split={"control": 0.5, "treatment": 0.5})
>>> r.srm.flagged, [e.name for e in r.metrics][:2]
(False, ['click treatment abs', 'click treatment rel'])
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from recsys_causal.checks import Quarantine, require_columns, utc_timestamp
from recsys_causal.errors import ConfigError, DataValidationError, EstimationError
from recsys_causal.experiments.arm_moments import ArmMoments
from recsys_causal.experiments.covariate_checks import check_metric_moments
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.readout import (
    ABReadout,
    ArmSummaries,
    Metric,
    arms_from_moments,
    as_metric,
    covariates_for,
    finish_readout,
    lifts_and_guardrails,
    resolve_variants,
)
from recsys_causal.experiments.srm import srm_from_counts
from recsys_causal.logs import schema
from recsys_causal.moments import Moments
from recsys_causal.scale.engines import Engine, as_engine
from recsys_causal.scale.engines import count_value as _count
from recsys_causal.scale.policies import ONE, ZERO

#: ``ABS(x) <= DBL_MAX`` is false for NaN and ±inf in both engines (NaN sorts above every number) and NULL for
#: NULL; with ``COALESCE(…, FALSE)`` it is the SQL form of ``np.isfinite``.
DOUBLE_MAX = "1.7976931348623157E308"
NUMERIC_TYPE = re.compile(r"^(u?tinyint|u?smallint|u?integer|int|u?bigint|u?hugeint|long|short|byte|float|double"
                          r"|real|decimal.*|numeric.*)$")
#: Units logged in one variant only (the others are quarantined), in the table of every unit.
_CLEAN = "rc_n_variants <= 1"
_names = itertools.count()


@dataclass(frozen=True, eq=False)
class SQLUnitMetrics:
    """A unit table kept in ``engine`` under the name ``table`` (one row per unit: ``unit_col``,
    ``variant_col``, ``first_exposure``, ``n_requests``, ``impressions``, one column per outcome and request
    metric) plus what was left out, as :class:`~recsys_causal.experiments.UnitMetrics`."""

    engine: Engine
    table: str
    unit_col: str = "user_id"
    variant_col: str = "variant"
    n_units: int = 0
    window: pd.Timedelta | None = None
    as_of: pd.Timestamp | None = None
    n_immature: int = 0
    immature_examples: list = field(default_factory=list)
    quarantine: Quarantine | None = None
    missing_outcomes: dict = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, engine: Engine, table: str, *, unit_col: str = "user_id",
                   variant_col: str = "variant") -> SQLUnitMetrics:
        """A unit table already in ``engine`` (e.g. built by a pipeline); it must hold one row per unit."""
        columns = engine.table_columns(table)
        _require(columns, [unit_col, variant_col], what=f"unit table {table!r}", source=engine.source)
        u = engine.quote(unit_col)
        row = engine.query(f"SELECT COUNT(*) AS n, COUNT(DISTINCT {u}) AS n_units FROM {table}").iloc[0]
        n, n_units = _count(row["n"]), _count(row["n_units"])
        if n != n_units:
            dup = engine.query(f"SELECT {u} AS unit FROM {table} GROUP BY {u} HAVING COUNT(*) > 1 "
                               f"ORDER BY unit LIMIT 5")["unit"].tolist()
            raise DataValidationError(
                f"unit table {table!r} has {n - n_units} more rows than distinct units in column {unit_col!r}",
                source=engine.source, column=unit_col, count=n - n_units, examples=dup,
                fix="aggregate it to one row per unit first, e.g. with unit_metrics_sql")
        return cls(engine, table, unit_col, variant_col, n_units)

    def to_pandas(self) -> pd.DataFrame:
        """The unit table as a pandas DataFrame (for small data and checks), timestamps as UTC, sorted by unit."""
        types = self.engine.column_types(self.table)
        stamps = [c for c, t in types.items() if t.startswith("timestamp")]
        cols = [f"{self.engine.epoch_micros(self.engine.quote(c))} AS {self.engine.quote(c)}" if c in stamps
                else self.engine.quote(c) for c in types]
        frame = self.engine.query(f"SELECT {', '.join(cols)} FROM {self.table} "
                                  f"ORDER BY {self.engine.quote(self.unit_col)}")
        for c in stamps:
            frame[c] = pd.to_datetime(frame[c].astype("float64"), unit="us", utc=True)
        return frame.reset_index(drop=True)

    def drop(self) -> None:
        """Release the unit table in the engine."""
        self.engine.drop(self.table)

    def __repr__(self) -> str:
        q = self.quarantine.count if self.quarantine else 0
        return (f"SQLUnitMetrics({self.n_units} units in {self.engine.dialect} table {self.table!r}, window "
                f"{self.window}, as of {self.as_of}; {self.n_immature} immature excluded, {q} multi-variant "
                f"quarantined)")


def outcome_columns(engine: Engine, *, exclude: Sequence[str] = ()) -> list[str]:
    """The numeric (non-boolean) columns of the log that hold outcomes, by the rule of
    :func:`recsys_causal.logs.schema.is_outcome_column` (not ``pred_*``, ``feature_*``, ``position``,
    ``propensity``, ``score``, request columns, …), minus ``exclude``."""
    types = engine.column_types(engine.table)
    return [c for c, t in types.items() if NUMERIC_TYPE.match(t) and schema.is_outcome_column(c)
            and c not in exclude]


def unit_metrics_sql(
    source: Engine | Any, *, window: str | pd.Timedelta, as_of: str | pd.Timestamp, unit_col: str = "user_id",
    variant_col: str = "variant", experiment_id: str | None = None, outcomes: Sequence[str] | None = None,
    request_metrics: Sequence[str] = (),
) -> SQLUnitMetrics:
    """Aggregate the decision log held by ``source`` to one row per unit, next to the data (see the module
    docstring; same result as :func:`~recsys_causal.experiments.unit_metrics_from_log`).

    ``source``: an :class:`~recsys_causal.scale.engines.Engine`, a Parquet file or Hive-partitioned directory,
    a pandas or a Spark DataFrame in the long layout. ``outcomes`` default to :func:`outcome_columns`;
    ``request_metrics`` are numeric request columns summed per unit (e.g. ``latency_ms``). Release the table
    with :meth:`SQLUnitMetrics.drop` when done.
    """
    engine = as_engine(source)
    window = pd.Timedelta(window)
    if window <= pd.Timedelta(0):
        raise ConfigError(f"window must be positive, got {window}", fix="pass e.g. window='7D'")
    as_of = utc_timestamp(as_of)
    request_metrics = list(request_metrics)
    exclude = {unit_col, variant_col, *request_metrics}
    outcomes = outcome_columns(engine, exclude=sorted(exclude)) if outcomes is None else list(outcomes)
    needed = [schema.REQUEST_ID, schema.DECISION_TIME, schema.SHOWN, unit_col, variant_col, *outcomes,
              *request_metrics, *(["experiment_id"] if experiment_id is not None else [])]
    engine.require(list(dict.fromkeys(needed)))
    all_units = engine.materialize(
        _units_sql(engine, window=window, as_of=as_of, unit_col=unit_col, variant_col=variant_col,
                   experiment_id=experiment_id, outcomes=outcomes, request_metrics=request_metrics),
        prefix="ab_units_all")
    try:
        missing = ", ".join(f"SUM(CASE WHEN {_CLEAN} AND rc_mature THEN rc_missing_{i} ELSE {ZERO} END) "
                            f"AS missing_{i}" for i in range(len(outcomes)))
        row = engine.query(
            "SELECT COUNT(*) AS n_all, COUNT(CASE WHEN rc_n_variants > 1 THEN 1 END) AS n_multi, "
            f"SUM(CASE WHEN rc_n_variants > 1 THEN rc_n_logged ELSE {ZERO} END) AS multi_rows, "
            f"COUNT(CASE WHEN {_CLEAN} AND NOT rc_mature THEN 1 END) AS n_immature"
            + (f", {missing}" if missing else "") + f" FROM {all_units}").iloc[0]
        u = engine.quote(unit_col)

        def examples(where: str) -> list:
            return engine.query(f"SELECT {u} AS unit FROM {all_units} WHERE {where} ORDER BY {u} LIMIT 5")[
                "unit"].tolist()

        n_multi, n_immature = _count(row["n_multi"]), _count(row["n_immature"])
        quarantine = Quarantine(unit_col, n_multi, _count(row["multi_rows"]),
                                examples("rc_n_variants > 1") if n_multi else [])
        immature = examples(f"{_CLEAN} AND NOT rc_mature") if n_immature else []
        columns = [unit_col, variant_col, "first_exposure", "n_requests", "impressions", *outcomes,
                   *request_metrics]
        table = engine.materialize(f"SELECT {', '.join(engine.quote(c) for c in columns)} FROM {all_units} "
                                   f"WHERE {_CLEAN} AND rc_mature", prefix="ab_units")
        n_units = _count(engine.query(f"SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0])
    finally:
        engine.drop(all_units)
    return SQLUnitMetrics(engine, table, unit_col, variant_col, n_units, window, as_of, n_immature, immature,
                          quarantine, {o: _count(row[f"missing_{i}"]) for i, o in enumerate(outcomes)},
                          tuple(outcomes))


def _units_sql(engine: Engine, *, window: pd.Timedelta, as_of: pd.Timestamp, unit_col: str, variant_col: str,
               experiment_id: str | None, outcomes: list[str], request_metrics: list[str]) -> str:
    """Candidates → requests → units (every unit, with its quarantine and maturity flags)."""
    q = engine.quote
    shown = f"COALESCE(CAST({q(schema.SHOWN)} AS BOOLEAN), FALSE)"
    per_request = [f"{q(schema.REQUEST_ID)} AS request_key", f"MIN({q(unit_col)}) AS unit_key",
                   f"MIN({q(variant_col)}) AS variant_key", f"MIN({q(schema.DECISION_TIME)}) AS decision_time",
                   f"SUM(CASE WHEN {shown} THEN {ONE} ELSE {ZERO} END) AS impressions"]
    per_unit = [f"unit_key AS {q(unit_col)}", f"MIN(variant_key) AS {q(variant_col)}",
                "MIN(first_exposure) AS first_exposure", "COUNT(CASE WHEN in_window THEN 1 END) AS n_requests",
                f"SUM(CASE WHEN in_window THEN impressions ELSE {ZERO} END) AS impressions"]
    for i, name in enumerate(outcomes):
        x = f"CAST({q(name)} AS DOUBLE)"
        per_request += [f"SUM(CASE WHEN {shown} AND {_finite(x)} THEN {x} ELSE {ZERO} END) AS o_{i}",
                        f"SUM(CASE WHEN {shown} AND NOT {_finite(x)} THEN {ONE} ELSE {ZERO} END) AS m_{i}"]
        per_unit += [f"SUM(CASE WHEN in_window THEN o_{i} ELSE {ZERO} END) AS {q(name)}",
                     f"SUM(CASE WHEN in_window THEN m_{i} ELSE {ZERO} END) AS rc_missing_{i}"]
    for i, name in enumerate(request_metrics):
        x = f"CAST({q(name)} AS DOUBLE)"
        per_request.append(f"MIN(CASE WHEN {_finite(x)} THEN {x} END) AS r_{i}")
        per_unit.append(f"SUM(CASE WHEN in_window AND r_{i} IS NOT NULL THEN r_{i} ELSE {ZERO} END) AS {q(name)}")
    w = _interval(window)
    per_unit += ["COUNT(DISTINCT variant_key) AS rc_n_variants", "COUNT(*) AS rc_n_logged",
                 f"MIN(first_exposure) + {w} <= {engine.timestamp_literal(as_of)} AS rc_mature"]
    # like unit_metrics_from_log: requests without a unit or a variant are left out of every unit
    where = [f"{q(schema.REQUEST_ID)} IS NOT NULL", f"{q(unit_col)} IS NOT NULL",
             f"{q(variant_col)} IS NOT NULL", f"{q(schema.DECISION_TIME)} IS NOT NULL"]
    if experiment_id is not None:
        where.append(f"{q('experiment_id')} = {engine.literal(experiment_id)}")
    requests = (f"SELECT {', '.join(per_request)} FROM {engine.table} WHERE {' AND '.join(where)} "
                f"GROUP BY {q(schema.REQUEST_ID)}")
    exposed = f"SELECT r.*, MIN(r.decision_time) OVER (PARTITION BY r.unit_key) AS first_exposure FROM ({requests}) r"
    windowed = f"SELECT e.*, e.decision_time < e.first_exposure + {w} AS in_window FROM ({exposed}) e"
    return f"SELECT {', '.join(per_unit)} FROM ({windowed}) x GROUP BY unit_key"


def analyze_ab_sql(
    source: SQLUnitMetrics | Engine | Any, *, metrics: Sequence[str | Metric], control: str = "control",
    covariates: Sequence[str] | None = None, covariates_table: pd.DataFrame | str | None = None,
    expected_split: Mapping[str, float] | None = None, guardrails: Sequence[Guardrail] = (),
    alpha: float = 0.05, srm_threshold: float = 0.001, window: str | pd.Timedelta | None = None,
    as_of: str | pd.Timestamp | None = None, unit_col: str = "user_id", variant_col: str = "variant",
    experiment_id: str | None = None, outcomes: Sequence[str] | None = None, request_metrics: Sequence[str] = (),
) -> ABReadout:
    """The A/B readout of :func:`~recsys_causal.experiments.analyze_ab` (SRM, absolute and relative lifts with
    Holm / BH adjustment, CUPED, guardrails) computed from sums returned by the engine.

    ``source``: the result of :func:`unit_metrics_sql` (or :meth:`SQLUnitMetrics.from_table`), or a decision
    log (engine, Parquet path, pandas or Spark DataFrame) together with ``window`` and ``as_of`` and the other
    arguments of :func:`unit_metrics_sql`. ``covariates`` are pre-period columns for CUPED, taken from
    ``covariates_table`` when given (a pandas DataFrame, registered in the engine for the query, or the name of
    a table in the engine; one row per unit, joined on ``unit_col``), else from the unit table. Each metric is
    analysed over the units where its columns and its covariates are all present.
    """
    metric_list = [as_metric(m) for m in metrics]
    for m in metric_list:
        if m.kind == "quantile":
            raise ConfigError(f"quantile metric {m.name!r} is not supported by analyze_ab_sql",
                              fix="run analyze_ab on SQLUnitMetrics.to_pandas() for quantile metrics")
    if isinstance(source, SQLUnitMetrics):
        if window is not None or as_of is not None:
            raise ConfigError("window and as_of apply when reading a decision log, not to a unit table",
                              fix=f"drop them; this unit table was built with window {source.window}")
        units, owned = source, False
    else:
        if window is None or as_of is None:
            raise ConfigError("analyze_ab_sql on a decision log needs window= and as_of= to build unit metrics",
                              fix="pass e.g. window='7D', as_of='2026-05-01', or the result of unit_metrics_sql")
        units = unit_metrics_sql(source, window=window, as_of=as_of, unit_col=unit_col, variant_col=variant_col,
                                 experiment_id=experiment_id, outcomes=outcomes, request_metrics=request_metrics)
        owned = True
    registered: str | None = None
    try:
        analysed = [*metric_list, *(Metric.mean(g.metric) for g in guardrails
                                    if g.metric not in {m.name for m in metric_list})]
        covariates = list(covariates or [])
        all_covariates = list(dict.fromkeys(c for m in analysed for c in covariates_for(m, covariates)))
        engine = units.engine
        unit_columns = engine.table_columns(units.table)
        in_units = list(dict.fromkeys(c for m in analysed for c in m.columns))
        if covariates_table is None:
            in_units += [c for c in all_covariates if c not in in_units]
        _require(unit_columns, [units.variant_col, *in_units], what="unit table", source=engine.source)
        cov_table = None
        if covariates_table is not None:
            if isinstance(covariates_table, pd.DataFrame):
                cov_table = registered = _register(engine, covariates_table, units.unit_col, all_covariates)
            else:
                cov_table = covariates_table
                _require(engine.table_columns(cov_table), [units.unit_col, *all_covariates],
                         what=f"covariates table {cov_table!r}", source=engine.source)
                _check_one_row_per_unit(engine, cov_table, units.unit_col)
        source_sql = _SourceSQL(engine, units, cov_table, set(all_covariates) if cov_table else set())
        return _readout(source_sql, units, metric_list, guardrails, covariates, control=control,
                        expected_split=expected_split, alpha=alpha, srm_threshold=srm_threshold)
    finally:
        if registered:
            units.engine.unregister_frame(registered)
        if owned:
            units.drop()


@dataclass
class _SourceSQL:
    """Where each column of the analysis comes from: the unit table ``u`` or the covariates table ``c``."""

    engine: Engine
    units: SQLUnitMetrics
    covariates_table: str | None
    from_covariates: set[str]
    cache: dict = field(default_factory=dict)

    def column(self, name: str) -> str:
        alias = "c" if name in self.from_covariates else "u"
        return f"CAST({alias}.{self.engine.quote(name)} AS DOUBLE)"

    def tables(self, columns: Sequence[str]) -> str:
        u = self.engine.quote(self.units.unit_col)
        if not any(c in self.from_covariates for c in columns):
            return f"{self.units.table} u"
        return f"{self.units.table} u LEFT JOIN {self.covariates_table} c ON u.{u} = c.{u}"

    @property
    def label(self) -> str:
        return f"CAST(u.{self.engine.quote(self.units.variant_col)} AS STRING)"

    def variant_counts(self) -> dict[str | None, int]:
        rows = self.engine.query(f"SELECT {self.label} AS label, COUNT(*) AS n FROM {self.units.table} u "
                                 f"GROUP BY {self.label}")
        return {(None if pd.isna(k) else str(k)): _count(n) for k, n in zip(rows["label"], rows["n"], strict=True)}

    def arm_stats(self, checked: Sequence[str], covariates: Sequence[str]) -> dict[str, tuple[ArmMoments, dict]]:
        """Per variant: moments of ``checked`` + ``covariates`` over complete units, and (count of finite
        values, min, max) of every ``checked`` column over all units — from one aggregation, cached."""
        checked = list(dict.fromkeys(checked))
        columns = list(dict.fromkeys([*checked, *covariates]))
        key = tuple(columns)
        if key in self.cache:
            return self.cache[key]
        k = len(columns)
        inner = [f"{self.label} AS label"]
        inner += [f"{self.column(c)} AS z{j}" for j, c in enumerate(columns)]
        inner += [f"{_finite(self.column(c))} AS f{j}" for j, c in enumerate(columns)]
        inner.append(" AND ".join(f"f{j}" for j in range(k)) + " AS complete")
        agg = ["label", "COUNT(CASE WHEN complete THEN 1 END) AS n"]
        for j in range(len(checked)):
            agg += [f"COUNT(CASE WHEN f{j} THEN 1 END) AS nv{j}", f"MIN(CASE WHEN f{j} THEN z{j} END) AS lo{j}",
                    f"MAX(CASE WHEN f{j} THEN z{j} END) AS hi{j}"]
        agg += [f"SUM(CASE WHEN complete THEN z{j} END) AS s{j}" for j in range(k)]
        agg += [f"SUM(CASE WHEN complete THEN z{a} * z{b} END) AS p{a}_{b}" for a in range(k) for b in range(a, k)]
        rows = self.engine.query(f"SELECT {', '.join(agg)} FROM (SELECT {', '.join(inner)} "
                                 f"FROM {self.tables(columns)}) t GROUP BY label")
        names = [f"z{j}" for j in range(k)]
        out = {}
        for _, row in rows.iterrows():
            if pd.isna(row["label"]):
                continue
            moments = Moments.from_sums(names, _count(row["n"]), {f"z{j}": _sum(row[f"s{j}"]) for j in range(k)},
                                        {(f"z{a}", f"z{b}"): _sum(row[f"p{a}_{b}"]) for a in range(k)
                                         for b in range(a, k)})
            arm = replace(ArmMoments.from_moments(moments), names=tuple(columns))
            spread = {c: (_count(row[f"nv{j}"]), row[f"lo{j}"], row[f"hi{j}"]) for j, c in enumerate(checked)}
            out[str(row["label"])] = (arm, spread)
        self.cache[key] = out
        return out


def _readout(src: _SourceSQL, units: SQLUnitMetrics, metric_list: list[Metric], guardrails: Sequence[Guardrail],
             covariates: list[str], *, control: str, expected_split: Mapping[str, float] | None, alpha: float,
             srm_threshold: float) -> ABReadout:
    engine = src.engine
    counts = src.variant_counts()
    control, expected_split, known = resolve_variants(control, expected_split, [k for k in counts if k is not None])
    bad = {k: n for k, n in counts.items() if k not in known}
    if bad:
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
    warnings: list[str] = []
    if units.quarantine is not None and units.quarantine.count:
        warnings.append(units.quarantine.message())
    if units.n_immature:
        warnings.append(f"{units.n_immature} units whose {units.window} window had not closed by {units.as_of} "
                        "were excluded")
    if not expected_split:
        warnings.append("no expected_split given; SRM tested against equal shares")
    split = dict(expected_split) if expected_split else {v: 1.0 for v in known}
    srm = srm_from_counts({v: counts.get(v, 0) for v in known}, split, threshold=srm_threshold)
    n_units = {v: counts.get(v, 0) for v in known}
    treatments = [v for v in known if v != control]

    def arms_for(m: Metric, v: str, level: float) -> ArmSummaries:
        covs = covariates_for(m, covariates)
        stats = src.arm_stats(m.columns, covs)
        for col in m.columns:
            for label in (v, control):
                _check_variance(stats.get(label, (None, {}))[1].get(col, (0, None, None)), col, label)
        for label in (v, control):
            if stats[label][0].n < 2:
                raise DataValidationError(
                    f"metric {m.name!r}: only {stats[label][0].n} units of variant {label!r} have all of "
                    f"{list(dict.fromkeys([*m.columns, *covs]))} present", source=engine.source,
                    column=(covs or m.columns)[0], count=stats[label][0].n,
                    fix="check the join of the covariates table (unit ids, coverage) or drop the covariates")
        check_metric_moments(m, stats[v][0], stats[control][0], covs, comparison=f"{v} vs {control}")
        return arms_from_moments(m, stats[v][0], stats[control][0], covs)

    lifts, guard_estimates = lifts_and_guardrails(metric_list, guardrails, treatments, control, alpha=alpha,
                                                  arms_for=arms_for)
    return finish_readout(srm, lifts, guard_estimates, None, n_units, control, units.quarantine, warnings,
                          srm_threshold)


def _check_variance(spread: tuple[int, Any, Any], metric: str, variant: str) -> None:
    """As :func:`recsys_causal.checks.check_variance`, from (count, min, max) of finite values."""
    n, lo, hi = spread
    if n < 2 or lo == hi:
        const = float(lo) if n else float("nan")
        raise EstimationError(
            f"metric {metric!r} has no variance in variant {variant!r} ({n} units, all equal to {const})",
            column=metric, count=n, fix="drop the metric, check that it is populated for this variant, or use more "
                                        "units")






def _register(engine: Engine, frame: pd.DataFrame, unit_col: str, covariates: Sequence[str]) -> str:
    """Put the unit and covariate columns of a pandas table into the engine as a temporary view."""
    _require(list(frame.columns), [unit_col, *covariates], what="covariates table", source="covariates table")
    dup = frame[unit_col].duplicated(keep=False)
    if dup.any():
        ids = frame.loc[dup, unit_col].unique()
        raise DataValidationError(
            f"covariates table has {len(ids)} duplicate ids in column {unit_col!r}", column=unit_col,
            count=len(ids), examples=list(ids[:5]), fix="aggregate the table to one row per unit before joining")
    name = f"ab_covariates_{next(_names)}"
    engine.register_frame(name, frame[[unit_col, *dict.fromkeys(c for c in covariates if c != unit_col)]])
    return name


def _check_one_row_per_unit(engine: Engine, table: str, unit_col: str) -> None:
    u = engine.quote(unit_col)
    dup = f"SELECT {u} AS unit FROM {table} GROUP BY {u} HAVING COUNT(*) > 1"
    n = _count(engine.query(f"SELECT COUNT(*) AS n FROM ({dup}) d")["n"].iloc[0])
    if n:
        ids = engine.query(f"{dup} ORDER BY unit LIMIT 5")["unit"].tolist()
        raise DataValidationError(f"covariates table {table!r} has {n} duplicate ids in column {unit_col!r}",
                                  source=engine.source, column=unit_col, count=n, examples=ids,
                                  fix="aggregate the table to one row per unit before joining")


def _require(columns: Sequence[str], needed: Sequence[str], *, what: str, source: str) -> None:
    require_columns(columns, needed, what=what, source=source,
                    fix="add the column (outcomes of the log are summed per unit by unit_metrics_sql(outcomes=...))")














def _interval(td: pd.Timedelta) -> str:
    micros = td // pd.Timedelta(microseconds=1)
    seconds, frac = divmod(int(micros), 1_000_000)
    return f"INTERVAL '{seconds}.{frac:06d}' SECOND" if frac else f"INTERVAL '{seconds}' SECOND"


def _finite(expr: str) -> str:
    return f"COALESCE(ABS({expr}) <= {DOUBLE_MAX}, FALSE)"


def _sum(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


__all__ = ["SQLUnitMetrics", "analyze_ab_sql", "outcome_columns", "unit_metrics_sql"]
