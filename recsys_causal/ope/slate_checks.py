"""Assumption check of slate estimators against standard slate IPS.

Position-based IPS assumes the reward at a position depends only on the item there, cascade IPS that it
depends only on the items at and above it, the pseudo-inverse estimator that rewards add up over positions.
Standard slate IPS (whole-slate weight ``1{slate = target slate} / slate_propensity``) assumes none of these: it
is unbiased for a deterministic target whenever the joint slate propensity is logged, at the price of a much
larger variance. On the same requests the two estimates are paired; their difference ``d`` has influence value
``ψ_est − ψ_slate`` and delta-method standard error ``se`` (cluster-robust with clusters). When
``|d| > z_{1 − α/2} · se`` — the two disagree beyond their joint interval — the estimator's assumption is in
doubt and a warning says so. When both are unbiased the warning fires at rate about ``α`` (a false alarm).

>>> import numpy as np
>>> from recsys_causal.ope.slate import PositionIPS, SlateComponents
>>> c = SlateComponents(w=np.array([[1.0, 1.0], [2.0, 0.0]]), y=np.array([[1.0, 0.0], [0.0, 0.0]]),
...                     alpha=np.ones(2), slate_w=np.array([1.0, 0.0]), requests=np.arange(2), n_excluded=0,
...                     deterministic=True)
>>> check = slate_ips_disagreement(c, [PositionIPS()])[0]
>>> check["difference"], check["warning"] is None
(0.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from recsys_causal.kernel.moments import Moments
from recsys_causal.ope.components import SlateComponents
from recsys_causal.ope.estimators import Estimator
from recsys_causal.ope.slate import StandardSlateIPS


def comparable(c: SlateComponents) -> bool:
    """Whether standard slate IPS is available on these components: a deterministic target as long as the
    logged slates and a logged joint slate propensity on every request."""
    return bool(c.deterministic and c.slate_w.size and np.isfinite(c.slate_w).all())


def slate_ips_disagreement(c: SlateComponents, estimators: Sequence[Estimator], *,
                           clusters: np.ndarray | None = None, alpha: float = 0.05,
                           terms: Sequence[list] | None = None) -> list[dict | None]:
    """Per estimator (None for standard slate IPS itself, for estimators without a stated assumption, or when
    :func:`comparable` is false): the paired difference to standard slate IPS, its standard error, ``z`` and a
    warning message when ``|z|`` exceeds ``z_{1 − α/2}``. ``terms[i]``: the terms of ``estimators[i]`` on ``c``
    when already computed (the estimation's own, not recomputed)."""
    if not comparable(c):
        return [None] * len(estimators)
    terms = [None] * len(estimators) if terms is None else list(terms)
    ref = next((i for i, e in enumerate(estimators) if isinstance(e, StandardSlateIPS)), None)
    ref_value, ref_psi = StandardSlateIPS().contributions(c, None if ref is None else terms[ref])
    crit = float(stats.norm.ppf(1 - alpha / 2))
    out: list[dict | None] = []
    for est, est_terms in zip(estimators, terms, strict=True):
        assumption = getattr(est, "assumption", None)
        if isinstance(est, StandardSlateIPS) or assumption is None:
            out.append(None)
            continue
        value, psi = est.contributions(c, est_terms)
        diff = value - ref_value
        se = Moments.from_columns({"d": psi - ref_psi}, clusters=clusters).linear_se({"d": 1.0})
        z = diff / se if se > 0 else (0.0 if diff == 0 else np.inf)
        warning = None
        if abs(z) > crit:
            warning = (f"{est.name} disagrees with standard slate IPS, which is unbiased under any click model: "
                       f"difference {diff:+.4g} (SE {se:.2g}, |z| = {abs(z):.1f} > {crit:.2f}, beyond their joint "
                       f"{1 - alpha:.0%} interval). Its assumption — {assumption} — may not hold: prefer standard "
                       "slate IPS, or an estimator whose assumption fits the click model (docs/ope.md)")
        out.append({"difference": float(diff), "se": float(se), "z": float(z), "warning": warning})
    return out
