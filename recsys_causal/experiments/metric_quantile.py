"""The quantile metric (p50 / p95 / p99 of a column): not a function of moments, so it brings its own
in-memory and SQL arm computations.

Both follow :mod:`recsys_causal.experiments.quantiles`: the arm's quantile ``Q_q``, the standard error
``σ`` of the share of units at or below it, and the quantiles at ``q ± z σ`` whose spread gives the arm's
standard error. On an engine this is three small queries per arm (the quantile and the count; the share at or
below and equal to it; the two bounding quantiles), each returning a few numbers; the exact quantiles use
linear interpolation (numpy's default) in both DuckDB and Spark (:meth:`~recsys_causal.scale.engines.Engine.quantiles`).

>>> Metric.quantile("latency", 0.95).name, Metric.quantile("latency", 0.95).moment_based
('latency_p95', False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.checks import as_float
from recsys_causal.errors import ConfigError
from recsys_causal.experiments.metric_base import ArmSummaries, Metric
from recsys_causal.experiments.quantiles import (
    label_quantile_arms,
    order_statistic_arm,
    quantile_arms,
    rank_band,
)
from recsys_causal.kernel.contrast import ArmMean


@dataclass(frozen=True, kw_only=True)
class Quantile(Metric, kind="quantile"):
    """The ``q`` quantile of ``column`` per arm, order-statistic interval (normal reference)."""

    moment_based = False
    column: str | None = None
    q: float | None = None

    def validate(self) -> None:
        if not (self.q is not None and 0 < self.q < 1):
            raise ConfigError(f"quantile metric {self.name!r} needs q strictly between 0 and 1")

    @property
    def columns(self) -> list[str]:
        return [self.column or self.name]

    def reference_df(self, treatment: ArmMean, control: ArmMean) -> float | None:
        return None

    def arms_frame(self, df: pd.DataFrame, t_mask: np.ndarray, c_mask: np.ndarray, *, covariates: Sequence[str],
                   cluster_col: str | None, alpha: float) -> ArmSummaries:
        y = as_float(df, self.columns[0])
        clusters = df[cluster_col].to_numpy() if cluster_col else None
        ct = None if clusters is None else clusters[t_mask]
        cc = None if clusters is None else clusters[c_mask]
        return quantile_arms(y[t_mask], y[c_mask], self.q, clusters_treatment=ct, clusters_control=cc, alpha=alpha)

    def arms_sql(self, source: Any, treatment: str, control: str, *, covariates: Sequence[str],
                 alpha: float) -> ArmSummaries:
        (t, share_t), (c, share_c) = (self._sql_arm(source, label, alpha) for label in (treatment, control))
        return label_quantile_arms(t, c, self.q, {"treatment": share_t, "control": share_c})

    def _sql_arm(self, source: Any, label: str, alpha: float) -> tuple[ArmMean, float | None]:
        """One arm's quantile, its order-statistic variance and (when that is 0) the share of units equal to it,
        from three aggregate queries over the arm's finite values."""
        engine, col = source.engine, self.columns[0]
        x = source.column(col)
        rows = (f"SELECT {x} AS y FROM {source.tables([col])} WHERE {source.label} = {engine.literal(label)} "
                f"AND {engine.finite(x)}")
        first = engine.query(f"SELECT COUNT(*) AS n, {engine.quantiles('y', [self.q])} AS qs FROM ({rows}) a").iloc[0]
        n = int(first["n"])
        qhat = float(np.asarray(first["qs"], dtype=np.float64)[0])
        at, one, zero = engine.number(qhat), engine.one, engine.zero
        second = engine.query(f"SELECT AVG(CASE WHEN y <= {at} THEN {one} ELSE {zero} END) AS below, "
                              f"AVG(CASE WHEN y = {at} THEN {one} ELSE {zero} END) AS equal FROM ({rows}) a").iloc[0]
        p = float(second["below"])
        sigma = math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else float("nan")  # sd(1{y <= Q}, ddof=1) / √n
        lo_q, hi_q, z = rank_band(self.q, sigma, alpha)
        bounds = engine.query(f"SELECT {engine.quantiles('y', [lo_q, hi_q])} AS qs FROM ({rows}) a").iloc[0]
        lo, hi = np.asarray(bounds["qs"], dtype=np.float64)
        arm = order_statistic_arm(qhat, lo, hi, z, n)
        return arm, (float(second["equal"]) if arm.var_mean == 0 else None)


__all__ = ["Quantile"]
