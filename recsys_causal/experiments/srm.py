"""Sample-ratio mismatch (SRM): chi-square test of observed unit counts against the configured split.

A p-value below ``threshold`` (default 0.001) flags the experiment: assignment or logging is broken and the
lifts should not be trusted until the cause is found. Run it overall and, optionally, by segment and by day.

>>> import pandas as pd
>>> df = pd.DataFrame({"variant": ["control"] * 5000 + ["treatment"] * 5400})
>>> r = srm_test(df, expected_split={"control": 0.5, "treatment": 0.5})
>>> r.flagged, r.p_value < 1e-4
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.caveats import AssumptionWarning, emits_caveats
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError
from recsys_causal.experiments.labels import label_codes
from recsys_causal.frames import to_pandas
from recsys_causal.results import ResultProtocol


@dataclass(frozen=True)
class SRMResult(ResultProtocol):
    """Overall SRM test with optional per-segment and per-day breakdowns."""

    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    threshold: float
    by_segment: pd.DataFrame | None = None
    by_day: pd.DataFrame | None = None
    details: dict = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(self.p_value < self.threshold)

    def to_frame(self) -> pd.DataFrame:
        rows = [{"scope": "overall", "group": "all", **{f"n_{k}": v for k, v in self.observed.items()},
                 "chi2": self.chi2, "p_value": self.p_value, "flagged": self.flagged}]
        frame = pd.DataFrame(rows)
        extra = [f.assign(scope=s) for s, f in (("segment", self.by_segment), ("day", self.by_day)) if f is not None]
        return pd.concat([frame, *extra], ignore_index=True) if extra else frame

    def __repr__(self) -> str:
        state = "FLAGGED" if self.flagged else "ok"
        counts = ", ".join(f"{k}={v}" for k, v in self.observed.items())
        return f"SRM {state}: chi2={self.chi2:.3f}, p={self.p_value:.3g} (threshold {self.threshold:g}); {counts}"

    def _headline(self) -> str:
        return repr(self)

    def _caveats(self) -> list[tuple[type, str]]:
        """A flagged test: the observed split is not the configured one, so the assignment is suspect."""
        return [(AssumptionWarning, f"{self!r}: the observed split differs from the expected one; find the cause "
                 "before trusting any lift")] if self.flagged else []

    def _title(self) -> str:
        return "Sample-ratio mismatch (chi-square)"

    def _sections(self) -> list[tuple[str, Any]]:
        return [("", self.to_frame())]

    def _data(self) -> dict[str, Any]:
        return {"observed": self.observed, "expected": self.expected, "chi2": self.chi2, "p_value": self.p_value,
                "threshold": self.threshold, "flagged": self.flagged}


def _chisq(counts: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    total = counts.sum()
    if total == 0:
        return float("nan"), float("nan")
    res = stats.chisquare(counts, probs * total)
    return float(res.statistic), float(res.pvalue)


def srm_from_counts(observed: Mapping[str, int], expected_split: Mapping[str, float], *,
                    threshold: float = 0.001) -> SRMResult:
    """SRM test from counts per variant.

    >>> srm_from_counts({"a": 100, "b": 100}, {"a": 0.5, "b": 0.5}).p_value
    1.0
    """
    probs = _normalise(expected_split)
    observed = {str(k): v for k, v in observed.items()}
    counts = np.array([int(observed.get(k, 0)) for k in probs], dtype=np.float64)
    chi2, p = _chisq(counts, np.array(list(probs.values())))
    return SRMResult({k: int(observed.get(k, 0)) for k in probs}, probs, chi2, p, threshold)


@renamed_arguments(df="data")
@emits_caveats
def srm_test(
    data: pd.DataFrame, *, expected_split: Mapping[str, float], variant_col: str = "variant",
    segment_col: str | None = None, day_col: str | None = None, unit_col: str | None = None,
    threshold: float = 0.001,
) -> SRMResult:
    """SRM test on ``data``, a table with one row per unit (or distinct ``unit_col`` values counted once per
    variant); the old keyword ``df`` is deprecated. Variant labels are compared as text (``str(label)``), so
    integer labels in the table and in ``expected_split`` work.

    >>> r = srm_test(pd.DataFrame({"arm": [0] * 500 + [1] * 520}), expected_split={0: 0.5, 1: 0.5},
    ...              variant_col="arm")
    >>> r.observed, r.flagged
    ({'0': 500, '1': 520}, False)
    """
    data = to_pandas(data, what="srm_test")
    base = data.drop_duplicates([unit_col, variant_col]) if unit_col else data
    return srm_from_codes(*label_codes(base[variant_col]), expected_split,
                          by_segment=group_codes(base[segment_col]) if segment_col else None,
                          by_day=group_codes(base[day_col], day=True) if day_col else None, threshold=threshold)


def group_codes(key: pd.Series, *, day: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Codes of a breakdown column's sorted groups (a datetime floored to its day when ``day``); a missing key
    is ``-1`` and left out of the breakdown, as a crosstab leaves it out."""
    if day and pd.api.types.is_datetime64_any_dtype(key):
        key = key.dt.floor("D")
    groups, uniques = pd.factorize(key, sort=True)
    return groups, pd.Index(uniques)


