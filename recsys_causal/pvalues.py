"""Multiplicity-adjusted p-values.

Benjamini–Hochberg and the other corrections come from statsmodels; Holm's step-down adjustment is computed
here directly because statsmodels runs a full garbage collection on every Holm call, which dominates the cost
when adjusting many small families (it is checked against statsmodels in the tests).

>>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(4).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import numpy as np


def adjust_pvalues(p_values, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for one family (``holm``, ``fdr_bh`` or any statsmodels ``multipletests`` method)."""
    p = np.nan_to_num(np.asarray(p_values, dtype=float), nan=1.0)
    if p.size == 0:
        return p
    if method == "holm":
        order = np.argsort(p, kind="stable")
        stepped = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
        out = np.empty_like(p)
        out[order] = np.minimum(stepped, 1.0)
        return out
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method=method)[1]
