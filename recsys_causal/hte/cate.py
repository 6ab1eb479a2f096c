"""Conditional average treatment effects with econml, using the known randomisation probability.

``fit_cate`` fits econml's ``CausalForestDML`` (``method="forest"``), ``LinearDML`` (``"linear"``) or
``DRLearner`` (``"dr"``) on pre-treatment covariates. In a randomised experiment the treatment probability is
known, so the treatment model is :class:`KnownPropensity` (no fitted propensity); the outcome model is a fast
histogram gradient-boosting regressor. econml is imported only here, when a CATE is asked for. With
``instrument=`` (imperfect take-up) the fit is a complier CATE with econml's IV learners
(:mod:`recsys_causal.hte.iv_cate`).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 2000
>>> df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "t": rng.random(n) < 0.5})
>>> df["y"] = df.x1 + (1 + df.x2) * df.t + rng.normal(size=n)
>>> fit = fit_cate(df, outcome="y", treatment="t", covariates=["x1", "x2"], treatment_probability=0.5,
...                method="linear", seed=0)
>>> fit.ate.ci_low < 1.0 < fit.ate.ci_high
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from recsys_causal.checks import require_columns
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import DataValidationError, SchemaError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments import pretreatment
from recsys_causal.frames import to_pandas
from recsys_causal.progress import steps
from recsys_causal.results import ResultProtocol
from recsys_causal.threads import model_threads

METHODS = ("forest", "linear", "dr")


class KnownPropensity(ClassifierMixin, BaseEstimator):
    """A 'classifier' that returns the known randomisation probability for every unit."""

    def __init__(self, probability: float = 0.5):
        self.probability = probability

    def fit(self, X, y, **_):
        self.classes_ = np.array([0, 1]) if np.asarray(y).dtype != bool else np.array([False, True])
        return self

    def predict_proba(self, X):
        n = np.asarray(X).shape[0] if X is not None else 1
        return np.column_stack([np.full(n, 1 - self.probability), np.full(n, self.probability)])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@dataclass
class CateFit(ResultProtocol):
    """A fitted CATE model with per-unit effects, intervals and the average effect (``to_frame()``: one row per
    unit; ``summary()``, ``conf_int()`` and ``["average effect"]``: the average effect)."""

    method: str
    model: object
    covariates: tuple[str, ...]
    effects: np.ndarray
    effects_low: np.ndarray
    effects_high: np.ndarray
    ate: Estimate

    def effect(self, frame: pd.DataFrame) -> np.ndarray:
        return np.ravel(self.model.effect(frame[list(self.covariates)].to_numpy(dtype=float)))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"cate": self.effects, "ci_low": self.effects_low, "ci_high": self.effects_high})

    def _headline(self) -> str:
        return (f"CateFit({self.method}, {len(self.effects)} units, CATE quantiles "
                f"{np.round(np.quantile(self.effects, [0.1, 0.5, 0.9]), 4).tolist()}")

    def __repr__(self) -> str:
        return f"{self._headline()}, ate={self.ate!r})"

    def plot(self, quantiles: Sequence[float] = (0.1, 0.5, 0.9)):
        """A matplotlib Figure (shown inline in Jupyter): the average effect with its interval above the units at
        the given ``quantiles`` of the estimated CATE, each with its own interval."""
        from recsys_causal.estimate import interval_label
        from recsys_causal.plotting import Rows, rows_figure

        order = np.argsort(self.effects, kind="stable")
        at = order[np.round(np.asarray(quantiles, dtype=float) * (len(order) - 1)).astype(int)]
        rows = Rows([f"{self.ate.name}", *(f"unit at CATE quantile {q:g}" for q in quantiles)],
                    [self.ate.value, *self.effects[at]], [self.ate.ci_low, *self.effects_low[at]],
                    [self.ate.ci_high, *self.effects_high[at]], title=f"CATE ({self.method})",
                    xlabel="effect (treated − untreated)", interval=interval_label(self.ate.alpha))
        return rows_figure(rows)

    def _sections(self) -> list[tuple[str, Any]]:
        return [("average effect", EstimateTable([self.ate], title="Average effect"))]

    def _title(self) -> str:
        return f"CATE ({self.method})"

    def _data(self) -> dict[str, Any]:
        return {"method": self.method, "covariates": list(self.covariates), "n_units": len(self.effects)}


#: The one pre-treatment check (:func:`recsys_causal.experiments.pretreatment.check_pre_treatment`), under the
#: argument names of the A/B readout; this module's old names ``frame``, ``measured_at`` and
#: ``exposure_time_col`` still work for one release with a deprecation warning.
check_pre_treatment = renamed_arguments(frame="data", measured_at="covariate_times",
                                        exposure_time_col="first_exposure_col")(pretreatment.check_pre_treatment)


@renamed_arguments(frame="data", measured_at="covariate_times", exposure_time_col="first_exposure_col")
def fit_cate(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    treatment_probability: float | None = None,
    method: str = "forest",
    n_estimators: int = 200,
    cv: int = 2,
    alpha: float = 0.05,
    seed: int = 0,
    covariate_times: Mapping[str, str] | None = None,
    first_exposure_col: str | None = None,
    progress: bool | None = None,
    instrument: str | None = None,
    instrument_probability: float | None = None,
) -> CateFit:
    """Fit a CATE model on the unit table ``data`` (old keyword ``frame``); ``treatment_probability=None`` fits
    a propensity model (observational data). Covariates equal to the outcome, or measured at or after first
    exposure (``covariate_times`` against ``first_exposure_col``; old names ``measured_at`` and
    ``exposure_time_col``), are rejected by the one pre-treatment check. ``progress``: a bar over the fitting
    steps (default: when watched, :mod:`recsys_causal.progress`).

    With ``instrument`` (the randomised assignment) and ``treatment`` the take-up (exposure, membership), the
    fit is a complier CATE with econml's IV learners (:mod:`recsys_causal.hte.iv_cate`; ``method`` one of
    ``orthoiv``/``linear``, ``dmliv``, ``driv``/``dr``, ``forest``); ``instrument_probability`` is the known
    assignment probability (``None``: fitted) and ``treatment_probability`` must be ``None`` (take-up is not
    randomised). The average effect is then the complier average effect.
    """
    data = to_pandas(data, what="fit_cate")
    if instrument is None and method not in METHODS:
        raise SchemaError(f"unknown CATE method {method!r}", fix=f"use one of {list(METHODS)}")
    require_columns(data, (outcome, treatment, *covariates, *([instrument] if instrument else [])),
                    what="the CATE frame")
    pretreatment.check_pre_treatment(data, list(covariates), first_exposure_col=first_exposure_col,
                                     covariate_times=covariate_times, outcome=outcome)
    X, y = _covariates_and_outcome(data, outcome, covariates)
    if instrument is not None:
        return _fit_iv(data, y, X, treatment=treatment, instrument=instrument, covariates=covariates,
                       treatment_probability=treatment_probability, instrument_probability=instrument_probability,
                       method=method, n_estimators=n_estimators, cv=cv, alpha=alpha, seed=seed)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    t = data[treatment].to_numpy().astype(int)
    model_y = HistGradientBoostingRegressor(max_iter=100, random_state=seed)
    model_t = (KnownPropensity(treatment_probability) if treatment_probability is not None
               else HistGradientBoostingClassifier(max_iter=100, random_state=seed))
    est = _make(method, model_y, model_t, n_estimators, cv, seed)
    with steps(3, f"CATE ({method})", progress) as bar, model_threads():
        est.fit(y, t, X=X)
        bar.advance("model fitted")
        eff = np.ravel(est.effect(X))
        lo, hi = (np.ravel(a) for a in est.effect_interval(X, alpha=alpha))
        bar.advance("intervals")
        ate = aipw_ate(y, t, X, treatment_probability, cv=max(cv, 2), alpha=alpha, seed=seed)
        bar.advance("average effect")
    return CateFit(method, est, tuple(covariates), eff, lo, hi, ate)


def _covariates_and_outcome(data: pd.DataFrame, outcome: str, covariates: Sequence[str]):
    X = data[list(covariates)].to_numpy(dtype=float)
    const = [c for c, sd in zip(covariates, X.std(axis=0), strict=True) if sd == 0]
    if const:
        raise DataValidationError(f"covariate(s) {const} are constant", column=const[0],
                                  fix="drop constant covariates; they carry no heterogeneity")
    y = data[outcome].to_numpy(dtype=float)
    if np.isnan(y).any() or np.isnan(X).any():
        raise DataValidationError("outcome or covariates contain missing values", fix="impute or drop them first")
    return X, y


def _fit_iv(data, y, X, *, treatment, instrument, covariates, treatment_probability, instrument_probability,
            method, n_estimators, cv, alpha, seed) -> CateFit:
    """The complier CATE: econml IV learner, per-unit intervals and the cross-fitted complier average."""
    from recsys_causal.hte.iv_cate import IV_METHODS, binary_column, dr_late, fit_iv_models, iv_intervals

    if treatment_probability is not None:
        raise SchemaError("treatment_probability is the randomised probability of the treatment; with an "
                          "instrument the take-up is not randomised", column=treatment,
                          fix="pass the assignment probability as instrument_probability= and leave "
                              "treatment_probability unset")
    d = binary_column(data[treatment], treatment, data.index)
    z = binary_column(data[instrument], instrument, data.index)
    est = fit_iv_models(y, d, z, X, method=method, instrument_probability=instrument_probability,
                        n_estimators=n_estimators, cv=cv, seed=seed)
    eff, lo, hi = iv_intervals(est, X, alpha)
    ate = dr_late(y, d, z, X, instrument_probability, cv=max(cv, 2), alpha=alpha, seed=seed)
    return CateFit(f"IV {IV_METHODS[method]}", est, tuple(covariates), eff, lo, hi, ate)


def aipw_ate(y: np.ndarray, t: np.ndarray, X: np.ndarray, treatment_probability: float | None, *,
             cv: int = 2, alpha: float = 0.05, seed: int = 0) -> Estimate:
    """Average effect from cross-fitted augmented inverse-propensity scores (population standard error).

    With a known ``treatment_probability`` (a randomised experiment) no propensity model is fitted.
    """
    scores = aipw_scores(y, t, X, treatment_probability, cv=cv, seed=seed)
    return Estimate.from_normal(name="average effect", value=float(scores.mean()),
                                se=float(scores.std(ddof=1) / np.sqrt(len(y))), n=len(y), alpha=alpha,
                                details={"quantity": "lift"},
                                method="AIPW, cross-fitted" + (", known propensity" if treatment_probability
                                                               is not None else ", fitted propensity"))


def aipw_scores(y: np.ndarray, t: np.ndarray, X: np.ndarray, treatment_probability: float | None, *,
                cv: int = 2, seed: int = 0) -> np.ndarray:
    """Per-unit cross-fitted AIPW scores ``μ1 − μ0 + t (y − μ1) / e − (1 − t)(y − μ0) / (1 − e)``."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    mu1, mu0, ps = np.zeros(len(y)), np.zeros(len(y)), np.full(len(y), np.nan)
    for train, test in KFold(cv, shuffle=True, random_state=seed).split(X):
        tr1, tr0 = train[t[train] == 1], train[t[train] == 0]
        mu1[test] = HistGradientBoostingRegressor(max_iter=100, random_state=seed).fit(X[tr1], y[tr1]).predict(X[test])
        mu0[test] = HistGradientBoostingRegressor(max_iter=100, random_state=seed).fit(X[tr0], y[tr0]).predict(X[test])
        if treatment_probability is None:
            clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(X[train], t[train])
            ps[test] = np.clip(clf.predict_proba(X[test])[:, 1], 0.01, 0.99)
    if treatment_probability is not None:
        ps[:] = treatment_probability
    return mu1 - mu0 + t * (y - mu1) / ps - (1 - t) * (y - mu0) / (1 - ps)


def _make(method, model_y, model_t, n_estimators, cv, seed):
    from econml.dml import CausalForestDML, LinearDML
    from econml.dr import LinearDRLearner

    if method == "forest":
        return CausalForestDML(model_y=model_y, model_t=model_t, discrete_treatment=True, cv=cv,
                               n_estimators=n_estimators, min_samples_leaf=20, random_state=seed, n_jobs=1)
    if method == "linear":
        return LinearDML(model_y=model_y, model_t=model_t, discrete_treatment=True, cv=cv, random_state=seed)
    return LinearDRLearner(model_regression=model_y, model_propensity=model_t, cv=cv, random_state=seed)
