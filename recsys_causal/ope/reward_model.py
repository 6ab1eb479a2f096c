"""Reward models for the direct-method part of DM / DR estimators, cross-fitted by request folds.

>>> from recsys_causal.simulate import simulate_decision_log
>>> log = simulate_decision_log(n_requests=400, n_candidates=5, slate_size=1, seed=0).log
>>> q = RewardModel(folds=2).predict(log, "click")
>>> bool(q.shape == (log.n_candidates,) and 0 <= q.min() and q.max() <= 1)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys_causal.errors import ConfigError, DataValidationError, EstimationError
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.threads import model_threads


@dataclass
class RewardModel:
    """Predict a reward at the top position (or at ``position``) for every logged candidate.

    ``estimator``: any scikit-learn regressor (default: a small histogram gradient-boosting model);
    ``features``: candidate columns (default: every ``feature_*``, ``pred_*`` and ``score`` column). Trained on
    shown candidates at position 1 with an observed reward; predictions for a request come from a model
    trained on the other request folds (cross-fitting), so DR keeps its guarantees.
    """

    estimator: object | None = None
    features: tuple[str, ...] | None = None
    folds: int = 2
    seed: int = 0
    clip: tuple[float, float] | None = (0.0, 1.0)

    def predict(self, log: DecisionLog, reward: np.ndarray | str, position: int = 1) -> np.ndarray:
        from sklearn.base import clone
        from sklearn.ensemble import HistGradientBoostingRegressor

        r = log.reward(reward) if isinstance(reward, str) else np.asarray(reward, dtype=float)
        cols = list(self.features) if self.features is not None else [
            c for c in log.candidates.columns if c.startswith((schema.FEATURE_PREFIX, schema.PREDICTION_PREFIX))
            or c == "score"]
        if not cols:
            raise EstimationError("no candidate feature columns for the reward model",
                                  fix="add feature_* / pred_* columns, pass features=, or use a prediction column")
        X = np.column_stack([log.column(c) for c in cols])
        train = log.shown & (log.position == position) & np.isfinite(r)
        fold = np.random.default_rng(self.seed).integers(0, self.folds, log.n_requests)[log.request_index]
        base = self.estimator if self.estimator is not None else HistGradientBoostingRegressor(
            max_iter=60, max_leaf_nodes=15, random_state=self.seed)
        out = np.empty(log.n_candidates)
        for f in range(self.folds):
            fit_rows = train & (fold != f)
            if fit_rows.sum() < 10:
                raise EstimationError("too few logged rewards to fit the reward model",
                                      fix="use more data, fewer folds, or a precomputed prediction column")
            with model_threads():
                model = clone(base).fit(X[fit_rows], r[fit_rows])
                out[fold == f] = model.predict(X[fold == f])
        if self.clip is not None:
            out = np.clip(out, *self.clip)
        return out

    def predict_positions(self, log: DecisionLog, reward: np.ndarray | str, slate_size: int) -> np.ndarray:
        """Predictions per candidate and position ``(n_candidates, slate_size)``: column ``k`` from a model
        cross-fitted on the shown candidates at position ``k + 1`` (the per-position model of cascade-DR)."""
        return np.column_stack([self.predict(log, reward, position=k + 1) for k in range(slate_size)])


def reward_predictions(log: DecisionLog, reward_model: Any, reward: np.ndarray, reward_name: str, *,
                       seed: int = 0) -> np.ndarray:
    """Reward-model predictions ``q̂`` per candidate for one reward: read from a prediction column (a column
    name, or a mapping reward → column), or fitted by a :class:`RewardModel` (default ``RewardModel(seed)``).

    A prediction column must exist and be finite on every candidate (``dm = Σ_i π(i) q̂(i)`` reads them all).
    """
    if isinstance(reward_model, Mapping):
        if reward_name not in reward_model:
            raise ConfigError(f"reward_model has no prediction column for reward {reward_name!r}",
                              column="reward_model", fix="map every reward to its prediction column, or pass one "
                                                         "column for all")
        reward_model = reward_model[reward_name]
    if isinstance(reward_model, str):
        return prediction_column(log, reward_model)
    model = RewardModel(seed=seed) if reward_model is None else reward_model
    if not callable(getattr(model, "predict", None)):
        raise ConfigError(f"reward_model must be a RewardModel or the name of a prediction column, got "
                          f"{type(model).__name__}", column="reward_model",
                          fix="pass e.g. reward_model='pred_click' or RewardModel(seed=0)")
    return model.predict(log, reward)


def prediction_column(log: DecisionLog, column: str) -> np.ndarray:
    """A candidate column of reward-model predictions, checked: it exists (else a
    :class:`~recsys_causal.errors.SchemaError` listing the columns) and is numeric and finite everywhere."""
    q = log.column(column)
    if q.dtype.kind not in "fiu":
        raise DataValidationError(f"reward-model column {column!r} is not numeric", source=log.source,
                                  column=column, fix="name a column of numeric predictions q̂ per candidate")
    finite = np.isfinite(q)
    if not finite.all():
        bad = ~finite
        raise DataValidationError(f"reward-model column {column!r} is missing or not finite for {int(bad.sum())} "
                                  "candidates", source=log.source, column=column, count=int(bad.sum()),
                                  examples=log.request_ids[log.request_index[bad]][:5],
                                  fix="predict every candidate (0 is a valid prediction), or use IPS/SNIPS only")
    return np.asarray(q, dtype=float)  # no copy of a float column: the predictions are only read
