"""Cascade doubly robust slate estimator (Kiyohara, Saito, Matsuhiro, Narita, Shimizu & Yamamoto, WSDM 2022).

With prefix importance weights ``w_{1:k} = π(a_1..a_k) / μ(a_1..a_k)`` (``w_{1:0} = 1``; the weights of
:class:`~recsys_causal.ope.slate.CascadeIPS`, exact prefix propensities when the log has ``prefix_propensity``)
and a reward model ``Q̂_k(x, a_1..a_k)`` of the expected slate reward from position ``k`` on, the estimate is

``V̂ = mean_r Σ_k [ w_{1:k} (α_k r_k − Q̂_k(x, a_1..a_k)) + w_{1:k−1} E_{a ∼ π(·|a_1..a_{k−1})} Q̂_k(x, a_1..a_{k−1}, a) ]``.

Each bracket's model part has mean zero given the prefix when the weights are exact, so the estimate is
unbiased under the cascade assumption (the reward at ``k`` depends only on the items at ``1..k``) whatever
``Q̂``; a ``Q̂`` close to the truth lowers the variance below cascade IPS. As for cascade IPS, the target's
conditional ``π(a | a_1..a_{k−1})`` is its position marginal ``π(a, k)``: exact for deterministic targets and
targets that fill positions independently.

The reward model enters as predictions ``q̂(i, k)`` per candidate (one column for every position, or one per
position, :meth:`~recsys_causal.ope.reward_model.RewardModel.predict_positions`). They ignore the prefix: the
components use ``Q̂_k = α_k q̂(a_k, k) + Σ_{l>k} α_l m_l`` with ``m_l = Σ_i π(i, l) q̂(i, l)``, the paper's
recursion ``Q̂_k = α_k q̂_k + E_π Q̂_{k+1}`` for a position model that does not see the items above
(:func:`with_reward_model`). Positions where the logged slate shows nothing count as reward 0 (as in cascade
IPS). The estimate is a mean of per-request values, so analytic, cluster-robust and bootstrap intervals follow
from the registry; there is no SQL form.

>>> import numpy as np
>>> from recsys_causal.ope.components import SlateComponents
>>> c = SlateComponents(w=np.array([[2.0, 1.0]]), y=np.array([[1.0, 0.0]]), alpha=np.ones(2),
...                     slate_w=np.array([np.nan]), requests=np.arange(1), n_excluded=0,
...                     q=np.array([[0.9, 0.2]]), q_pi=np.array([[0.8, 0.3]]))
>>> round(CascadeDR().contributions(c)[0], 12)  # [2·(1 − 0.9) + 0.8] + [2·(0 − 0.2) + 2·0.3]
1.2
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.components import SlateComponents
from recsys_causal.ope.estimators import Estimator
from recsys_causal.ope.position_probs import as_table
from recsys_causal.ope.request_sums import requests_of
from recsys_causal.ope.reward_model import RewardModel, reward_predictions
from recsys_causal.ope.slate import CascadeIPS

__all__ = ["CascadeDR", "slate_reward_predictions", "with_reward_model"]


@dataclass
class CascadeDR(Estimator):
    """Cascade doubly robust: ``V̂ = mean_r Σ_k [w_{1:k}(α_k r_k − Q̂_k) + w_{1:k−1} E_π Q̂_k]`` with the prefix
    weights of :class:`~recsys_causal.ope.slate.CascadeIPS` and a reward model ``Q̂_k`` per position (the
    components' ``q`` and ``q_pi``, see :func:`with_reward_model`).

    Assumptions: the reward at a position depends only on the items at and above it (cascade), exact prefix
    propensities (``prefix_propensity`` logged; ``prefix=False`` or no column: products of marginals, exact only
    for logging that draws positions independently), and the target's prefix probability is the product of its
    position marginals (deterministic targets). Unbiased then for any reward model; variance falls as the model
    improves. Kiyohara, Saito, Matsuhiro, Narita, Shimizu & Yamamoto (2022), "Doubly Robust Off-Policy
    Evaluation for Ranking Policies under the Cascade Behavior Model", WSDM.
    """

    prefix: bool = True
    aliases = ("cascade-DR", "CascadeDR", "Cascade-DR")
    slate = True
    needs_reward_model = True
    assumption = CascadeIPS.assumption

    @property
    def name(self) -> str:
        return "cascade-DR" if self.prefix else "cascade-DR (marginals)"

    def terms(self, c):
        if c.q is None or c.q_pi is None:
            raise EstimationError("cascade-DR needs reward-model predictions on the slate components",
                                  column="reward_model",
                                  fix="build them with recsys_causal.ope.cascade_dr.with_reward_model(c, log, "
                                      "target_probs, q_hat), q_hat from a prediction column or a RewardModel")
        W = CascadeIPS(prefix=self.prefix).weights(c)
        W_prev = np.concatenate([np.ones((W.shape[0], 1)), W[:, :-1]], axis=1)
        v = (W * (c.y * c.alpha - c.q) + W_prev * c.q_pi).sum(axis=1)
        return [(v, np.ones_like(v))]

    def warnings(self, c) -> list[str]:
        return CascadeIPS(prefix=self.prefix).warnings(c)


def with_reward_model(c: SlateComponents, log: DecisionLog, target_probs, q_hat: np.ndarray) -> SlateComponents:
    """The components ``c`` (from :func:`~recsys_causal.ope.components.slate_components` on the same log and
    target) with the cascade-DR model parts ``q = Q̂_k(x, a_1..a_k)`` and ``q_pi = E_π Q̂_k`` from predictions
    ``q_hat`` per candidate: shape ``(n_candidates,)`` (the same for every position) or ``(n_candidates, J)``
    (column ``k`` for position ``k + 1``; positions past ``J`` use the last column, extra columns are ignored).

    ``target_probs``: a ``TargetPolicy``, its position probabilities or a dense array. Vectorised over candidates
    and positions; it holds ``(n_requests, K)`` arrays only.
    """
    K = c.w.shape[1]
    Q = np.asarray(q_hat, dtype=float)
    if Q.ndim not in (1, 2) or Q.shape[0] != log.n_candidates or (Q.ndim == 2 and Q.shape[1] < 1):
        raise ConfigError(f"reward-model predictions of shape {np.shape(q_hat)} do not fit {log.n_candidates} "
                          f"candidates", column="reward_model",
                          fix="pass one prediction per candidate, or one per candidate and position")
    Q = Q if Q.ndim == 1 else Q[:, 0] if Q.shape[1] == 1 else Q[:, :K]  # views: extra columns are ignored
    if not np.isfinite(Q).all():
        raise EstimationError(f"{int((~np.isfinite(Q)).sum())} reward-model predictions are not finite",
                              source=log.source, column="reward_model", fix="predict every candidate")
    rows = np.flatnonzero(log.shown & (log.position <= K))
    pos = log.position[rows].astype(np.int64) - 1
    logged = np.zeros((log.n_requests, K))
    logged[requests_of(log.offsets, rows), pos] = Q[rows] if Q.ndim == 1 else Q[rows, np.minimum(pos, Q.shape[1] - 1)]
    m = as_table(target_probs).weighted_sums(log.offsets, Q, K)  # Σ_i π(i, k) q̂(i, k), no dense π
    shown = np.ones(c.w.shape, dtype=bool) if c.shown is None else c.shown
    am = c.alpha * m[c.requests] * shown  # α_l m_l, 0 where the logged slate shows nothing
    tail = np.cumsum(am[:, ::-1], axis=1)[:, ::-1]  # Σ_{l ≥ k} α_l m_l = E_π Q̂_k
    return replace(c, q=c.alpha * logged[c.requests] * shown + tail - am, q_pi=tail)


def slate_reward_predictions(log: DecisionLog, reward_model: Any, reward: np.ndarray, reward_name: str, *,
                             seed: int = 0) -> np.ndarray:
    """Predictions for cascade-DR from the ``reward_model=`` argument of ``evaluate_policies``: a prediction
    column (or mapping reward → column) gives ``(n_candidates,)``, the same at every position; a
    :class:`~recsys_causal.ope.reward_model.RewardModel` (default ``RewardModel(seed=seed)``) is fitted per
    logged position, ``(n_candidates, max logged position)``
    (:meth:`~recsys_causal.ope.reward_model.RewardModel.predict_positions`)."""
    if reward_model is None or isinstance(reward_model, RewardModel):
        model = RewardModel(seed=seed) if reward_model is None else reward_model
        shown = log.position[log.shown]
        return model.predict_positions(log, reward, int(np.nanmax(shown)) if shown.size else 1)
    return reward_predictions(log, reward_model, reward, reward_name, seed=seed)
