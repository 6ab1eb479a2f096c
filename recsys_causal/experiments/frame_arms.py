"""Arm summaries of an in-memory unit table from one grouped pass: :class:`FrameArms`.

The variant (and segment) labels are turned into integer codes once
(:func:`~recsys_causal.experiments.labels.label_codes`); each arm's rows of every numeric column the metrics
read are gathered once, and from that block come the arm's moments
(:class:`~recsys_causal.kernel.arm_moments.ArmMoments`: means and centred cross-products, the same two-pass
computation as before; they also serve the no-variance check) and the moments of every segment of the arm.
Every metric, CUPED adjustment, ratio linearisation, guardrail and segment lift is then a function of these
small matrices; nothing is rebuilt from all rows per metric. Tables with a non-finite value in an arm,
clustered units, and metrics that are not functions of column moments (quantiles) take the metric's own
:meth:`~recsys_causal.experiments.metric_base.Metric.arms_frame` on row masks instead.

>>> import pandas as pd
>>> df = pd.DataFrame({"variant": ["c", "t", "c", "t", "c", "t"], "y": [1.0, 2.0, 2.0, 4.0, 3.0, 3.0]})
>>> arms = FrameArms(df, "variant", "c", (), None, ["y"])
>>> t, c, method, _ = arms(Metric("y"), "t", 0.05)
>>> (t.mean, c.mean, t.n, method)
(3.0, 2.0, 3, 'welch')
>>> arms.counts()
{'c': 3, 't': 3}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.checks import as_float, check_variance
from recsys_causal.experiments.labels import label_codes
from recsys_causal.experiments.metric_base import ArmSummaries, Metric
from recsys_causal.kernel.arm_moments import ArmMoments


@dataclass
class _Arm:
    """One arm: moments of every column; with segments, its rows sorted by segment and where each starts."""

    moments: ArmMoments | None  # None: some value is not finite (metrics compute their own)
    block: np.ndarray | None = None  # the rows sorted by segment
    segments: np.ndarray | None = None  # segment j is block[segments[j]:segments[j + 1]]
    by_segment: dict[tuple, ArmMoments] = field(default_factory=dict)


@dataclass
class FrameArms:
    """``arms_for`` of :func:`~.ab_lifts.lifts_and_guardrails` on a pandas unit table (see the module
    docstring); ``segment_col`` enables ``segment=`` lookups (segment lifts)."""

    df: pd.DataFrame
    variant_col: str
    control: str
    covariates: Sequence[str]
    cluster_col: str | None
    columns: Sequence[str] = ()  # every numeric column the metrics read
    segment_col: str | None = None
    variant_coding: tuple[np.ndarray, list[str]] | None = None  # label_codes of the variant column, if known
    segment_coding: tuple[np.ndarray, list[str]] | None = None  # label_codes of the segment column, if known

    def __post_init__(self) -> None:
        self.columns = list(self.columns)
        self.codes, self.labels = self.variant_coding or label_codes(self.df[self.variant_col])
        self.segment_codes, self.segments = self.segment_coding or (
            label_codes(self.df[self.segment_col]) if self.segment_col else (None, []))
        self._masks: dict[str, np.ndarray] = {}
        self._arms: dict[str, _Arm] = {}
        self._checked: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ rows
    def mask(self, label: str) -> np.ndarray:
        """Rows of variant ``label`` (a boolean mask over the table)."""
        if label not in self._masks:
            code = self.labels.index(label) if label in self.labels else -1
            self._masks[label] = self.codes == code
        return self._masks[label]

    def segment_mask(self, segment: str) -> np.ndarray:
        return self.segment_codes == self.segments.index(segment)

    def counts(self) -> dict[str, int]:
        """Rows per variant label."""
        n = np.bincount(self.codes, minlength=len(self.labels))
        return {label: int(n[i]) for i, label in enumerate(self.labels)}

    # ------------------------------------------------------------------ summaries
    def __call__(self, m: Metric, v: str, level: float, segment: str | None = None) -> ArmSummaries:
        covariates = m.covariates_for(self.covariates)
        names = list(dict.fromkeys([*m.columns, *covariates]))
        if segment is None:
            self._check_variance(m, (v, self.control))
        t, c = (self._moments(label, names, m, segment) for label in (v, self.control))
        if t is not None and c is not None:
            return m.summaries(t, c, covariates)
        t_mask, c_mask = self.mask(v), self.mask(self.control)
        if segment is not None:
            within = self.segment_mask(segment)
            t_mask, c_mask = t_mask & within, c_mask & within
        return m.arms_frame(self.df, t_mask, c_mask, covariates=covariates, cluster_col=self.cluster_col,
                            alpha=level)

    def arm_moments(self, label: str, names: Sequence[str] | None = None) -> ArmMoments | None:
        """Moments of ``names`` (default: every column) over the rows of arm ``label``; None when some value of
        the arm is not finite or units are clustered."""
        if self.cluster_col is not None:
            return None
        whole = self._arm(label).moments
        return whole if whole is None or names is None else whole.select(list(names))

    def plain(self, m: Metric, names: Sequence[str]) -> bool:
        """Whether ``m`` over ``names`` is a function of this table's arm moments (default per-unit values, no
        clusters, columns gathered)."""
        return (type(m).values is Metric.values and type(m).arms_frame is Metric.arms_frame
                and self.cluster_col is None and set(names) <= set(self.columns))

    def _moments(self, label: str, names: list[str], m: Metric, segment: str | None) -> ArmMoments | None:
        if not self.plain(m, names):
            return None
        arm = self._arm(label)
        if arm.moments is None:
            return None
        if segment is None:
            return arm.moments.select(names)
        code = self.segments.index(segment)
        # one set of moments of every column per segment; a single column is summed on its own, as arms_frame
        # sums it (numpy sums a lone contiguous column pairwise, the columns of a block row by row)
        key = (code, tuple(names) if len(names) == 1 else ())
        if key not in arm.by_segment:
            lo, hi = arm.segments[code], arm.segments[code + 1]
            arm.by_segment[key] = ArmMoments.from_array(
                np.ascontiguousarray(arm.block[lo:hi, [self.columns.index(names[0])]]) if key[1]
                else arm.block[lo:hi], list(key[1]) or self.columns)
        return arm.by_segment[key].select(names)

    def _arm(self, label: str) -> _Arm:
        """Gather the arm's rows of every column once (in table order, as a row mask selects them)."""
        if label not in self._arms:
            rows = np.flatnonzero(self.mask(label))
            block = np.column_stack([as_float(self.df, c)[rows] for c in self.columns]) if len(self.columns) \
                else np.empty((len(rows), 0))
            whole = ArmMoments.from_array(block, self.columns)
            # a NaN or infinite value makes its column's mean non-finite (so does an overflowing sum: then the
            # metrics compute their own as well)
            finite = bool(np.isfinite(whole.mean).all() and np.isfinite(whole.cross).all())
            arm = _Arm(whole if finite else None)
            if finite and self.segment_codes is not None:  # rows grouped by segment, table order within each
                codes = self.segment_codes[rows].astype(np.int16 if len(self.segments) < 2**15 else np.int64)
                order = np.argsort(codes, kind="stable")
                arm.block = block[order]
                arm.segments = np.searchsorted(codes[order], np.arange(len(self.segments) + 1))
            self._arms[label] = arm
        return self._arms[label]

    def _check_variance(self, m: Metric, labels: Sequence[str]) -> None:
        """No-variance check of every metric column in each arm: the column is scanned
        (:func:`~recsys_causal.checks.check_variance`) only when its centred sum of squares is within rounding
        of 0. Summing ``n`` equal values ``c`` leaves the mean within ``n·eps·|c|`` of ``c``, so their sum of
        squares is at most ``n·(n·eps·c)²``: a column above four times that bound cannot be constant."""
        for col in m.columns:
            for label in labels:
                if (col, label) in self._checked:
                    continue
                whole = self._arm(label).moments if col in self.columns else None
                if whole is None or whole.n < 2 or _maybe_constant(whole, self.columns.index(col)):
                    check_variance(as_float(self.df, col)[self.mask(label)], metric=col, variant=label)
                self._checked.add((col, label))


def _maybe_constant(m: ArmMoments, j: int) -> bool:
    bound = m.n * (m.n * np.finfo(np.float64).eps * abs(m.mean[j])) ** 2
    return bool(m.cross[j, j] <= 4 * bound)


__all__ = ["FrameArms"]
