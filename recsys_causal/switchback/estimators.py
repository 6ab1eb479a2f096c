"""Switchback estimators: m-aware Horvitz–Thompson / Hajek, regression with cluster-robust errors, carryover.

For carryover order ``m``, only periods whose blocks ``t-m..t`` are all treated (or all control) contribute,
weighted by the exact design probability of that (Bojinov, Simchi-Levi & Zhao). The estimand is the average
effect of always treating versus never treating. Standard errors use the per-period influence values with a
Newey–West sum over the lags at which two periods can share a randomisation unit (conservative when effects
vary over time).

>>> from recsys_causal.simulate import simulate_switchback
>>> from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule
>>> from recsys_causal.switchback.blocks import aggregate_events
>>> sb = simulate_switchback(n_clusters=3, n_blocks=96, direct_effect=0.5, seed=0)
>>> blocks, _ = aggregate_events(sb.events, validate_schedule(sb.schedule, SwitchbackDesign()))
>>> est = design_based_estimate(blocks, SwitchbackDesign(), m=0)
>>> est.ci_low < 0.5 < est.ci_high
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.switchback.schedule import SwitchbackDesign, window_probabilities


def window_indicators(treated: np.ndarray, period: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For assignments ``(..., n_blocks)``: all-treated and all-control over ``t-m..t`` and eligibility ``t >= m``.

    ``period`` restarts at 0 for each cluster, so windows never cross clusters.
    """
    w = np.asarray(treated, dtype=bool)
    all1, all0 = w.copy(), ~w
    for lag in range(1, m + 1):
        shifted = np.roll(w, lag, axis=-1)
        all1 &= shifted
        all0 &= ~shifted
    eligible = period >= m
    return all1 & eligible, all0 & eligible, eligible


def _hac_variance(psi: np.ndarray, clusters: np.ndarray, lags: int) -> float:
    total = 0.0
    for c in np.unique(clusters):
        x = psi[clusters == c]
        total += float(x @ x)
        for lag in range(1, min(lags, x.size - 1) + 1):
            total += 2.0 * float(x[lag:] @ x[:-lag])
    return max(total, 0.0)


def dependence_lags(blocks: pd.DataFrame, m: int) -> int:
    """How far apart two periods can be and still share a randomisation unit in their windows."""
    run = blocks.groupby(["cluster", "coin"]).size().max()
    return int(m + run - 1)


def _hajek_parts(all1, all0, p1, p0, y, cluster_codes, n_clusters):
    """Per-cluster weighted means under all-treated / all-control windows (vectorised over leading axes)."""
    w1 = np.where(all1, 1.0 / np.where(all1, p1, 1.0), 0.0)
    w0 = np.where(all0, 1.0 / np.where(all0, p0, 1.0), 0.0)
    onehot = np.eye(n_clusters)[cluster_codes]  # (n_blocks, C)
    s1, s0 = w1 @ onehot, w0 @ onehot
    m1 = np.divide((w1 * y) @ onehot, s1, out=np.full(s1.shape, np.nan), where=s1 > 0)
    m0 = np.divide((w0 * y) @ onehot, s0, out=np.full(s0.shape, np.nan), where=s0 > 0)
    return w1, w0, s1, s0, m1, m0


def design_based_estimate(
    blocks: pd.DataFrame,
    design: SwitchbackDesign,
    m: int = 0,
    *,
    normalized: bool = True,
    alpha: float = 0.05,
) -> Estimate:
    """Hajek (``normalized=True``, difference in weighted means) or Horvitz–Thompson estimate for order ``m``."""
    if not normalized and blocks["y"].isna().any():
        raise EstimationError("Horvitz–Thompson needs an outcome for every block; some blocks lie wholly in the "
                              "burn-in", fix="shorten the burn-in or use the Hajek estimator")
    # windows and design probabilities come from the full schedule; blocks without outcomes then drop out
    keep = blocks["y"].notna().to_numpy()
    p1, p0 = (a[keep] for a in window_probabilities(blocks, design, m))
    all1, all0, elig = (a[keep] for a in window_indicators(blocks["treated"].to_numpy(), blocks["period"].to_numpy(), m))
    b = blocks.loc[keep]
    y = b["y"].to_numpy(dtype=float)
    codes, names = pd.factorize(b["cluster"])
    n_c = np.bincount(codes[elig], minlength=len(names)).astype(float)
    share = n_c / n_c.sum()
    if normalized:
        w1, w0, s1, s0, m1, m0 = _hajek_parts(all1, all0, p1, p0, y, codes, len(names))
        if np.isnan(m1).any() or np.isnan(m0).any():
            raise EstimationError(f"with carryover order m={m} some clusters have no all-treated or no all-control "
                                  "window", fix="use a smaller m, longer schedules, or the minimax design")
        tau = float(share @ (m1 - m0))
        # the n / (n - 1) factor per cluster and arm, as in Welch's variance
        n1 = np.bincount(codes[all1], minlength=len(names)).astype(float)
        n0 = np.bincount(codes[all0], minlength=len(names)).astype(float)
        c1, c0 = np.sqrt(n1 / np.maximum(n1 - 1, 1)), np.sqrt(n0 / np.maximum(n0 - 1, 1))
        psi = share[codes] * (c1[codes] * w1 * (y - m1[codes]) / s1[codes]
                              - c0[codes] * w0 * (y - m0[codes]) / s0[codes])
        method = f"Hajek difference in means (carryover order m={m})"
    else:
        phi = np.where(all1, y / np.where(all1, p1, 1.0), 0.0) - np.where(all0, y / np.where(all0, p0, 1.0), 0.0)
        tau_c = np.bincount(codes[elig], weights=phi[elig], minlength=len(names)) / n_c
        tau = float(share @ tau_c)
        psi = np.where(elig, (phi - tau_c[codes]) / n_c.sum(), 0.0)
        method = f"Horvitz–Thompson (carryover order m={m})"
    se = np.sqrt(_hac_variance(psi, codes, dependence_lags(b, m)))
    return Estimate.from_normal(name=f"effect (m={m})", value=tau, se=se, n=int(elig.sum()), method=method,
                                alpha=alpha, details={"carryover_order": m, "clusters": len(names)})


