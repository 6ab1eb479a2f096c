"""Closed forms the report tests check against, worked directly on the data (no product code)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def delta_ratio_difference(sub: pd.DataFrame, num: str = "click", den: str = "impressions",
                           variant: str = "variant") -> tuple[float, float, float]:
    """Treatment − control of ``Σnum / Σden``: the difference, its delta-method standard error
    (``var(R) = Σ(n − R d)² / ((k − 1) k d̄²)`` per arm) and the Welch–Satterthwaite df."""
    out = {}
    for arm, g in sub.groupby(variant):
        n, d = g[num].to_numpy(dtype=float), g[den].to_numpy(dtype=float)
        r = n.sum() / d.sum()
        out[arm] = (r, np.var(n - r * d, ddof=1) / (len(g) * d.mean() ** 2), len(g))
    (rt, vt, nt), (rc, vc, nc) = out["treatment"], out["control"]
    df = (vt + vc) ** 2 / (vt**2 / (nt - 1) + vc**2 / (nc - 1))
    return rt - rc, float(np.sqrt(vt + vc)), float(df)
