"""A bare numpy floor of an A/B readout: the same point estimates, standard errors and p-values as
``analyze_ab`` (and tea-tasting's definitions) computed directly from the unit table's arrays, with no
validation beyond what the workload itself asks for.

Per arm, the rows of the numeric columns are gathered once and summarised by their count, means and centred
cross-products (two passes); every metric is a linear combination of those columns (a ratio through its
per-arm linearisation), so CUPED, Welch, delta-method and Fieller numbers are small matrix formulas on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def moments(z: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(n, means, centred cross-products)`` of the rows of ``z``."""
    mean = z.mean(axis=0)
    zc = z - mean
    return len(z), mean, zc.T @ zc


def gather(df: pd.DataFrame, columns: list[str], rows: np.ndarray) -> np.ndarray:
    return np.column_stack([df[c].to_numpy(dtype=np.float64)[rows] for c in columns])


def metric_weights(arm: tuple, columns: list[str], metric: tuple) -> tuple[np.ndarray, float]:
    """Weights over ``columns`` and constant of the per-unit value whose arm mean is the metric: a column
    (``("mean", col)``) or the linearised ratio ``R + (num - R den) / mean(den)`` (``("ratio", num, den)``)."""
    _, mean, _ = arm
    w = np.zeros(len(columns))
    if metric[0] == "mean":
        w[columns.index(metric[1])] = 1.0
        return w, 0.0
    i, j = columns.index(metric[1]), columns.index(metric[2])
    r = mean[i] / mean[j]
    w[i], w[j] = 1.0 / mean[j], -r / mean[j]
    return w, float(r)


def cuped_means(arms: list[tuple], weights: list[tuple], xs: list[int]) -> list[tuple[float, float, float]]:
    """``(mean, variance of the mean, dof)`` per arm, CUPED-adjusted on covariate columns ``xs`` with the
    pooled within-arm slope (unadjusted when ``xs`` is empty)."""
    k = len(xs)
    theta = np.zeros(k)
    if k:
        sxx = sum(c[np.ix_(xs, xs)] for _, _, c in arms)
        sxy = sum(c[xs] @ w for (_, _, c), (w, _) in zip(arms, weights, strict=True))
        theta = np.linalg.lstsq(sxx, sxy, rcond=None)[0]
        xbar = sum(n * m[xs] for n, m, _ in arms) / sum(n for n, _, _ in arms)
    out = []
    for (n, m, c), (w, const) in zip(arms, weights, strict=True):
        y = const + w @ m
        ss = w @ c @ w
        if k:
            y -= (m[xs] - xbar) @ theta
            ss += -2 * theta @ (c[xs] @ w) + theta @ c[np.ix_(xs, xs)] @ theta
        out.append((float(y), float(ss / (n - 1) / n), max(n - 1 - k / 2, 1.0)))
    return out


def contrast(t: tuple, c: tuple, alpha: float = 0.05) -> dict[str, float]:
    """Absolute lift (Welch), relative lift (delta-method se, Fieller interval) and their shared p-value."""
    (mt, vt, dt), (mc, vc, dc) = t, c
    se = np.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / dt + vc**2 / dc)
    p = 2 * stats.t.sf(abs((mt - mc) / se), df)
    q2 = stats.t.ppf(1 - alpha / 2, df) ** 2
    r = mt / mc
    qa, qb, qc = mc * mc - q2 * vc, -2 * mt * mc, mt * mt - q2 * vt
    root = np.sqrt(qb * qb - 4 * qa * qc)
    return {"lift": mt - mc, "se": float(se), "p": float(p), "rel": r - 1, "rel_se": float(np.sqrt(vt + r * r * vc)
            / abs(mc)), "rel_lo": (-qb - root) / (2 * qa) - 1, "rel_hi": (-qb + root) / (2 * qa) - 1}


def srm(counts: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chi-square statistic and p-value of each row of ``counts`` against ``shares``."""
    counts = np.atleast_2d(counts).astype(np.float64)
    exp = counts.sum(axis=1, keepdims=True) * shares
    chi = ((counts - exp) ** 2 / exp).sum(axis=1)
    return chi, stats.chi2.sf(chi, len(shares) - 1)


def r2_and_balance(arms: list[tuple], weights: list[tuple], xs: list[int]) -> tuple[float, np.ndarray]:
    """The pooled within-arm R² of the metric on the covariates and each covariate's Welch balance p-value
    (the readout's CUPED guards)."""
    sxx = sum(c[np.ix_(xs, xs)] for _, _, c in arms)
    sxy = sum(c[xs] @ wt for (_, _, c), (wt, _) in zip(arms, weights, strict=True))
    syy = sum(wt @ c @ wt for (_, _, c), (wt, _) in zip(arms, weights, strict=True))
    r2 = float(np.linalg.lstsq(sxx, sxy, rcond=None)[0] @ sxy / syy)
    (nt, mt, ct), (nc, mc, cc) = arms
    vt, vc = np.diag(ct)[xs] / (nt - 1) / nt, np.diag(cc)[xs] / (nc - 1) / nc
    df = (vt + vc) ** 2 / (vt**2 / (nt - 1) + vc**2 / (nc - 1))
    return r2, 2 * stats.t.sf(np.abs(mt[xs] - mc[xs]) / np.sqrt(vt + vc), df)


def tea_cuped(arms: list[tuple], columns: list[str], y: str, x: str) -> list[tuple[float, float, float]]:
    """tea-tasting's CUPED of a mean: the slope ``cov(y, x) / var(x)`` over both arms pooled *with* the
    between-arm difference, adjusted means ``ȳ - θ (x̄_arm - x̄)`` and variances ``var(y - θ x) / n``."""
    i, j = columns.index(y), columns.index(x)
    n_all = sum(n for n, _, _ in arms)
    grand = sum(n * m for n, m, _ in arms) / n_all
    total = sum(c + n * np.outer(m - grand, m - grand) for n, m, c in arms) / (n_all - 1)
    theta = total[i, j] / total[j, j]
    out = []
    for n, m, c in arms:
        v = (c[i, i] + theta * theta * c[j, j] - 2 * theta * c[i, j]) / (n - 1)
        out.append((float(m[i] - theta * (m[j] - grand[j])), float(v / n), float(n - 1)))
    return out