def regression_estimate(
    blocks: pd.DataFrame,
    lags: int = 0,
    *,
    time_effects: bool = True,
    cluster_by: str = "run",
    alpha: float = 0.05,
):
    """OLS of block outcomes on treatment, ``lags`` lagged treatments, hour-of-day, day-of-week and cluster
    effects, with cluster-robust errors (statsmodels). Returns ``(Estimate, statsmodels results)``.

    ``cluster_by="run"`` clusters by maximal runs of equal assignment within a cluster (switch blocks);
    ``"cluster"`` by cluster. The estimate is the sum of the treatment and lag coefficients (always vs never).
    """
    import statsmodels.formula.api as smf

    d = _design_frame(blocks, lags)
    terms = ["treated"] + [f"lag_{k}" for k in range(1, lags + 1)]
    rhs = " + ".join(terms)
    if time_effects:
        if d["hour"].nunique() > 1:
            rhs += " + C(hour)"
        if d["dow"].nunique() > 1:
            rhs += " + C(dow)"
    if d["cluster"].nunique() > 1:
        rhs += " + C(cluster)"
    groups = pd.factorize(d["run"] if cluster_by == "run" else d["cluster"])[0]
    fit = smf.ols(f"y ~ {rhs}", data=d).fit(cov_type="cluster", cov_kwds={"groups": groups})
    contrast = np.zeros(len(fit.params))
    for t in terms:
        contrast[list(fit.params.index).index(t)] = 1.0
    test = fit.t_test(contrast)
    value, se = float(np.squeeze(test.effect)), float(np.squeeze(test.sd))
    est = Estimate.from_normal(name=f"effect (regression, {lags} lags)", value=value, se=se, n=int(fit.nobs),
                               method=f"OLS + cluster-robust SE by {cluster_by}", alpha=alpha,
                               df=float(groups.max()), details={"carryover_order": lags})
    return est, fit


def _design_frame(blocks: pd.DataFrame, lags: int) -> pd.DataFrame:
    d = blocks.copy()
    d["treated"] = d["treated"].astype(float)
    for k in range(1, lags + 1):
        d[f"lag_{k}"] = d.groupby("cluster")["treated"].shift(k)
    change = d["treated"].ne(d.groupby("cluster")["treated"].shift(1)) | (d["period"] == 0)
    d["run"] = d["cluster"] + ":" + change.cumsum().astype(str)
    start = pd.DatetimeIndex(d["block_start"])
    d["hour"] = start.hour
    d["dow"] = start.day_of_week
    return d.loc[(d["period"] >= lags) & d["y"].notna()].reset_index(drop=True)


def carryover_table(blocks: pd.DataFrame, design: SwitchbackDesign, max_order: int = 3,
                    alpha: float = 0.05) -> EstimateTable:
    """Design-based and regression estimates for m = 0..max_order, to choose m and the burn-in."""
    out = []
    for m in range(max_order + 1):
        try:
            out.append(design_based_estimate(blocks, design, m, alpha=alpha))
        except EstimationError as exc:
            out.append(Estimate(name=f"effect (m={m})", value=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan,
                                n=0, method="Hajek", warnings=(str(exc),), details={"carryover_order": m}))
        out.append(regression_estimate(blocks, m, alpha=alpha)[0])
    return EstimateTable(out, title="Carryover: estimates by order m")
