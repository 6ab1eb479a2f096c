"""Complier CATE with econml's IV learners: assignment as instrument, take-up (exposure, membership) as treatment.

When only some assigned units take a feature up, fitting a CATE with take-up as the treatment compares takers
with non-takers, who differ anyway. The IV learners use the randomised assignment ``Z`` as an instrument for
take-up ``D`` and estimate the conditional complier effect ``θ(X) = Cov(Y, Z | X) / Cov(D, Z | X)``:

- ``"orthoiv"`` (alias ``"linear"``): econml ``OrthoIV``, linear final stage (2SLS on residuals);
- ``"dmliv"``: ``DMLIV``, linear final stage on the projected take-up;
- ``"driv"`` (alias ``"dr"``): ``LinearDRIV``, doubly robust;
- ``"forest"``: ``ForestDRIV``, a doubly robust causal forest.

A known assignment probability (``instrument_probability``) replaces the instrument model. The average effect
is the complier average ``E[ψ_Y] / E[ψ_D]`` of cross-fitted AIPW scores of outcome and take-up on assignment,
with a delta-method standard error (:func:`dr_late`).

>>> import numpy as np
>>> from recsys_causal.simulate.takeup import simulate_takeup
>>> u = simulate_takeup(n_units=3000, seed=0).units
>>> late = dr_late(u.outcome.to_numpy(), u.taken_up.to_numpy(int), u.assigned.to_numpy(int),
...                u[["x1", "active"]].to_numpy(float), 0.5)
>>> late.name, bool(late.ci_low < 1.55 < late.ci_high)
('complier average effect', True)
"""

from __future__ import annotations

import numpy as np

from recsys_causal.errors import DataValidationError, SchemaError
from recsys_causal.estimate import Estimate
from recsys_causal.threads import model_threads

IV_METHODS = {"orthoiv": "OrthoIV", "linear": "OrthoIV", "dmliv": "DMLIV", "driv": "LinearDRIV",
              "dr": "LinearDRIV", "forest": "ForestDRIV"}


def binary_column(values, name: str, ids=None) -> np.ndarray:
    """0/1 integers of a boolean or 0/1 array; anything else is a :class:`DataValidationError` naming example
    ``ids`` (default: positions)."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        ids = np.arange(len(v)) if ids is None else np.asarray(ids)
        raise DataValidationError(f"{name} must be 0/1 or boolean; {int(bad.sum())} units are not",
                                  column=name, count=int(bad.sum()), examples=ids[bad][:5],
                                  fix=f"encode {name} as booleans (rows with a missing value: drop and count them)")
    return v.astype(int)


def fit_iv_models(y: np.ndarray, d: np.ndarray, z: np.ndarray, X: np.ndarray, *, method: str,
                  instrument_probability: float | None, n_estimators: int = 200, cv: int = 2, seed: int = 0):
    """The fitted econml IV learner for ``method`` (one thread for every model)."""
    from econml.iv.dml import DMLIV, OrthoIV
    from econml.iv.dr import ForestDRIV, LinearDRIV
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from recsys_causal.hte.cate import KnownPropensity

    if method not in IV_METHODS:
        raise SchemaError(f"unknown IV CATE method {method!r}", fix=f"use one of {sorted(IV_METHODS)}")

    def reg():
        return HistGradientBoostingRegressor(max_iter=100, random_state=seed)

    def clf():
        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)

    model_z = KnownPropensity(instrument_probability) if instrument_probability is not None else clf()
    common = {"model_y_xw": reg(), "model_t_xw": clf(), "discrete_treatment": True, "discrete_instrument": True,
              "cv": cv, "random_state": seed}
    kind = IV_METHODS[method]
    if kind == "OrthoIV":
        est = OrthoIV(model_z_xw=model_z, **common)
    elif kind == "DMLIV":
        est = DMLIV(model_t_xwz=clf(), **common)
    elif kind == "LinearDRIV":
        est = LinearDRIV(model_z_xw=model_z, model_tz_xw=reg(), flexible_model_effect=reg(), **common)
    else:
        est = ForestDRIV(model_z_xw=model_z, model_tz_xw=reg(), flexible_model_effect=reg(),
                         n_estimators=n_estimators, min_samples_leaf=20, n_jobs=1, **common)
    with model_threads():
        est.fit(y, d, Z=z, X=X, inference=None if kind == "DMLIV" else "auto")
    return est


def dr_late(y: np.ndarray, d: np.ndarray, z: np.ndarray, X: np.ndarray, instrument_probability: float | None, *,
            cv: int = 2, alpha: float = 0.05, seed: int = 0) -> Estimate:
    """Complier average effect ``mean ψ_Y / mean ψ_D`` from cross-fitted AIPW scores of the outcome and of take-up
    on assignment (the same folds); delta-method standard error from the influence values
    ``(ψ_Y − θ ψ_D) / mean ψ_D``."""
    from recsys_causal.hte.cate import aipw_scores

    with model_threads():
        psi_y = aipw_scores(y, z, X, instrument_probability, cv=cv, seed=seed)
        psi_d = aipw_scores(np.asarray(d, dtype=float), z, X, instrument_probability, cv=cv, seed=seed)
    first = float(psi_d.mean())
    if abs(first) < 1e-12:
        raise DataValidationError("assignment does not change take-up: the complier effect is not identified",
                                  fix="check that take-up is recorded for assigned units")
    theta = float(psi_y.mean()) / first
    infl = (psi_y - theta * psi_d) / first
    how = "known" if instrument_probability is not None else "fitted"
    return Estimate.from_normal(name="complier average effect", value=theta,
                                se=float(infl.std(ddof=1) / np.sqrt(len(y))), n=len(y), alpha=alpha,
                                method=f"IV: AIPW ITT ÷ AIPW take-up ITT, cross-fitted, {how} assignment probability",
                                details={"quantity": "complier effect", "first_stage": first})


def iv_intervals(est, X: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit complier effects and their intervals (NaN for DMLIV, whose only interval is a bootstrap)."""
    eff = np.ravel(est.effect(X))
    if type(est).__name__ == "DMLIV":
        return eff, np.full_like(eff, np.nan), np.full_like(eff, np.nan)
    lo, hi = (np.ravel(a) for a in est.effect_interval(X, alpha=alpha))
    return eff, lo, hi

