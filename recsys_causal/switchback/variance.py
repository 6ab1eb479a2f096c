"""Design-based variance of the switchback estimators, with a small-sample correction and degrees of freedom.

Two windows (blocks ``t-m..t`` of a cluster) are dependent only when they share a randomisation unit (a
block, or a minimax coin). The variance sums products of per-window contributions over such pairs: the overlap
mask ``M`` (1 on the diagonal). Centred on the true arm means this is the design variance up to effect
heterogeneity (Neyman-conservative). Centring on the estimated means shrinks it; for an arm with weights ``w``
(``S = Σw``, ``D = diag(w²)``, residual operator ``Q = I − w1ᵀ/S``) the factor ``tr(D) / tr(QᵀMQD)`` undoes
the shrinkage exactly when contributions are uncorrelated with variance proportional to ``w²``, and
``ν = tr(QᵀMQD)² / tr((QᵀMQD)²)`` is the Satterthwaite degrees of freedom of the estimate under the same
working model. With ``M = I`` (independent windows) the factor is ``n/(n−1)`` and ``ν = n − 1``, so a
difference in means gets Welch's variance and Welch–Satterthwaite degrees of freedom.

>>> import numpy as np
>>> masks = overlap_masks(np.arange(4), np.arange(4), np.zeros(4, int), m=0, max_lag=0)
>>> t = arm_terms(np.ones(4), np.array([1.0, -1.0, 2.0, -2.0]), masks, np.ones((4, 1)))
>>> float(t["trD"][0] / t["trAD"][0]), float(t["trAD"][0] ** 2 / t["trADAD"][0])   # n/(n-1) and n-1
(1.3333333333333333, 3.0)
"""

from __future__ import annotations

import numpy as np


def overlap_masks(coin: np.ndarray, period: np.ndarray, codes: np.ndarray, m: int, max_lag: int) -> list[np.ndarray]:
    """``masks[l-1][t]``: windows ending at ``t`` and ``t+l`` lie in one cluster, are both complete (period ≥ m)
    and share a randomisation unit. Blocks are sorted by cluster and time; coins increase within a cluster."""
    coin, period, codes = (np.asarray(a) for a in (coin, period, codes))
    first = np.roll(coin, m)  # coin of block t-m: valid where period >= m
    out = []
    for lag in range(1, max_lag + 1):
        both = (codes[lag:] == codes[:-lag]) & (period[lag:] >= m) & (period[:-lag] >= m)
        out.append(both & (first[lag:] <= coin[:-lag]))
    return out


def _pair_sums(x: np.ndarray, z: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """Per-position terms whose sum over a cluster is ``xᵀ M z`` (M symmetric, unit diagonal)."""
    g = x * z
    for lag, mk in enumerate(masks, 1):
        g[:-lag] += mk * (x[:-lag] * z[lag:] + z[:-lag] * x[lag:])
    return g


def _matvec(x: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    out = x.copy()
    for lag, mk in enumerate(masks, 1):
        out[:-lag] += mk * x[lag:]
        out[lag:] += mk * x[:-lag]
    return out


def arm_terms(w: np.ndarray, resid: np.ndarray, masks: list[np.ndarray], onehot: np.ndarray) -> dict[str, np.ndarray]:
    """Per-cluster sums for one arm: ``S = Σw``, ``trD = Σw²``, ``V = rᵀMr`` of the residual contributions
    ``r`` (zero outside the arm), ``trAD = tr(QᵀMQD)`` and ``trADAD = tr((QᵀMQD)²)`` in closed form."""
    codes = onehot.argmax(axis=1)
    S, d = w @ onehot, w * w
    trD = d @ onehot
    V = _pair_sums(resid, resid, masks) @ onehot
    wMw = _pair_sums(w, w, masks) @ onehot
    dMw = _pair_sums(d, w, masks) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        trAD = trD - 2 * dMw / S + wMw * trD / S**2
        # D^½ Qᵀ M Q D^½ = N − g uᵀ − u gᵀ + a u uᵀ with N = diag(w) M diag(w), g = diag(w) M w, u = w/S, a = wᵀMw
        u = w / S[codes]
    u = np.nan_to_num(u)
    g = w * _matvec(w, masks)
    trN2 = _pair_sums(d, d, masks) @ onehot
    uNg = _pair_sums(u * w, w * g, masks) @ onehot
    uNu = _pair_sums(u * w, u * w, masks) @ onehot
    uu, ug, gg = (u * u) @ onehot, (u * g) @ onehot, (g * g) @ onehot
    # tr(R²) for R = B K Bᵀ, B = [u g], K = [[a, −1], [−1, 0]]: tr((K BᵀB)²)
    k00, k01, k10, k11 = wMw * uu - ug, wMw * ug - gg, -uu, -ug
    trR2 = k00**2 + 2 * k01 * k10 + k11**2
    trADAD = trN2 + 2 * (wMw * uNu - 2 * uNg) + trR2
    return {"S": S, "trD": trD, "V": V, "trAD": trAD, "trADAD": trADAD}


def combine(parts: list[dict[str, np.ndarray]], scales: list[np.ndarray]) -> tuple[float, float]:
    """Corrected variance ``Σ scale · V · trD/trAD`` over arms and clusters, and its Welch–Satterthwaite
    degrees of freedom ``(Σv)² / Σ(v²/ν)`` with ``ν = trAD²/trADAD`` per arm and cluster."""
    v_all, nu_all = [], []
    for p, scale in zip(parts, scales, strict=True):
        with np.errstate(invalid="ignore", divide="ignore"):
            v_all.append(scale * p["V"] * p["trD"] / p["trAD"])
            nu_all.append(p["trAD"] ** 2 / p["trADAD"])
    v, nu = np.concatenate(v_all), np.concatenate(nu_all)
    var = float(v.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = float(np.sum(np.where(v > 0, v**2 / nu, 0.0)))
    df = var**2 / denom if denom > 0 else float("inf")
    return var, float(df)
