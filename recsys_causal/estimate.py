"""The result type shared by every estimator: :class:`Estimate` and a table of them, :class:`EstimateTable`.

An IPS value, a CUPED lift and a segment effect all come back as an ``Estimate`` so the gate, the report and a
notebook treat them alike.

>>> from recsys_causal.estimate import Estimate
>>> e = Estimate.from_normal(name="ctr lift", value=0.02, se=0.005, n=1000, method="welch")
>>> round(e.ci_low, 4), round(e.ci_high, 4)
(0.0102, 0.0298)
>>> e.to_frame()[["name", "value", "se"]].shape
(1, 3)
>>> interval_label(0.1), interval_label(0.05, "lower")
('90% interval (two-sided)', '95% one-sided lower bound')
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import prefixed_warnings
from recsys_causal.display import estimate_cells, estimates_frame
from recsys_causal.results import ResultProtocol, lookup, markdown_table, md_escape

SIDES = ("two-sided", "lower", "upper", "bounds")


def reference_distribution(df: float | None):
    """Student's t with ``df`` degrees of freedom when they are finite and positive, else the standard normal
    (the reference of every Wald interval and test).

    >>> round(float(reference_distribution(None).ppf(0.975)), 3), round(float(reference_distribution(10).ppf(0.975)), 3)
    (1.96, 2.228)
    """
    from scipy import stats

    return stats.t(df) if df is not None and np.isfinite(df) and df > 0 else stats.norm


def interval_level(alpha: float) -> str:
    """The confidence level of an interval at ``alpha`` as text: ``0.1`` → ``"90%"``, ``0.025`` → ``"97.5%"``."""
    a = float(alpha)
    if not 0 < a < 1:
        from recsys_causal.errors import ConfigError

        raise ConfigError(f"alpha must lie strictly between 0 and 1, got {alpha!r}", fix="use e.g. alpha: 0.05")
    return f"{round(100 * (1 - a), 6):g}%"


def interval_label(alpha: float, sided: str = "two-sided") -> str:
    """How an interval computed at ``alpha`` is labelled: ``"90% interval (two-sided)"``, ``"95% one-sided
    lower bound"``, ``"95% one-sided upper bound"`` or ``"95% one-sided bounds"`` (a lower and an upper bound,
    each at 1 − alpha)."""
    if sided not in SIDES:
        from recsys_causal.errors import ConfigError

        raise ConfigError(f"unknown sidedness {sided!r}", fix=f"use one of {list(SIDES)}")
    level = interval_level(alpha)
    if sided == "two-sided":
        return f"{level} interval (two-sided)"
    return f"{level} one-sided {sided if sided == 'bounds' else sided + ' bound'}"


#: fields of :class:`Estimate` that are not columns of its row (details are spread into the row instead)
_NOT_IN_ROW = ("details", "warnings", "df")


@dataclass(frozen=True)
class Estimate(ResultProtocol):
    """A point estimate with its uncertainty.

    ``value`` is the estimate, ``se`` its standard error, ``(ci_low, ci_high)`` a ``1 - alpha`` interval,
    ``p_value`` a two-sided p-value against ``null`` when one applies, ``n`` the number of independent
    units behind it, ``method`` how it was computed, ``warnings`` anything the reader should know, and
    ``details`` free-form extra fields, named ``quantity`` (``"value"``, ``"lift"``, ``"relative lift"``, ...),
    ``variant``, ``metric``, ``policy`` and ``segment`` where they apply. ``df`` is the degrees of freedom of
    the reference distribution of a Wald interval (``None``: normal); it is not part of the row.
    """

    name: str
    value: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    alpha: float = 0.05
    p_value: float | None = None
    null: float | None = None
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    df: float | None = field(default=None, compare=False)

    __iter__ = None  # one estimate is not a collection (``estimate["name"]`` looks itself up)

    @classmethod
    def from_normal(
        cls,
        *,
        name: str,
        value: float,
        se: float,
        n: int,
        method: str,
        alpha: float = 0.05,
        null: float | None = 0.0,
        df: float | None = None,
        warnings: Iterable[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> Estimate:
        """Build an estimate with a Wald interval (normal, or Student t when ``df`` is given)."""
        dist = reference_distribution(df)
        q = float(dist.ppf(1 - alpha / 2))
        p = None
        if null is not None and se > 0 and np.isfinite(se):
            p = float(2 * dist.sf(abs(value - null) / se))
        return cls(
            name=name,
            value=float(value),
            se=float(se),
            ci_low=float(value - q * se),
            ci_high=float(value + q * se),
            n=int(n),
            method=method,
            alpha=alpha,
            p_value=p,
            null=null,
            warnings=tuple(warnings),
            details=dict(details or {}),
            df=None if df is None else float(df),
        )

    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    def with_warning(self, message: str) -> Estimate:
        return replace(self, warnings=(*self.warnings, message))

    def row(self) -> dict[str, Any]:
        """The estimate as one flat row: its fields, the warnings joined by ``"; "``, then the details."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_IN_ROW}
        row["warnings"] = "; ".join(self.warnings)
        row.update(self.details)
        return row

    def to_dict(self) -> dict[str, Any]:
        """The row (:meth:`row`) as JSON-ready data (Python scalars, NaN as ``None``)."""
        from recsys_causal.results import jsonable

        return jsonable(self.row())

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.row()])

    def _sections(self) -> list[tuple[str, Any]]:
        return [("estimate", EstimateTable([self]))]

    def _title(self) -> str:
        return self.name

    def _warnings(self) -> list[str]:
        return list(self.warnings)

    def _estimates(self) -> list[Estimate]:
        return [self]

    def __repr__(self) -> str:
        level = interval_level(self.alpha) if 0 < self.alpha < 1 else f"alpha={self.alpha!r}"
        c = estimate_cells(self)
        text = f"Estimate({self.name}: {c['value']} ± {c['se']} se, {level} CI {c['interval'] or '[, ]'}, " \
               f"n={c['n']}, {self.method}"
        if self.p_value is not None:
            text += f", p={c['p']}"
        if self.warnings:
            text += f", {len(self.warnings)} warning(s)"
        return text + ")"


