"""The unit table of an A/B experiment built where the decision log lives (DuckDB or Spark).

:func:`unit_metrics_sql` turns the decision log (one row per candidate) into one row per randomisation unit
with the semantics of :func:`~recsys_causal.experiments.unit_metrics_from_log`: variant, first exposure, and
sums over the requests in ``[first_exposure, first_exposure + window)`` of impressions and of every outcome over
shown candidates. Units whose window has not closed by ``as_of`` are excluded and counted, units logged in
more than one variant are quarantined and counted, missing outcomes are counted. The table stays in the engine
(a DuckDB temp table, or a cached Spark DataFrame) as :class:`SQLUnitMetrics`.

>>> from recsys_causal.logs import DecisionLog
>>> from recsys_causal.scale import DuckDBEngine
>>> from recsys_causal.simulate.ab import simulate_ab_log
>>> req, cand, _ = simulate_ab_log(n_users=300, seed=1)
>>> engine = DuckDBEngine.from_frame(DecisionLog.from_frames(req, cand).to_long_frame())
>>> units = unit_metrics_sql(engine, window="7D", as_of="2026-04-01", outcomes=["click"])
>>> units.n_units, units.n_immature, units.to_pandas().shape[0]
(300, 0, 300)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recsys_causal.checks import Quarantine, require_columns, utc_timestamp
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.logs import schema
from recsys_causal.scale.engines import Engine, as_engine
from recsys_causal.scale.engines import count_value as _count

#: Units logged in one variant only (the others are quarantined), in the table of every unit.
_CLEAN = "rc_n_variants <= 1"


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
        require_sql_columns(columns, [unit_col, variant_col], what=f"unit table {table!r}", source=engine.source)
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
    return [c for c, t in types.items() if engine.is_numeric_type(t) and schema.is_outcome_column(c)
            and c not in exclude]


@renamed_arguments(source="data")
def unit_metrics_sql(
    data: Engine | Any, *, window: str | pd.Timedelta, as_of: str | pd.Timestamp, unit_col: str = "user_id",
    variant_col: str = "variant", experiment_id: str | None = None, outcomes: Sequence[str] | None = None,
    request_metrics: Sequence[str] = (),
) -> SQLUnitMetrics:
    """Aggregate the decision log held by ``data`` to one row per unit, next to the data (see the module
    docstring; same result as :func:`~recsys_causal.experiments.unit_metrics_from_log`).

    ``data`` (old keyword ``source``, deprecated): an :class:`~recsys_causal.scale.engines.Engine`, a Parquet file or Hive-partitioned directory,
    a pandas or a Spark DataFrame in the long layout. ``outcomes`` default to :func:`outcome_columns`;
    ``request_metrics`` are numeric request columns summed per unit (e.g. ``latency_ms``). Release the table
    with :meth:`SQLUnitMetrics.drop` when done.
    """
    engine = as_engine(data)
    zero = engine.zero
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
        missing = ", ".join(f"SUM(CASE WHEN {_CLEAN} AND rc_mature THEN rc_missing_{i} ELSE {zero} END) "
                            f"AS missing_{i}" for i in range(len(outcomes)))
        row = engine.query(
            "SELECT COUNT(*) AS n_all, COUNT(CASE WHEN rc_n_variants > 1 THEN 1 END) AS n_multi, "
            f"SUM(CASE WHEN rc_n_variants > 1 THEN rc_n_logged ELSE {zero} END) AS multi_rows, "
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
    one, zero = engine.one, engine.zero
    shown = f"COALESCE(CAST({q(schema.SHOWN)} AS BOOLEAN), FALSE)"
    per_request = [f"{q(schema.REQUEST_ID)} AS request_key", f"MIN({q(unit_col)}) AS unit_key",
                   f"MIN({q(variant_col)}) AS variant_key", f"MIN({q(schema.DECISION_TIME)}) AS decision_time",
                   f"SUM(CASE WHEN {shown} THEN {one} ELSE {zero} END) AS impressions"]
    per_unit = [f"unit_key AS {q(unit_col)}", f"MIN(variant_key) AS {q(variant_col)}",
                "MIN(first_exposure) AS first_exposure", "COUNT(CASE WHEN in_window THEN 1 END) AS n_requests",
                f"SUM(CASE WHEN in_window THEN impressions ELSE {zero} END) AS impressions"]
    for i, name in enumerate(outcomes):
        x = engine.as_double(q(name))
        per_request += [f"SUM(CASE WHEN {shown} AND {engine.finite(x)} THEN {x} ELSE {zero} END) AS o_{i}",
                        f"SUM(CASE WHEN {shown} AND NOT {engine.finite(x)} THEN {one} ELSE {zero} END) AS m_{i}"]
        per_unit += [f"SUM(CASE WHEN in_window THEN o_{i} ELSE {zero} END) AS {q(name)}",
                     f"SUM(CASE WHEN in_window THEN m_{i} ELSE {zero} END) AS rc_missing_{i}"]
    for i, name in enumerate(request_metrics):
        x = engine.as_double(q(name))
        per_request.append(f"MIN(CASE WHEN {engine.finite(x)} THEN {x} END) AS r_{i}")
        per_unit.append(f"SUM(CASE WHEN in_window AND r_{i} IS NOT NULL THEN r_{i} ELSE {zero} END) AS {q(name)}")
    w = engine.interval(window)
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


def require_sql_columns(columns: Sequence[str], needed: Sequence[str], *, what: str, source: str) -> None:
    require_columns(columns, needed, what=what, source=source,
                    fix="add the column (outcomes of the log are summed per unit by unit_metrics_sql(outcomes=...))")


__all__ = ["SQLUnitMetrics", "outcome_columns", "require_sql_columns", "unit_metrics_sql"]
