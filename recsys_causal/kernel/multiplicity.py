"""Multiplicity: adjusted p-values of one family, and their attachment to :class:`Estimate` rows.

Benjamini–Hochberg and the other corrections come from statsmodels; Holm's step-down adjustment is computed
here directly because statsmodels runs a full garbage collection on every Holm call, which dominates the cost
when adjusting many small families (it is checked against statsmodels in the tests).

In the A/B readout each family is every (metric, treatment-vs-control) comparison with one role (Holm across
primary, Benjamini–Hochberg across secondary), counted once: the relative and absolute readouts of one
comparison are one hypothesis on two scales, share the p-value of the absolute contrast and get the same
adjusted p-value (:func:`adjust_by_hypothesis`). Guardrails are not in either family: each is its own
non-inferiority test (:mod:`recsys_causal.kernel.guardrail`). The correction is named by ``multiplicity=``
(``method=`` is its deprecated name).

>>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(4).tolist()
[0.03, 0.06, 0.06]
>>> from recsys_causal.estimate import Estimate
>>> es = [Estimate.from_normal(name=str(i), value=v, se=1.0, n=10, method="m") for i, v in enumerate([3.0, 1.0])]
>>> [round(e.details["p_adjusted"], 4) for e in adjust(es, multiplicity="holm")]
[0.0054, 0.3173]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from recsys_causal.deprecation import renamed_arguments
from recsys_causal.estimate import Estimate

#: Names accepted by :func:`adjust` → the statsmodels method (``None``: no adjustment).
METHODS = {"holm": "holm", "bh": "fdr_bh", "none": None}


@renamed_arguments(method="multiplicity")
def adjust_pvalues(p_values, multiplicity: str = "holm") -> np.ndarray:
    """Adjusted p-values for one family (``holm``, ``fdr_bh`` or any statsmodels ``multipletests`` method);
    NaN p-values count as 1."""
    p = np.nan_to_num(np.asarray(p_values, dtype=float), nan=1.0)
    if p.size == 0:
        return p
    if multiplicity == "holm":
        order = np.argsort(p, kind="stable")
        stepped = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
        out = np.empty_like(p)
        out[order] = np.minimum(stepped, 1.0)
        return out
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method=multiplicity)[1]


@renamed_arguments(method="multiplicity")
def adjust(estimates: Sequence[Estimate], *, multiplicity: str = "holm",
           alpha: float | None = None) -> list[Estimate]:
    """Return copies with ``details['p_adjusted']``, ``details['adjustment']`` and ``details['significant']``
    (``multiplicity``: ``holm``, ``bh`` or ``none``)."""
    if multiplicity not in METHODS:
        raise ValueError(f"multiplicity must be one of {list(METHODS)}")
    ests = list(estimates)
    if not ests:
        return []
    a = alpha if alpha is not None else ests[0].alpha
    p = np.array([e.p_value if e.p_value is not None else np.nan for e in ests], dtype=np.float64)
    adj = p.copy()
    ok = np.isfinite(p)
    if METHODS[multiplicity] and ok.any():
        adj[ok] = adjust_pvalues(p[ok], METHODS[multiplicity])
    return [replace(e, details={**e.details, "p_adjusted": float(q), "adjustment": multiplicity,
                                "significant": bool(np.isfinite(q) and q < a)}) for e, q in zip(ests, adj, strict=True)]


@renamed_arguments(method="multiplicity")
def adjust_by_hypothesis(estimates: Sequence[Estimate], *, multiplicity: str = "holm", alpha: float | None = None,
                         key: Sequence[str] = ("metric", "variant")) -> list[Estimate]:
    """Like :func:`adjust`, counting one hypothesis per distinct ``details[key]`` (e.g. the absolute and the
    relative row of one metric and variant): the family has one p-value per hypothesis (that of its absolute
    row when present), and every row of a hypothesis gets its adjusted p-value.

    >>> from recsys_causal.estimate import Estimate
    >>> rows = [Estimate.from_normal(name=f"{m} {s}", value=v, se=1.0, n=10, method="m",
    ...                              details={"metric": m, "variant": "t", "lift": s})
    ...         for m, v in (("a", 3.0), ("b", 1.0)) for s in ("absolute", "relative")]
    >>> [round(e.details["p_adjusted"], 4) for e in adjust_by_hypothesis(rows)]
    [0.0054, 0.0054, 0.3173, 0.3173]
    """
    ests = list(estimates)
    keys = [tuple(e.details.get(k) for k in key) if all(k in e.details for k in key) else ("#", i)
            for i, e in enumerate(ests)]
    heads: dict[tuple, Estimate] = {}
    for k, e in zip(keys, ests, strict=True):
        if k not in heads or (e.details.get("lift") == "absolute" and heads[k].details.get("lift") != "absolute"):
            heads[k] = e
    order = list(heads)
    adjusted = dict(zip(order, adjust([heads[k] for k in order], multiplicity=multiplicity, alpha=alpha),
                        strict=True))
    out = []
    for k, e in zip(keys, ests, strict=True):
        d = adjusted[k].details
        out.append(replace(e, details={**e.details, **{f: d[f] for f in ("p_adjusted", "adjustment", "significant")}}))
    return out