def srm_from_codes(
    codes: np.ndarray, labels: Sequence[str], expected_split: Mapping[str, float], *,
    by_segment: tuple[np.ndarray, pd.Index] | None = None, by_day: tuple[np.ndarray, pd.Index] | None = None,
    threshold: float = 0.001,
) -> SRMResult:
    """:func:`srm_test` from the rows' variant codes and text labels
    (:func:`~recsys_causal.experiments.labels.label_codes`) and the :func:`group_codes` of the breakdowns: every
    table is one ``bincount`` over integer codes.

    >>> r = srm_from_codes(np.array([0, 1, 1, 0]), ["a", "b"], {"a": 1, "b": 1},
    ...                    by_segment=(np.array([0, 0, 1, 1]), pd.Index(["x", "y"])))
    >>> r.observed, r.by_segment["n_a"].tolist()
    ({'a': 2, 'b': 2}, [1, 1])
    """
    probs = _normalise(expected_split)
    labels = list(labels)
    counts = np.bincount(codes, minlength=len(labels))
    overall = srm_from_counts(dict(zip(labels, counts.tolist(), strict=True)), probs, threshold=threshold)
    column = np.array([labels.index(k) if k in labels else len(labels) for k in probs])  # absent: a zero column

    def breakdown(grouping: tuple[np.ndarray, pd.Index]) -> pd.DataFrame:
        groups, uniques = grouping
        keep = groups >= 0
        width = len(labels) + 1
        flat = np.bincount(groups[keep] * width + codes[keep], minlength=len(uniques) * width)
        mat = flat.reshape(len(uniques), width)[:, column].astype(np.float64)
        p = np.array(list(probs.values()))
        exp = mat.sum(axis=1, keepdims=True) * p
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = np.nansum(np.where(exp > 0, (mat - exp) ** 2 / exp, 0.0), axis=1)
        pv = stats.chi2.sf(chi, df=len(p) - 1)
        out = pd.DataFrame({"group": uniques.astype(str)})
        for j, k in enumerate(probs):
            out[f"n_{k}"] = mat[:, j].astype(np.int64)
        out["chi2"] = chi
        out["p_value"] = pv
        out["flagged"] = pv < threshold
        return out

    return SRMResult(overall.observed, probs, overall.chi2, overall.p_value, threshold,
                     by_segment=breakdown(by_segment) if by_segment is not None else None,
                     by_day=breakdown(by_day) if by_day is not None else None)


def _normalise(split: Mapping[str, float]) -> dict[str, float]:
    w = {str(k): float(v) for k, v in split.items()}
    if len(w) < 2 or any(v <= 0 for v in w.values()):
        raise ConfigError(f"expected_split needs at least two variants with positive weights, got {split}",
                          fix="pass e.g. {'control': 0.5, 'treatment': 0.5}")
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}
