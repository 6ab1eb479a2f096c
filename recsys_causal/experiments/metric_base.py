"""A/B metrics as small classes that own their maths, registered by ``kind``.

A metric declares the unit-table columns it reads (:attr:`Metric.columns`), the per-unit columns whose per-arm
sums it needs (:meth:`Metric.values` in numpy and :meth:`Metric.values_sql` as SQL expressions of the same
columns), and how per-arm moments (:class:`~recsys_causal.kernel.arm_moments.ArmMoments`) become arm
summaries (:meth:`Metric.outcome`, :meth:`Metric.summaries`). CUPED is a covariate option of every
moment-based metric; with ``cluster_col`` the in-memory path forms per-unit values (:meth:`Metric.unit_outcome`)
and cluster-robust variances. A metric that is not a function of moments (``moment_based = False``, e.g. a
quantile) overrides :meth:`Metric.arms_frame` and :meth:`Metric.arms_sql` with its own computation.
``analyze_ab`` (in memory and on an engine) only calls these methods.

A new metric type is one subclass: ``class Trimmed(Metric, kind="trimmed")`` registers it, so
``Metric("x", kind="trimmed", ...)`` and the report YAML (``kind: trimmed``) build it. ``Metric(name, kind=...,
**parameters)`` is the factory of the registered classes (parameters a kind does not take must be ``None``).

>>> m = Metric("ctr", kind="ratio", numerator="click", denominator="impressions")
>>> type(m).__name__, m.columns, m.moment_based
('Ratio', ['click', 'impressions'], True)
>>> Metric.mean("revenue").columns == Metric("revenue").columns == ["revenue"]
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recsys_causal.checks import as_float
from recsys_causal.errors import ConfigError
from recsys_causal.kernel.arm_moments import ArmMoments, mean_arm
from recsys_causal.kernel.contrast import ArmMean, arm_mean, welch_df
from recsys_causal.kernel.cuped import cuped_details, cuped_from_moments
from recsys_causal.suggest import did_you_mean

#: Treatment and control summaries of one metric, the method label and extra details.
ArmSummaries = tuple[ArmMean, ArmMean, str, dict]

ROLES = ("primary", "secondary")


class _Factory(type):
    """``Metric(...)`` on the base class builds the registered class of ``kind`` (:meth:`Metric.from_spec`)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("registry") is not None:
            return cls.from_spec(*args, **kwargs)
        return super().__call__(*args, **kwargs)


