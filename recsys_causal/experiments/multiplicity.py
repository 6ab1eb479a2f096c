"""Multiplicity adjustment: Holm across primary comparisons, Benjamini–Hochberg across secondary ones.

Each family is every (metric, treatment-vs-control) comparison with that role; relative and absolute readouts
of the same comparison share one p-value (the relative p-value is used for the decision). Guardrails are not
in either family: each is its own non-inferiority test (see :mod:`recsys_causal.experiments.guardrails`).

>>> from recsys_causal.estimate import Estimate
>>> es = [Estimate.from_normal(name=str(i), value=v, se=1.0, n=10, method="m") for i, v in enumerate([3.0, 1.0])]
>>> [round(e.details["p_adjusted"], 4) for e in adjust(es, method="holm")]
[0.0054, 0.3173]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.pvalues import adjust_pvalues

METHODS = {"holm": "holm", "bh": "fdr_bh", "none": None}


def adjust(estimates: Sequence[Estimate], *, method: str = "holm", alpha: float | None = None) -> list[Estimate]:
    """Return copies with ``details['p_adjusted']``, ``details['adjustment']`` and ``details['significant']``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}")
    ests = list(estimates)
    if not ests:
        return []
    a = alpha if alpha is not None else ests[0].alpha
    p = np.array([e.p_value if e.p_value is not None else np.nan for e in ests], dtype=np.float64)
    adj = p.copy()
    ok = np.isfinite(p)
    if METHODS[method] and ok.any():
        adj[ok] = adjust_pvalues(p[ok], METHODS[method])
    return [replace(e, details={**e.details, "p_adjusted": float(q), "adjustment": method,
                                "significant": bool(np.isfinite(q) and q < a)}) for e, q in zip(ests, adj, strict=True)]
