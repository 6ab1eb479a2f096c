"""Fitting the surrogate index ``E[long-term | surrogates, covariates]``: learners, cross-fitting and the bootstrap
over both samples.

Any scikit-learn regressor can be the learner (it is cloned for every fit); ``"linear"`` is ordinary least squares
with an intercept (:class:`LinearIndex`, numpy ``lstsq``). An analysis runs its fits with one BLAS / OpenMP
thread (:func:`recsys_causal.threads.model_threads`), so results do not depend on the machine's thread pool.

>>> import numpy as np
>>> z = np.array([[0.0], [1.0], [2.0], [3.0]]); y = 1.0 + 2.0 * z[:, 0]
>>> LinearIndex().fit(z, y).predict(np.array([[10.0]])).round(6).tolist()
[21.0]
>>> fold_ids(5, 2, seed=0).tolist()
[0, 0, 1, 0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from recsys_causal.errors import ConfigError


class LinearIndex:
    """Ordinary least squares with an intercept (the default learner); ``coef_`` holds the intercept first."""

    def fit(self, z: np.ndarray, y: np.ndarray) -> LinearIndex:
        design = np.column_stack([np.ones(len(z)), z])
        self.coef_ = np.linalg.lstsq(design, y, rcond=None)[0]
        return self

    def predict(self, z: np.ndarray) -> np.ndarray:
        return self.coef_[0] + z @ self.coef_[1:]

    def get_params(self, deep: bool = True) -> dict:
        return {}


def learner_name(learner: Any) -> str:
    """How a learner is named in a result (``"linear"`` or the regressor's class name)."""
    return "linear" if learner is None or learner == "linear" else type(learner).__name__


def make_learner(learner: Any) -> Any:
    """A fresh, unfitted learner: ``None`` / ``"linear"`` → :class:`LinearIndex`; an object with ``fit`` and
    ``predict`` (a scikit-learn regressor) → its clone."""
    if learner is None or (isinstance(learner, str) and learner == "linear"):
        return LinearIndex()
    if isinstance(learner, str) or not (hasattr(learner, "fit") and hasattr(learner, "predict")):
        raise ConfigError(f"learner must be 'linear' or a scikit-learn regressor (fit / predict), got {learner!r}",
                          column="learner", fix="pass learner='linear' or e.g. "
                                                "sklearn.ensemble.GradientBoostingRegressor()")
    from sklearn.base import clone

    return clone(learner)


def fit(learner: Any, z: np.ndarray, y: np.ndarray) -> Any:
    """A fresh ``learner`` fitted on ``(z, y)``."""
    return make_learner(learner).fit(z, y)


def fold_ids(n: int, folds: int | Sequence[int], *, seed: int = 0) -> np.ndarray:
    """Fold labels ``0..K-1`` of ``n`` rows: ``folds`` random folds of near-equal size, or the given labels."""
    if isinstance(folds, int | np.integer) and not isinstance(folds, bool):
        if not 2 <= folds <= n:
            raise ConfigError(f"folds must be between 2 and the {n} historical rows, got {folds}", column="folds",
                              fix="use e.g. folds=5")
        return np.random.default_rng(seed).permutation(np.arange(n) % int(folds))
    labels = np.asarray(folds)
    if labels.shape != (n,) or np.unique(labels).size < 2:
        raise ConfigError(f"folds must be a number or one fold label per usable historical row ({n}) with at "
                          f"least two folds, got {labels.shape[0] if labels.ndim else 'a scalar'} labels",
                          column="folds", fix="pass folds=5 or an array of fold labels")
    return np.unique(labels, return_inverse=True)[1]


def cross_fit(learner: Any, z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold predictions: each row predicted by the model fitted on the other folds."""
    out = np.empty(len(y))
    for k in np.unique(folds):
        held = folds == k
        out[held] = fit(learner, z[~held], y[~held]).predict(z[held])
    return out


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """``1 - Σ(y - pred)² / Σ(y - ȳ)²`` (out of fold when ``pred`` is)."""
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def arm_weights(treated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One bootstrap draw of experiment-unit weights, resampled within arm: each arm's weights sum to 1."""
    w = np.zeros(treated.size)
    for arm in (treated, ~treated):
        m = int(arm.sum())
        w[arm] = np.bincount(rng.integers(0, m, m), minlength=m) / m
    return w


def bootstrap_arm_means(
    learner: Any, hist_z: np.ndarray, hist_y: np.ndarray, exp_z: np.ndarray, treated: np.ndarray,
    exp_y: np.ndarray | None, *, n_boot: int, seed: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Replicates of the arm means of the index (``(n_boot, 2)``: treatment, control), resampling historical units
    (and refitting) and experiment units within arm; with ``exp_y`` the replicates of the realised arm means on
    the same resampled experiment units. Memory is linear in the sample sizes."""
    rng = np.random.default_rng(seed)
    index, realised = np.empty((n_boot, 2)), np.empty((n_boot, 2))
    arms = np.column_stack([treated, ~treated]).astype(np.float64)
    for b in range(n_boot):
        rows = rng.integers(0, hist_y.size, hist_y.size)
        pred = fit(learner, hist_z[rows], hist_y[rows]).predict(exp_z)
        w = arms * arm_weights(treated, rng)[:, None]
        index[b] = pred @ w
        if exp_y is not None:
            realised[b] = exp_y @ w
    return index, None if exp_y is None else realised