class EstimateTable(ResultProtocol):
    """An ordered collection of :class:`Estimate` with a tidy ``to_frame()`` and the results protocol
    (:mod:`recsys_causal.results`).

    >>> t = EstimateTable([Estimate.from_normal(name="a", value=1.0, se=0.1, n=10, method="m")])
    >>> t["a"].value
    1.0
    """

    def __init__(self, estimates: Iterable[Estimate] = (), title: str | None = None) -> None:
        self.estimates = list(estimates)
        self.title = title

    def __iter__(self) -> Iterator[Estimate]:
        return iter(self.estimates)

    def __len__(self) -> int:
        return len(self.estimates)

    def __getitem__(self, key: int | str) -> Estimate:
        if isinstance(key, int):
            return self.estimates[key]
        return lookup(self.estimates, key, "EstimateTable")

    def to_frame(self) -> pd.DataFrame:
        if not self.estimates:
            return pd.DataFrame(columns=[f.name for f in fields(Estimate) if f.name not in ("details", "df")])
        return pd.DataFrame([e.row() for e in self.estimates])

    def __repr__(self) -> str:
        head = f"{self.title}\n" if self.title else ""
        return head + "\n".join(repr(e) for e in self.estimates)

    # -- results protocol: the table is a leaf --------------------------------------------------------------
    def _sections(self) -> list[tuple[str, Any]]:
        return [(self.title or "estimates", self)]

    def _estimates(self) -> list[Estimate]:
        return list(self.estimates)

    def _warnings(self) -> list[str]:
        return prefixed_warnings(self.estimates)

    def to_dict(self) -> dict[str, Any]:
        """``{"title": ..., "estimates": [row, ...]}``, JSON-ready."""
        return {"title": self.title, "estimates": [e.to_dict() for e in self.estimates]}

    def _display(self) -> tuple[pd.DataFrame, str]:
        """The shown table (:func:`~recsys_causal.display.estimates_frame`: name, value, se, interval, p, n;
        relative quantities as percentages; every other column in ``to_frame()``) and its caption (the title and
        the interval level, once, unless the levels differ)."""
        alphas = {e.alpha for e in self.estimates}
        only = alphas.pop() if len(alphas) == 1 else None
        levels = f"intervals: {interval_label(only)}" if only is not None and 0 < only < 1 else ""
        return estimates_frame(self.estimates), " — ".join(t for t in (self.title, levels) if t)

    def to_html(self) -> str:
        frame, text = self._display()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        rows = []
        for row in frame.itertuples(index=False, name=None):
            rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>")
        caption = f"<caption>{html.escape(text)}</caption>" if text else ""
        return f"<table class='recsys-causal'>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def to_markdown(self) -> str:
        frame, text = self._display()
        return (f"**{md_escape(text)}**\n\n" if text else "") + markdown_table(frame) + "\n"


class EstimatesView(ResultProtocol):
    """Mixin for readouts holding an ``estimates`` :class:`EstimateTable`: the results protocol over it
    (lookup by name, ``to_frame()``, ``to_dict()``, ``summary()``, ``conf_int()``, ...)."""

    estimates: EstimateTable

    def _title(self) -> str:
        return self.estimates.title or type(self).__name__

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()
