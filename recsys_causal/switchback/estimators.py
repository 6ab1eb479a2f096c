"""Switchback estimators: m-aware Horvitz–Thompson / Hajek, regression with cluster-robust errors, carryover.

For carryover order ``m``, only periods whose blocks ``t-m..t`` are all treated (or all control) contribute,
weighted by the exact design probability of that (Bojinov, Simchi-Levi & Zhao). The estimand is the average
effect of always treating versus never treating. The variance sums products of per-window contributions over
windows that share a randomisation unit, with a small-sample correction, and intervals use a Student t
reference with Satterthwaite degrees of freedom (:mod:`recsys_causal.switchback.variance`); it is conservative
when effects vary over time.

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

from recsys_causal.caveats import AssumptionWarning, caveat
from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.switchback.schedule import SwitchbackDesign, window_probabilities
from recsys_causal.switchback.variance import arm_terms, combine, overlap_masks


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


def dependence_lags(blocks: pd.DataFrame, m: int) -> int:
    """How far apart two periods can be and still share a randomisation unit in their windows."""
    codes = pd.factorize(blocks["cluster"])[0]
    coin = blocks["coin"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1]) | (coin[1:] != coin[:-1]), True])
    return int(m + np.diff(starts).max() - 1)


def _hajek_parts(all1, all0, p1, p0, y, codes, onehot, masks, share, m):
    """Hajek estimate over clusters, and per arm the variance sums of the weighted residuals and their scales."""
    parts, means, scales = [], [], []
    for ind, p in ((all1, p1), (all0, p0)):
        w = np.where(ind, 1.0 / np.where(ind, p, 1.0), 0.0)
        s = w @ onehot
        if (s == 0).any():
            raise EstimationError(f"with carryover order m={m} some clusters have no all-treated or no all-control "
                                  "window", fix="use a smaller m, longer schedules, or the minimax design")
        mu = (w * y) @ onehot / s
        parts.append(arm_terms(w, np.where(ind, w * (y - mu[codes]), 0.0), masks, onehot))
        means.append(mu)
        scales.append(share**2 / s**2)
    return float(share @ (means[0] - means[1])), parts, scales


def design_based_estimate(
    blocks: pd.DataFrame,
    design: SwitchbackDesign,
    m: int = 0,
    *,
    normalized: bool = True,
    alpha: float = 0.05,
) -> Estimate:
    """Hajek (``normalized=True``, difference in weighted means) or Horvitz–Thompson estimate for order ``m``,
    with the small-sample corrected design-based variance and a Student t reference (degrees of freedom in
    ``details["df"]``; see :mod:`recsys_causal.switchback.variance`)."""
    if not normalized and blocks["y"].isna().any():
        raise EstimationError("Horvitz–Thompson needs an outcome for every block; some blocks lie wholly in the "
                              "burn-in", fix="shorten the burn-in or use the Hajek estimator")
    # windows, design probabilities and overlaps come from the full schedule; blocks without outcomes drop out
    keep = blocks["y"].notna().to_numpy()
    y = np.nan_to_num(blocks["y"].to_numpy(dtype=float))
    period = blocks["period"].to_numpy()
    p1, p0 = window_probabilities(blocks, design, m)
    all1, all0, elig = (a & keep for a in window_indicators(blocks["treated"].to_numpy(), period, m))
    codes, names = pd.factorize(blocks["cluster"])
    onehot = np.eye(len(names))[codes]
    coin = blocks["coin"].to_numpy() if "coin" in blocks.columns else period
    masks = overlap_masks(coin, period, codes, m, dependence_lags(blocks.assign(coin=coin), m))
    n_c = elig @ onehot
    share = n_c / n_c.sum()
    n_arm = (int(all1.sum()), int(all0.sum()))
    if normalized:
        tau, parts, scales = _hajek_parts(all1, all0, p1, p0, y, codes, onehot, masks, share, m)
        label = f"Hajek difference in means (carryover order m={m})"
    else:
        phi = np.where(all1, y / np.where(all1, p1, 1.0), 0.0) - np.where(all0, y / np.where(all0, p0, 1.0), 0.0)
        tau_c = (np.where(elig, phi, 0.0) @ onehot) / n_c
        tau = float(share @ tau_c)
        parts = [arm_terms(elig.astype(float), np.where(elig, phi - tau_c[codes], 0.0), masks, onehot)]
        scales = [np.full(len(names), 1.0 / n_c.sum() ** 2)]
        label = f"Horvitz–Thompson (carryover order m={m})"
    var, df = combine(parts, scales)
    warnings = ()
    if any((p["trAD"] <= 1e-12 * p["trD"]).any() for p in parts):
        var, df = float("nan"), float("nan")
        warnings = (caveat(f"with carryover order m={m} a cluster has all its all-treated (or all-control) windows "
                           "sharing one randomisation unit: no variance estimate, so no interval (use a smaller m or "
                           "a longer schedule)", AssumptionWarning),)
    return Estimate.from_normal(
        name=f"effect (m={m})", value=tau, se=float(np.sqrt(var)), n=int(elig.sum()), alpha=alpha, df=df,
        method=f"{label}, Student t with {df:.1f} df", warnings=warnings,
        details={"carryover_order": m, "clusters": len(names), "reference": "student_t", "df": df,
                 "windows_treated": n_arm[0], "windows_control": n_arm[1],
                 "variance": "design-based over windows sharing a randomisation unit, small-sample corrected"})


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


def carryover_disagreements(carryover: EstimateTable, m: int) -> list[str]:
    """Design-based estimates at other carryover orders that differ from the one at ``m`` in sign or in
    significance at their level (the chosen order then decides the conclusion)."""
    design = {e.details.get("carryover_order"): e for e in carryover if e.name.startswith("effect (m=")}
    main = design.get(m)
    if main is None or main.p_value is None or not np.isfinite(main.value):
        return []
    out = []
    for k, e in design.items():
        if k == m or e.p_value is None or not (np.isfinite(e.value) and np.isfinite(e.p_value)):
            continue
        if np.sign(e.value) != np.sign(main.value) or (e.p_value < e.alpha) != (main.p_value < main.alpha):
            out.append(f"carryover order m={k} gives {e.value:.4g} (p = {e.p_value:.2g}) against {main.value:.4g} "
                       f"(p = {main.p_value:.2g}) at the chosen m={m}: the conclusion depends on the carryover "
                       "assumed; check the carryover table before reading the verdict")
    return out
