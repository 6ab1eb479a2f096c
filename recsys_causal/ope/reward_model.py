"""Reward models for the direct-method part of DM / DR estimators, cross-fitted by request folds.

>>> from recsys_causal.simulate import simulate_decision_log
>>> log = simulate_decision_log(n_requests=400, n_candidates=5, slate_size=1, seed=0).log
>>> q = RewardModel(folds=2).predict(log, "click")
>>> bool(q.shape == (log.n_candidates,) and 0 <= q.min() and q.max() <= 1)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog


@dataclass
class RewardModel:
    """Predict a reward at the top position for every logged candidate.

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
            model = clone(base).fit(X[fit_rows], r[fit_rows])
            out[fold == f] = model.predict(X[fold == f])
        if self.clip is not None:
            out = np.clip(out, *self.clip)
        return out