@dataclass(frozen=True)
class Metric(metaclass=_Factory):
    """A metric to read out (base class and factory; see the module docstring).

    ``role``: ``primary`` (Holm) or ``secondary`` (Benjamini–Hochberg). ``covariates``: ``None`` uses the
    readout's covariates (moment-based metrics), ``()`` none.
    """

    registry: ClassVar[dict[str, type[Metric]]] = {}
    kind: ClassVar[str] = ""
    #: a function of per-arm moments (CUPED applies; the SQL path sums ``values_sql``)
    moment_based: ClassVar[bool] = True
    #: method label of the estimates (prefixed by ``cuped`` / ``cluster-robust``)
    method: ClassVar[str] = "welch"

    name: str
    _: KW_ONLY
    role: str = "primary"
    covariates: tuple[str, ...] | None = None

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            known = Metric.registry.get(kind)
            if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
                raise ConfigError(f"metric kind {kind!r} is already registered by {known.__qualname__}",
                                  fix="give the new metric class another kind")
            Metric.registry[kind] = cls
            cls.kind = kind

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"metric {self.name!r}: role must be 'primary' or 'secondary', got {self.role!r}")
        if self.covariates is not None and not isinstance(self.covariates, tuple):
            object.__setattr__(self, "covariates", tuple(self.covariates))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` when the parameters do not define a metric (override)."""

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, name: str, kind: str = "mean", **params: Any) -> Metric:
        """The registered metric of ``kind`` with ``params`` (``None`` values of parameters it does not take
        are ignored, so one flat spec with every field serves every kind)."""
        target = Metric.registry.get(kind)
        if target is None:
            kinds = tuple(Metric.registry)
            raise ConfigError(f"metric {name!r}: kind must be one of {kinds}, got {kind!r}"
                              f"{did_you_mean(str(kind), kinds)}", fix=f"use one of {list(kinds)}")
        allowed = {f.name for f in fields(target) if f.init}
        unknown = sorted(k for k, v in params.items() if k not in allowed and v is not None)
        if unknown:
            raise ConfigError(f"metric {name!r} of kind {kind!r} takes no parameter {unknown}",
                              fix=f"its parameters are {sorted(allowed - {'name'})}")
        return target(name=name, **{k: v for k, v in params.items() if k in allowed})

    @classmethod
    def mean(cls, column: str, *, name: str | None = None, role: str = "primary", **kw: Any) -> Metric:
        return Metric.from_spec(name or column, "mean", column=column, role=role, **kw)

    @classmethod
    def proportion(cls, column: str, *, name: str | None = None, role: str = "primary", **kw: Any) -> Metric:
        return Metric.from_spec(name or column, "proportion", column=column, role=role, **kw)

    @classmethod
    def ratio(cls, name: str, numerator: str, denominator: str, *, role: str = "primary", **kw: Any) -> Metric:
        return Metric.from_spec(name, "ratio", numerator=numerator, denominator=denominator, role=role, **kw)

    @classmethod
    def quantile(cls, column: str, q: float, *, name: str | None = None, role: str = "secondary") -> Metric:
        return Metric.from_spec(name or f"{column}_p{round(100 * q):d}", "quantile", column=column, q=q, role=role)

    # ------------------------------------------------------------------ what it reads and sums
    @property
    def columns(self) -> list[str]:
        """The unit-table columns the metric reads (checked for presence and variance)."""
        return [self.name]

    def values(self, get: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
        """Per-unit columns whose per-arm moments the metric needs, from ``get(column)`` (float arrays)."""
        return {c: get(c) for c in self.columns}

    def values_sql(self, get: Callable[[str], str]) -> dict[str, str]:
        """:meth:`values` as SQL expressions of ``get(column)`` (a ``DOUBLE`` expression of a column)."""
        return {c: get(c) for c in self.columns}

    def covariates_for(self, covariates: Sequence[str]) -> list[str]:
        """The CUPED covariates of this metric: its own, else the readout's (none if not moment-based)."""
        if not self.moment_based:
            return []
        return list(self.covariates) if self.covariates is not None else list(covariates)

    def reference_df(self, treatment: ArmMean, control: ArmMean) -> float | None:
        """Degrees of freedom of the lift's t reference (``None``: normal)."""
        return welch_df(treatment, control)

    # ------------------------------------------------------------------ moments → arm summaries
    def outcome(self, arm: ArmMoments) -> tuple[ArmMoments, str]:
        """The arm moments with the column whose arm mean is the metric (default: the first value column)."""
        return arm, arm.names[0]

    def unit_outcome(self, values: Mapping[str, np.ndarray], arms: Sequence[np.ndarray]) -> np.ndarray:
        """Per-unit values whose mean over an arm's complete units is the metric (cluster-robust path)."""
        return next(iter(values.values()))

    def summaries(self, treatment: ArmMoments, control: ArmMoments, covariates: Sequence[str]) -> ArmSummaries:
        """Arm summaries from per-arm moments over complete units (CUPED when ``covariates``)."""
        treatment, y = self.outcome(treatment)
        control, _ = self.outcome(control)
        if covariates:
            t, c, theta, raw_var = cuped_from_moments(treatment, control, y, list(covariates))
            return t, c, "cuped " + self.method, {**cuped_details(t, c, theta, raw_var),
                                                  "covariates": list(covariates)}
        return mean_arm(treatment, y), mean_arm(control, y), self.method, {}

    def arms_frame(self, df: pd.DataFrame, t_mask: np.ndarray, c_mask: np.ndarray, *, covariates: Sequence[str],
                   cluster_col: str | None, alpha: float) -> ArmSummaries:
        """Arm summaries from a pandas unit table (the rows of each arm given by the masks)."""
        raw = {c: as_float(df, c) for c in dict.fromkeys([*self.columns, *covariates])}
        vals = self.values(raw.__getitem__)
        ok = np.logical_and.reduce([np.isfinite(v) for v in [*raw.values(), *vals.values()]])
        if cluster_col is None:
            names = list(dict.fromkeys([*vals, *covariates]))
            z = np.column_stack([vals[k] if k in vals else raw[k] for k in names])
            t, c = (ArmMoments.from_array(z[m & ok], names) for m in (t_mask, c_mask))
            return self.summaries(t, c, covariates)
        return self._clustered(df[cluster_col].to_numpy(), vals, raw, t_mask, c_mask, covariates)

    def _clustered(self, clusters: np.ndarray, vals: dict, raw: dict, t_mask: np.ndarray, c_mask: np.ndarray,
                   covariates: Sequence[str]) -> ArmSummaries:
        from recsys_causal.experiments.cuped import cuped_summary

        ok = np.logical_and.reduce([np.isfinite(v) for v in vals.values()])
        y = self.unit_outcome(vals, (t_mask & ok, c_mask & ok))
        method = "cluster-robust " + self.method
        if covariates:
            both = t_mask | c_mask
            x = np.column_stack([raw[c][both] for c in covariates])
            t, c, det = cuped_summary(y[both], x, t_mask[both], clusters=clusters[both])
            return t, c, "cuped " + method, {**det, "covariates": list(covariates)}
        return arm_mean(y[t_mask], clusters[t_mask]), arm_mean(y[c_mask], clusters[c_mask]), method, {}

    def arms_sql(self, source: Any, treatment: str, control: str, *, covariates: Sequence[str],
                 alpha: float) -> ArmSummaries:
        """Arm summaries from sums computed by an engine: ``source.arm_moments`` (the A/B SQL source of
        :mod:`recsys_causal.scale.ab_source`) returns the checked per-arm moments of :meth:`values_sql`."""
        t, c = source.arm_moments(self, treatment, control, covariates)
        return self.summaries(t, c, covariates)


def as_metric(spec: str | Metric) -> Metric:
    """A :class:`Metric` from a spec: a column name (mean) or ``"num/den"`` (ratio named the same)."""
    if isinstance(spec, Metric):
        return spec
    if "/" in spec:
        num, den = (s.strip() for s in spec.split("/", 1))
        return Metric.ratio(spec, num, den)
    return Metric.mean(spec)


# the built-in kinds register themselves on import
from recsys_causal.experiments import metric_quantile, metric_types  # noqa: E402, F401
