"""Where the columns of an A/B analysis on an engine come from, and the per-arm sums a metric asks for.

:class:`ABSource` joins the unit table ``u`` with an optional covariates table ``c`` (by unit) and answers, per
variant and in ONE ``GROUP BY``, the count, ``Σ z`` and ``Σ z zᵀ`` of a metric's value columns (its
:meth:`~recsys_causal.experiments.metric_base.Metric.values_sql` expressions) and its covariates over the units
where all are present, plus what the variance check needs (count, min and max of each column the metric reads).
Python receives only those sums; :meth:`ABSource.arm_moments` turns them into checked
:class:`~recsys_causal.kernel.arm_moments.ArmMoments` for the metric's own arm summaries. Every dialect
difference is a method of the engine (:mod:`recsys_causal.scale.engines`).

>>> import pandas as pd
>>> from recsys_causal.experiments import Metric
>>> from recsys_causal.scale import DuckDBEngine, SQLUnitMetrics
>>> engine = DuckDBEngine.from_frame(pd.DataFrame({"user_id": [1, 2, 3, 4], "variant": ["a", "a", "b", "b"],
...                                                "y": [1.0, 3.0, 2.0, 6.0]}))
>>> src = ABSource(engine, SQLUnitMetrics.from_table(engine, engine.table), None, set())
>>> t, c = src.arm_moments(Metric("y"), "b", "a", [])
>>> float(t.mean[0]), float(c.cross[0, 0])
(4.0, 2.0)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from recsys_causal.errors import DataValidationError, EstimationError
from recsys_causal.experiments.covariate_checks import check_metric_moments
from recsys_causal.kernel.arm_moments import ArmMoments
from recsys_causal.kernel.moments import Moments
from recsys_causal.scale.ab_units import SQLUnitMetrics, require_sql_columns
from recsys_causal.scale.engines import Engine
from recsys_causal.scale.engines import count_value as _count

_names = itertools.count()


@dataclass
class ABSource:
    """The unit table ``u`` and the covariates table ``c`` (columns ``from_covariates`` come from it)."""

    engine: Engine
    units: SQLUnitMetrics
    covariates_table: str | None
    from_covariates: set[str]
    cache: dict = field(default_factory=dict)

    def column(self, name: str) -> str:
        """A column of the analysis as a ``DOUBLE`` expression."""
        alias = "c" if name in self.from_covariates else "u"
        return self.engine.as_double(f"{alias}.{self.engine.quote(name)}")

    def tables(self, columns: Sequence[str]) -> str:
        """The ``FROM`` clause reading ``columns`` (the covariates table joined only when needed)."""
        u = self.engine.quote(self.units.unit_col)
        if not any(c in self.from_covariates for c in columns):
            return f"{self.units.table} u"
        return f"{self.units.table} u LEFT JOIN {self.covariates_table} c ON u.{u} = c.{u}"

    @property
    def label(self) -> str:
        """The variant label as a string expression."""
        return self.engine.as_string(f"u.{self.engine.quote(self.units.variant_col)}")

    def variant_counts(self) -> dict[str | None, int]:
        rows = self.engine.query(f"SELECT {self.label} AS label, COUNT(*) AS n FROM {self.units.table} u "
                                 f"GROUP BY {self.label}")
        return {(None if pd.isna(k) else str(k)): _count(n) for k, n in zip(rows["label"], rows["n"], strict=True)}

    def check_variance(self, metric: Any, labels: Sequence[str], covariates: Sequence[str]) -> None:
        """Every column ``metric`` reads varies in each of ``labels`` (as :func:`recsys_causal.checks.check_variance`;
        from the aggregation :meth:`arm_moments` uses)."""
        spread = self.arm_stats(metric.columns, metric.values_sql(self.column), covariates)
        for col in metric.columns:
            for label in labels:
                _check_variance(spread.get(label, (None, {}))[1].get(col, (0, None, None)), col, label)

    def arm_moments(self, metric: Any, treatment: str, control: str,
                    covariates: Sequence[str]) -> tuple[ArmMoments, ArmMoments]:
        """Per-arm moments of the metric's value columns and ``covariates`` over complete units, checked (at
        least two complete units per arm; CUPED covariates neither collinear with the metric nor imbalanced)."""
        stats = self.arm_stats(metric.columns, metric.values_sql(self.column), covariates)
        for label in (treatment, control):
            n = stats[label][0].n if label in stats else 0
            if n < 2:
                raise DataValidationError(
                    f"metric {metric.name!r}: only {n} units of variant {label!r} have all of "
                    f"{list(dict.fromkeys([*metric.columns, *covariates]))} present", source=self.engine.source,
                    column=(list(covariates) or metric.columns)[0], count=n,
                    fix="check the join of the covariates table (unit ids, coverage) or drop the covariates")
        t, c = stats[treatment][0], stats[control][0]
        check_metric_moments(metric, t, c, covariates, comparison=f"{treatment} vs {control}")
        return t, c

    def arm_stats(self, checked: Sequence[str], values: dict[str, str],
                  covariates: Sequence[str]) -> dict[str, tuple[ArmMoments, dict]]:
        """Per variant: moments of ``values`` (name → SQL expression) and ``covariates`` over the units where
        every one of them and of the ``checked`` columns is finite, and (count of finite values, min, max) of
        every ``checked`` column over all units — from one aggregation, cached."""
        checked = list(dict.fromkeys(checked))
        exprs = {**values, **{c: self.column(c) for c in covariates if c not in values}}
        key = (tuple(checked), tuple(exprs.items()))
        if key not in self.cache:
            self.cache[key] = self._aggregate(checked, exprs)
        return self.cache[key]

    def _aggregate(self, checked: list[str], exprs: dict[str, str]) -> dict[str, tuple[ArmMoments, dict]]:
        k, e = len(exprs), self.engine
        inner = [f"{self.label} AS label"]
        inner += [f"{x} AS z{j}" for j, x in enumerate(exprs.values())]
        inner += [f"{self.column(c)} AS v{j}" for j, c in enumerate(checked)]
        inner += [f"{e.finite(self.column(c))} AS f{j}" for j, c in enumerate(checked)]
        inner.append(" AND ".join([*(e.finite(x) for x in exprs.values()), *(f"f{j}" for j in range(len(checked))),
                                   "TRUE"]) + " AS complete")
        agg = ["label", "COUNT(CASE WHEN complete THEN 1 END) AS n"]
        for j in range(len(checked)):
            agg += [f"COUNT(CASE WHEN f{j} THEN 1 END) AS nv{j}", f"MIN(CASE WHEN f{j} THEN v{j} END) AS lo{j}",
                    f"MAX(CASE WHEN f{j} THEN v{j} END) AS hi{j}"]
        agg += [f"SUM(CASE WHEN complete THEN z{j} END) AS s{j}" for j in range(k)]
        agg += [f"SUM(CASE WHEN complete THEN z{a} * z{b} END) AS p{a}_{b}" for a in range(k) for b in range(a, k)]
        sources = [*checked, *(c for c in exprs if c in self.from_covariates)]
        rows = e.query(f"SELECT {', '.join(agg)} FROM (SELECT {', '.join(inner)} FROM {self.tables(sources)}) t "
                       "GROUP BY label")
        names = [f"z{j}" for j in range(k)]
        out = {}
        for _, row in rows.iterrows():
            if pd.isna(row["label"]):
                continue
            moments = Moments.from_sums(names, _count(row["n"]), {f"z{j}": _sum(row[f"s{j}"]) for j in range(k)},
                                        {(f"z{a}", f"z{b}"): _sum(row[f"p{a}_{b}"]) for a in range(k)
                                         for b in range(a, k)})
            arm = replace(ArmMoments.from_moments(moments, names), names=tuple(exprs))
            spread = {c: (_count(row[f"nv{j}"]), row[f"lo{j}"], row[f"hi{j}"]) for j, c in enumerate(checked)}
            out[str(row["label"])] = (arm, spread)
        return out


def _check_variance(spread: tuple[int, Any, Any], metric: str, variant: str) -> None:
    """As :func:`recsys_causal.checks.check_variance`, from (count, min, max) of finite values."""
    n, lo, hi = spread
    if n < 2 or lo == hi:
        const = float(lo) if n else float("nan")
        raise EstimationError(
            f"metric {metric!r} has no variance in variant {variant!r} ({n} units, all equal to {const})",
            column=metric, count=n, fix="drop the metric, check that it is populated for this variant, or use more "
                                        "units")


def register_covariates(engine: Engine, frame: pd.DataFrame, unit_col: str, covariates: Sequence[str]) -> str:
    """Put the unit and covariate columns of a pandas table into the engine as a temporary view."""
    require_sql_columns(list(frame.columns), [unit_col, *covariates], what="covariates table",
                        source="covariates table")
    dup = frame[unit_col].duplicated(keep=False)
    if dup.any():
        ids = frame.loc[dup, unit_col].unique()
        raise DataValidationError(
            f"covariates table has {len(ids)} duplicate ids in column {unit_col!r}", column=unit_col,
            count=len(ids), examples=list(ids[:5]), fix="aggregate the table to one row per unit before joining")
    name = f"ab_covariates_{next(_names)}"
    engine.register_frame(name, frame[[unit_col, *dict.fromkeys(c for c in covariates if c != unit_col)]])
    return name


def check_one_row_per_unit(engine: Engine, table: str, unit_col: str) -> None:
    """Refuse a covariates table with repeated unit ids (naming the count and examples)."""
    u = engine.quote(unit_col)
    dup = f"SELECT {u} AS unit FROM {table} GROUP BY {u} HAVING COUNT(*) > 1"
    n = _count(engine.query(f"SELECT COUNT(*) AS n FROM ({dup}) d")["n"].iloc[0])
    if n:
        ids = engine.query(f"{dup} ORDER BY unit LIMIT 5")["unit"].tolist()
        raise DataValidationError(f"covariates table {table!r} has {n} duplicate ids in column {unit_col!r}",
                                  source=engine.source, column=unit_col, count=n, examples=ids,
                                  fix="aggregate the table to one row per unit before joining")


def _sum(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


__all__ = ["ABSource", "check_one_row_per_unit", "register_covariates"]
