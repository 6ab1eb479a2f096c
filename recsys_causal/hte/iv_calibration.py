"""BLP and GATES for a complier CATE: the calibration regressions of :mod:`recsys_causal.hte.calibration`, with
take-up instrumented by assignment.

On the main half of a split, with the CATE proxy ``S``, baseline ``B`` (fitted on the auxiliary half's
unassigned units), take-up ``D``, assignment ``Z`` and its known probability ``p``:

- BLP: 2SLS of ``Y`` on ``1, B, D, D(S − mean S)`` with instruments ``1, B, Z − p, (Z − p)(S − mean S)``;
  β₂ (the last coefficient) is 1 when ``S`` is a calibrated predictor of the conditional complier effect and
  0 when ``S`` carries no heterogeneity. Because ``Z`` is independent of ``X``, the instruments are valid
  whatever ``B``; the population fit is the complier-share-weighted linear projection of the conditional
  complier effect on ``S``;
- GATES: 2SLS of ``Y`` on ``1, B, D·1{group k}`` with instruments ``1, B, (Z − p)·1{group k}``: the complier
  effect in each proxy-quantile group.

Standard errors are HC1 (:func:`recsys_causal.hte.iv2sls.tsls`).

>>> import numpy as np
>>> rng = np.random.default_rng(0); n = 4000
>>> z = (rng.random(n) < 0.5).astype(float); complier = rng.random(n) < 0.6; x = rng.normal(size=n)
>>> d = z * complier; y = x + (1 + x) * d + rng.normal(size=n)
>>> aux = rng.random(n) < 0.5
>>> out = split_iv(x, aux, y, d, z, x[:, None], 0.5, n_groups=2, seed=0)
>>> bool(abs(out["het"][0] - 1) < 3 * out["het"][1])
True
"""

from __future__ import annotations

import numpy as np

from recsys_causal.hte.iv2sls import tsls


def split_iv(scores: np.ndarray, aux: np.ndarray, y_all: np.ndarray, d_all: np.ndarray, z_all: np.ndarray,
             X_all: np.ndarray, p: float, *, n_groups: int, seed: int) -> dict:
    """IV-BLP and IV-GATES on the main half (``~aux``) with the CATE proxy ``scores`` (one per unit)."""
    from scipy import stats
    from sklearn.ensemble import HistGradientBoostingRegressor

    main = ~aux
    s = scores[main]
    ctrl = aux & (z_all == 0)
    base = HistGradientBoostingRegressor(max_iter=100, random_state=seed).fit(X_all[ctrl], y_all[ctrl]).predict(
        X_all[main])
    y, d, zc = y_all[main], d_all[main], z_all[main] - p
    one, sc = np.ones_like(y), s - s.mean()
    blp = tsls(y, np.column_stack([one, base, d, d * sc]), np.column_stack([one, base, zc, zc * sc]))
    edges = np.quantile(s, np.linspace(0, 1, n_groups + 1)[1:-1])
    group = np.searchsorted(edges, s, side="right")
    G = np.column_stack([group == g for g in range(n_groups)]).astype(float)
    gates = tsls(y, np.column_stack([one, base, G * d[:, None]]), np.column_stack([one, base, G * zc[:, None]]))
    c = np.zeros(2 + n_groups)
    c[-1], c[2] = 1.0, -1.0

    def triple(value: float, se: float) -> tuple[float, float, float]:
        return float(value), float(se), float(2 * stats.norm.sf(abs(value) / se))

    return {
        "ate": triple(blp.params[2], blp.bse[2]),
        "het": triple(blp.params[3], blp.bse[3]),
        "gates": [(*triple(gates.params[2 + g], gates.bse[2 + g]), int((group == g).sum())) for g in range(n_groups)],
        "tmb": triple(*gates.contrast(c)),
    }
