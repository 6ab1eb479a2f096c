"""Support diagnostics: can the logs answer the question for this target policy?

From the importance weights of the evaluated requests: effective sample size ``(Σw)² / Σw²`` and its ratio to
n, the largest weight and its share of ``Σw``, the mean weight with an interval and a t-test against 1 (a mean
far from 1 signals wrong propensities or deficient support), weight quantiles, the smallest logged propensity,
target mass outside the logged candidate set, and — when the logging probabilities of unshown candidates are
known — target mass on candidates the logging policy never takes there, with the share of requests affected.
When the per-request contributions ``|w · r|`` are given: the largest share of their sum carried by one request
and the ids of the largest contributors (influential observations).

Verdict (thresholds in :class:`SupportThresholds`): **unsupported** when unsupported target mass exceeds
``max_unsupported_mass`` or the ESS ratio is below ``min_ess_ratio_unsupported``; **weak** when the ESS ratio
is below ``min_ess_ratio``, the max-weight share exceeds ``max_weight_share``, or the mean weight differs from
1 (p < ``mean_weight_alpha``), or one request carries more than ``max_contribution_share`` of ``Σ |w · r|``;
**supported** otherwise. Every reason is named.

>>> import numpy as np
>>> rep = support_report(np.ones(1000), np.full(1000, 0.5))
>>> rep.verdict, round(rep.ess_ratio, 3)
('supported', 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class SupportThresholds:
    min_ess_ratio: float = 0.05
    min_ess_ratio_unsupported: float = 0.005
    max_weight_share: float = 0.05
    max_unsupported_mass: float = 0.01
    mean_weight_alpha: float = 0.001
    max_contribution_share: float = 0.2


@dataclass
class SupportReport:
    n: int
    ess: float
    ess_ratio: float
    max_weight: float
    max_weight_share: float
    mean_weight: float
    mean_weight_ci: tuple[float, float]
    mean_weight_p: float
    weight_quantiles: dict[str, float]
    min_logged_propensity: float
    outside_mass: float
    unsupported_mass: float | None
    unsupported_request_share: float | None
    verdict: str
    reasons: list[str]
    breakdown: pd.DataFrame | None = field(default=None)
    max_contribution_share: float | None = None  # largest share of Σ|w·r| carried by one request
    influential_requests: list | None = None  # ids of the largest contributors to Σ|w·r|, largest first
    by_position: pd.DataFrame | None = None  # logged-position mode: support per logged position
    unlogged_slate_mass: float | None = None  # ranking mode: mean over requests of 1 − π(logged slate)
    slates_never_logged: int | None = None  # ranking mode: requests whose logged slate the target never shows

    def to_frame(self) -> pd.DataFrame:
        ranking_only = ("unlogged_slate_mass", "slates_never_logged")
        row = {k: v for k, v in self.__dict__.items()
               if k not in ("breakdown", "weight_quantiles", "reasons", "influential_requests", "by_position")
               and not (k in ranking_only and v is None)}
        row.update({f"w_{k}": v for k, v in self.weight_quantiles.items()})
        row["reasons"] = "; ".join(self.reasons)
        row["influential_requests"] = ", ".join(map(str, self.influential_requests or []))
        return pd.DataFrame([row])

    def __repr__(self) -> str:
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return (f"SupportReport({self.verdict}{why}; ESS {self.ess:.1f} of {self.n} ({self.ess_ratio:.3f}), max weight "
                f"share {self.max_weight_share:.3f}, mean weight {self.mean_weight:.3f} "
                f"[{self.mean_weight_ci[0]:.3f}, {self.mean_weight_ci[1]:.3f}])")

    def _repr_html_(self) -> str:
        from recsys_causal.results import frame_html

        return frame_html(self.to_frame())  # shares as percentages, readable headers (recsys_causal.display)

    def caveat(self, label: str) -> str:
        """``"<label>: support is weak: <reasons>"`` (a :class:`~recsys_causal.caveats.SupportWarning` text)."""
        why = "; ".join(self.reasons) or f"ESS {self.ess:.1f} of {self.n}"
        return f"{label}: support is {self.verdict}: {why}"


@dataclass(frozen=True)
class WeightStats:
    """What the support diagnostics need from the importance weights: count, sums, largest weight, quantiles
    (p50, p90, p99) and the smallest logged propensity — computable where the data lives."""

    n: int
    sum_w: float
    sum_w2: float
    max_w: float
    quantiles: tuple[float, float, float]
    min_propensity: float

    @classmethod
    def from_weights(cls, w: np.ndarray, logged_propensity: np.ndarray) -> WeightStats:
        w = np.asarray(w, dtype=float)
        lp = np.asarray(logged_propensity, dtype=float)
        q = tuple(np.quantile(w, [0.5, 0.9, 0.99]).tolist()) if w.size else (np.nan,) * 3
        return cls(int(w.size), float(w.sum()), float((w**2).sum()), float(w.max()) if w.size else np.nan, q,
                   float(lp.min()) if lp.size else float("nan"))


def support_report(
    w: np.ndarray,
    logged_propensity: np.ndarray,
    *,
    outside_mass: float = 0.0,
    unsupported_mass: np.ndarray | None = None,
    thresholds: SupportThresholds | None = None,
    groups: np.ndarray | None = None,
    contributions: np.ndarray | None = None,
    request_ids: np.ndarray | None = None,
    positions: np.ndarray | None = None,
    slate_pi: np.ndarray | None = None,
) -> SupportReport:
    """Diagnostics from per-request weights; ``unsupported_mass`` is per request when known; ``groups`` (e.g.
    policy version or segment per request) adds a breakdown table; ``contributions`` (per-request ``w · r``,
    with their ``request_ids``) adds the influential-observation check; ``positions`` (the logged position of
    each weight, logged-position mode) adds support per position (:func:`position_support`), and a position
    where one impression carries more than ``max_weight_share`` of that position's weight makes the verdict at
    least weak; ``slate_pi`` (ranking mode: per request the target's probability of the logged slate, its items
    at their logged positions) adds the share of target mass on slates never logged, ``mean(1 − π(s))``, and
    the count of requests with ``π(s) = 0`` (:func:`with_slate_mass`)."""
    from recsys_causal.ope.rewards import contribution_share

    w = np.asarray(w, dtype=float)
    contrib = None
    if contributions is not None:
        ids = np.arange(len(contributions)) if request_ids is None else request_ids
        contrib = contribution_share(contributions, ids)
    unsupported = None
    if unsupported_mass is not None:
        um = np.asarray(unsupported_mass, dtype=float)
        unsupported = (float(np.mean(um)), float(np.mean(um > 1e-12)))
    by_group = None
    if groups is not None:
        frame = pd.DataFrame({"group": groups, "w": w, "w2": w**2})
        by_group = frame.groupby("group", sort=False).agg(n=("w", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum"),
                                                          max_w=("w", "max")).reset_index()
    rep = support_from_stats(WeightStats.from_weights(w, logged_propensity), outside_mass=outside_mass,
                             unsupported=unsupported, thresholds=thresholds, by_group=by_group,
                             contributions=contrib)
    rep = with_slate_mass(rep, slate_pi)
    if positions is None:
        return rep
    return with_position_support(rep, position_support(w, positions), thresholds or SupportThresholds())


def with_slate_mass(rep: SupportReport, slate_pi: np.ndarray | None) -> SupportReport:
    """The report with the target's mass on slates the log never shows for the request: ``mean(1 − π(s_i))``
    over the evaluated requests and the number with ``π(s_i) = 0`` (unchanged when ``slate_pi`` is None).

    >>> rep = with_slate_mass(support_report(np.ones(4), np.full(4, 0.5)), np.array([1.0, 0.0, 0.5, 0.0]))
    >>> rep.unlogged_slate_mass, rep.slates_never_logged
    (0.625, 2)
    """
    if slate_pi is None:
        return rep
    from dataclasses import replace

    pi = np.asarray(slate_pi, dtype=float)
    return replace(rep, unlogged_slate_mass=float(np.mean(1.0 - pi)) if pi.size else float("nan"),
                   slates_never_logged=int(np.sum(pi == 0.0)))


def group_support(w: np.ndarray, groups: np.ndarray, column: str = "group") -> pd.DataFrame:
    """Support per group (sorted by ``column``): units ``n``, ESS and its ratio, mean and largest weight, and the
    largest weight's share of the group's total weight (1 when the group has no weight).

    >>> group_support(np.array([1.0, 1.0, 8.0, 0.5, 0.5]), np.array([1, 1, 2, 2, 2]), "position")[["position", "n",
    ...               "max_weight_share"]].to_dict("list")
    {'position': [1, 2], 'n': [2, 3], 'max_weight_share': [0.5, 0.8888888888888888]}
    """
    w = np.asarray(w, dtype=float)
    frame = pd.DataFrame({column: np.asarray(groups), "w": w, "w2": w**2})
    g = frame.groupby(column, sort=True).agg(n=("w", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum"),
                                             max_w=("w", "max")).reset_index()
    table = _breakdown(g.rename(columns={column: "group"})).rename(columns={"group": column})
    return table[[column, "n", "ess", "ess_ratio", "mean_weight", "max_weight", "max_weight_share"]]


def position_support(w: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
    """Per logged position: impressions ``n``, ESS and its ratio, mean and largest weight, and the largest
    weight's share of the position's total weight (:func:`group_support` by position)."""
    return group_support(w, np.asarray(positions, dtype=np.int64), "position")


def with_position_support(rep: SupportReport, table: pd.DataFrame, t: SupportThresholds) -> SupportReport:
    """The report with its per-position table and a reason (verdict at least weak) for every position where one
    impression carries more than ``max_weight_share`` of the position's weight or the ESS ratio is below
    ``min_ess_ratio``."""
    from dataclasses import replace

    reasons = list(rep.reasons)
    for row in table.itertuples(index=False):
        if row.max_weight_share > t.max_weight_share:
            reasons.append(f"position {row.position}: one impression carries {row.max_weight_share:.1%} of the "
                           f"position's total weight (> {t.max_weight_share:.0%})")
        if row.ess_ratio < t.min_ess_ratio:
            reasons.append(f"position {row.position}: effective sample size ratio {row.ess_ratio:.3f} < "
                           f"{t.min_ess_ratio}")
    verdict = rep.verdict
    if len(reasons) > len(rep.reasons) and verdict == "supported":
        verdict = "weak"
    return replace(rep, by_position=table, reasons=reasons, verdict=verdict)


def support_from_stats(
    st: WeightStats,
    *,
    outside_mass: float = 0.0,
    unsupported: tuple[float, float] | None = None,
    thresholds: SupportThresholds | None = None,
    by_group: pd.DataFrame | None = None,
    contributions: tuple[float, list | None] | None = None,
) -> SupportReport:
    """The support report from weight statistics — the final step of the local, DuckDB and Spark paths.

    ``unsupported``: mean unsupported target mass per request and the share of requests with any, when
    known; ``by_group``: columns ``group, n, sum_w, sum_w2, max_w``; ``contributions``: the largest share
    of ``Σ |w · r|`` carried by one request and the ids of the largest contributors (None if unknown).
    """
    t = thresholds or SupportThresholds()
    n, s1, s2 = st.n, st.sum_w, st.sum_w2
    ess = float(s1**2 / s2) if s2 > 0 else 0.0
    mean = float(s1 / n) if n else float("nan")
    se = float(np.sqrt(max(s2 - s1**2 / n, 0.0) / (n - 1) / n)) if n > 1 else float("nan")
    tval = (mean - 1) / se if se > 0 else (0.0 if mean == 1 else np.inf)
    p = float(2 * stats.t.sf(abs(tval), n - 1)) if n > 1 else float("nan")
    z = float(stats.t.ppf(0.975, max(n - 1, 1)))
    q = dict(zip(["p50", "p90", "p99", "max"], [*st.quantiles, st.max_w], strict=True))
    um, ushare = (None, None) if unsupported is None else unsupported
    share = float(st.max_w / s1) if s1 > 0 else 1.0
    reasons, verdict = [], "supported"
    if um is not None and um > t.max_unsupported_mass:
        reasons.append(f"{um:.1%} of the target's probability is on candidates the logging policy never shows "
                       f"there (> {t.max_unsupported_mass:.1%})")
        verdict = "unsupported"
    if ess / max(n, 1) < t.min_ess_ratio_unsupported:
        reasons.append(f"effective sample size {ess:.1f} is {ess / max(n, 1):.2%} of {n} requests")
        verdict = "unsupported"
    if verdict == "supported":
        if ess / max(n, 1) < t.min_ess_ratio:
            reasons.append(f"effective sample size ratio {ess / max(n, 1):.3f} < {t.min_ess_ratio}")
            verdict = "weak"
        if share > t.max_weight_share:
            reasons.append(f"one request carries {share:.1%} of the total weight (> {t.max_weight_share:.0%})")
            verdict = "weak"
        if p < t.mean_weight_alpha:
            reasons.append(f"mean weight {mean:.3f} differs from 1 (p = {p:.2g}): wrong propensities or deficient "
                           "support")
            verdict = "weak"
        if contributions is not None and contributions[0] > t.max_contribution_share:
            reasons.append(_influential_reason(contributions[0], t.max_contribution_share))
            verdict = "weak"
    if outside_mass > t.max_unsupported_mass:
        reasons.append(f"{outside_mass:.1%} of the target's probability is outside the logged candidate sets")
        verdict = "unsupported"
    breakdown = None if by_group is None else _breakdown(by_group)
    top_share, top_ids = (None, None) if contributions is None else contributions
    return SupportReport(n, ess, ess / max(n, 1), float(st.max_w), share, mean, (mean - z * se, mean + z * se), p,
                         q, st.min_propensity, float(outside_mass), um, ushare, verdict, reasons, breakdown,
                         top_share, top_ids)


def _breakdown(g: pd.DataFrame) -> pd.DataFrame:
    """Support per group from columns ``group, n, sum_w, sum_w2, max_w``."""
    out = pd.DataFrame({"group": g["group"].to_numpy(), "n": g["n"].astype(int).to_numpy(),
                        "ess": (g["sum_w"] ** 2 / np.maximum(g["sum_w2"], 1e-300)).to_numpy(dtype=float),
                        "mean_weight": (g["sum_w"] / g["n"]).to_numpy(dtype=float),
                        "max_weight": g["max_w"].to_numpy(dtype=float)})
    out["ess_ratio"] = out["ess"] / out["n"]
    out["max_weight_share"] = (g["max_w"] / g["sum_w"].where(g["sum_w"] > 0)).fillna(1.0).to_numpy(dtype=float)
    return out


def _influential_reason(share: float, limit: float) -> str:
    return (f"one request carries {share:.1%} of the estimate's total |weight × reward| (> {limit:.0%}): the "
            "estimate rests on an influential observation")
