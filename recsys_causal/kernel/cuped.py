"""CUPED from per-arm moments: the one computation of the pooled within-arm slope and the adjusted arm means.

The slope ``θ`` solves ``(Σ_arms Sxx) θ = Σ_arms Sxy`` on the centred within-arm cross-products of the
covariates ``x`` and the metric ``y`` (:class:`~recsys_causal.kernel.arm_moments.ArmMoments`), i.e. the
regression of ``y`` on ``x`` with a separate intercept per arm, so the adjusted difference equals the treatment
coefficient of the ANCOVA ``y ~ 1 + T + (x - x̄)``. :func:`cuped_from_moments` gives the adjusted arm
summaries (what ``analyze_ab`` and the SQL engines use); :func:`cuped_adjust` the adjusted per-unit values
``y - θ'(x - x̄)`` for analyses that work on unit-level influence values (holdout, segments).

>>> import numpy as np
>>> x = np.array([0.0, 1.0, 2.0, 1.0, 2.0, 3.0]); g = np.array([0, 0, 0, 1, 1, 1])
>>> y = 2 * x + g + np.array([0.1, -0.2, 0.1, -0.1, 0.2, -0.1])
>>> np.round(cuped_adjust(y, x, g) - (y - 2 * (x - x.mean())), 12).tolist() == [0.0] * 6
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys_causal.kernel.arm_moments import ArmMoments, var_of_mean
from recsys_causal.kernel.contrast import ArmMean


def pooled_slope(arms: Sequence[ArmMoments], y: str, covariates: Sequence[str]) -> np.ndarray:
    """Pooled within-arm OLS slope of ``y`` on ``covariates`` (shape ``(k,)``) from the arms' centred
    cross-products."""
    k = len(covariates)
    sxx, sxy = np.zeros((k, k)), np.zeros(k)
    for m in arms:
        idx = [m.index(c) for c in (*covariates, y)]
        cp = m.cross[np.ix_(idx, idx)]
        sxx, sxy = sxx + cp[:k, :k], sxy + cp[:k, k]
    return np.linalg.lstsq(sxx, sxy, rcond=None)[0]


def cuped_from_moments(
    treatment: ArmMoments, control: ArmMoments, y: str, covariates: Sequence[str],
) -> tuple[ArmMean, ArmMean, np.ndarray, float]:
    """CUPED-adjusted arm means (treatment, control), the pooled within-arm slope and the unadjusted variance
    of the difference.

    Each adjusted mean is ``ȳ - θ'(x̄_arm - x̄_pooled)`` with variance ``Σ (y - θ'x - c)² / (n - 1) / n`` on
    ``n - 1 - k/2`` degrees of freedom (the ``k`` slopes shared by the two arms: ``N - 2 - k`` in all, as in
    the ANCOVA).
    """
    k = len(covariates)
    theta = pooled_slope((treatment, control), y, covariates)
    parts = []
    for m in (treatment, control):
        idx = [m.index(c) for c in (*covariates, y)]
        parts.append((m.n, m.mean[idx], m.cross[np.ix_(idx, idx)]))
    n_all = sum(n for n, _, _ in parts)
    xbar = sum(n * mean[:k] for n, mean, _ in parts) / n_all
    arms, raw = [], 0.0
    for n, mean, cp in parts:
        adjusted = mean[k] - (mean[:k] - xbar) @ theta
        resid_ss = cp[k, k] - 2 * theta @ cp[:k, k] + theta @ cp[:k, :k] @ theta
        arms.append(ArmMean(float(adjusted), var_of_mean(resid_ss, n), int(n), dof=max(n - 1 - k / 2, 1.0)))
        raw += var_of_mean(cp[k, k], n)
    return arms[0], arms[1], theta, float(raw)


def cuped_details(treatment: ArmMean, control: ArmMean, theta: np.ndarray, raw_var: float) -> dict:
    """``theta`` (rounded) and the share of the variance of the difference removed by the adjustment."""
    return {"theta": [round(float(v), 6) for v in theta],
            "variance_reduction": float(1 - (treatment.var_mean + control.var_mean) / raw_var) if raw_var > 0
            else np.nan}


def unit_slope(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """:func:`pooled_slope` of per-unit values: ``y`` on the columns of ``x`` within the ``groups``."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    names = tuple(f"x{j}" for j in range(x.shape[1]))
    groups = np.asarray(groups)
    arms = [ArmMoments.from_array(np.column_stack([x[groups == g], y[groups == g]]), (*names, "y"))
            for g in np.unique(groups)]
    return pooled_slope(arms, "y", names)


def cuped_adjust(y: np.ndarray, covariates: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``y - θ'(x - x̄)`` with θ the pooled within-group regression slope (equals ANCOVA's adjustment)."""
    x = np.asarray(covariates, dtype=np.float64).reshape(len(y), -1)
    return y - (x - x.mean(axis=0)) @ unit_slope(y, x, groups)
