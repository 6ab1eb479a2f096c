"""Single-slot off-policy estimators (one decision per request: the item at position 1).

Per request ``r`` with logged action ``a`` (the item shown at position 1), logging propensity ``p``, reward
``y``, target probability ``π(a)``, importance weight ``w = π(a) / p``, reward-model predictions ``q̂`` and
``dm = Σ_i π(i) q̂(i)`` (:class:`~recsys_causal.ope.components.SlotComponents`):

| estimator | per-request value | aggregate |
|---|---|---|
| DM | ``dm`` | mean |
| IPS (clip c) | ``min(w, c) · y`` | mean |
| SNIPS | ``w · y`` | ``Σ w y / Σ w`` |
| DR | ``dm + w (y − q̂(a))`` | mean |
| SNDR | ``dm`` + ``w (y − q̂(a))`` | ``mean(dm) + Σ w (y − q̂(a)) / Σ w`` |
| Switch-DR (τ) | ``dm + 1{w ≤ τ} w (y − q̂(a))`` | mean (Wang, Agarwal & Dudík 2017) |
| DRos (λ) | ``dm + λw/(w² + λ) (y − q̂(a))`` | mean (Su et al. 2020) |

Every class is registered by its ``name`` (:mod:`recsys_causal.ope.estimators`). Standard errors come from
per-request influence values (delta method for the self-normalised ones). The common assumptions: the logged
propensities are the logging policy's true probabilities of the logged action, and the target policy puts
probability only on actions the logging policy can take (support); the estimators that need it say more.

>>> import numpy as np
>>> from recsys_causal.ope.components import SlotComponents
>>> c = SlotComponents(w=np.array([2.0, 0.5]), y=np.array([1.0, 0.0]), q_a=np.zeros(2), dm=np.zeros(2),
...                    requests=np.arange(2), n_excluded=0)
>>> float(IPS().contributions(c)[0]), float(SNIPS().contributions(c)[0])
(1.0, 0.8)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.ope.components import SlotComponents, components, logged_actions
from recsys_causal.ope.estimators import Estimator, SQLLiterals

SlotEstimator = Estimator  # the former name of the base class

__all__ = ["DM", "DR", "IPS", "SNDR", "SNIPS", "DRos", "SlotComponents", "SlotEstimator", "SwitchDR",
           "components", "logged_actions"]


@dataclass
class DM(Estimator):
    """Direct method: ``V̂ = mean_r Σ_i π(i) q̂(i)``, the reward model's prediction of the target's reward.

    Assumes the reward model is correct (no weights, so no support problem, but biased as the model is);
    Dudík, Langford & Li (2011), "Doubly Robust Policy Evaluation and Learning".
    """

    name = "DM"
    needs_reward_model = True

    def terms(self, c):
        return [(c.dm, np.ones_like(c.dm))]

    def sql_terms(self, sql: SQLLiterals):
        return [("dm", sql.one)]


@dataclass
class IPS(Estimator):
    """Inverse propensity scoring (Horvitz & Thompson 1952): ``V̂ = mean_r min(w, c) · y``.

    Unbiased without clipping when the propensities are exact and the target has support; ``clip`` caps the
    weights at ``c`` (lower variance, biased downwards for non-negative rewards).
    """

    clip: float | None = None
    name = "IPS"

    def terms(self, c):
        w = c.w if self.clip is None else np.minimum(c.w, self.clip)
        return [(w * c.y, np.ones_like(w))]

    def sql_terms(self, sql: SQLLiterals):
        w = "w" if self.clip is None else f"LEAST(w, {sql.number(self.clip)})"
        return [(f"{w} * y", sql.one)]


@dataclass
class SNIPS(Estimator):
    """Self-normalised IPS: ``V̂ = Σ w y / Σ w``.

    Consistent (not unbiased) under the IPS assumptions, with lower variance and a value within the reward
    range; Swaminathan & Joachims (2015), "The Self-Normalized Estimator for Counterfactual Learning".
    """

    name = "SNIPS"

    def terms(self, c):
        return [(c.w * c.y, c.w)]

    def sql_terms(self, sql: SQLLiterals):
        return [("w * y", "w")]


@dataclass
class _ResidualDR(Estimator):
    """Doubly robust family: ``V̂ = mean_r [dm + s(w) (y − q̂(a))]`` with a weight map ``s`` on the residual."""

    needs_reward_model = True

    def shrunk(self, w: np.ndarray) -> np.ndarray:
        """The weight applied to the reward model's residual."""
        return w

    def sql_shrunk(self, sql: SQLLiterals) -> str:
        """:meth:`shrunk` as SQL over the per-request weight ``w``."""
        return "w"

    def terms(self, c):
        return [(c.dm + self.shrunk(c.w) * (c.y - c.q_a), np.ones_like(c.w))]

    def sql_terms(self, sql: SQLLiterals):
        return [(f"dm + ({self.sql_shrunk(sql)}) * (y - q_a)", sql.one)]


@dataclass
class DR(_ResidualDR):
    """Doubly robust: ``V̂ = mean_r [dm + w (y − q̂(a))]``.

    Unbiased when either the propensities or the reward model are correct; Dudík, Langford & Li (2011),
    "Doubly Robust Policy Evaluation and Learning".
    """

    name = "DR"


@dataclass
class SNDR(Estimator):
    """Self-normalised DR: ``V̂ = mean(dm) + Σ w (y − q̂(a)) / Σ w``.

    Consistent under the DR assumptions, with the self-normalised correction term of SNIPS (lower variance
    under heavy weights).
    """

    name = "SNDR"
    needs_reward_model = True

    def terms(self, c):
        return [(c.dm, np.ones_like(c.dm)), (c.w * (c.y - c.q_a), c.w)]

    def sql_terms(self, sql: SQLLiterals):
        return [("dm", sql.one), ("w * (y - q_a)", "w")]


@dataclass
class SwitchDR(_ResidualDR):
    """Switch-DR: ``V̂ = mean_r [dm + 1{w ≤ τ} w (y − q̂(a))]``; above ``τ`` the reward model alone is trusted.

    Bias bounded by the reward model's error on requests with ``w > τ``; Wang, Agarwal & Dudík (2017),
    "Optimal and Adaptive Off-policy Evaluation in Contextual Bandits".
    """

    tau: float = 100.0
    name = "Switch-DR"
    aliases = ("SwitchDR",)

    def shrunk(self, w):
        return np.where(w <= self.tau, w, 0.0)

    def sql_shrunk(self, sql: SQLLiterals) -> str:
        return f"CASE WHEN w <= {sql.number(self.tau)} THEN w ELSE {sql.zero} END"


@dataclass
class DRos(_ResidualDR):
    """DR with optimistic shrinkage: ``V̂ = mean_r [dm + λw/(w² + λ) (y − q̂(a))]`` (``λ = ∞`` is DR).

    Shrinks large weights towards 0 to minimise a bound on the mean squared error; Su, Dimakopoulou, Krishnamurthy
    & Dudík (2020), "Doubly Robust Off-policy Evaluation with Shrinkage".
    """

    lam: float = 100.0
    name = "DRos"

    def shrunk(self, w):
        return w if np.isinf(self.lam) else self.lam * w / (w**2 + self.lam)

    def sql_shrunk(self, sql: SQLLiterals) -> str:
        if np.isinf(self.lam):
            return "w"
        lam = sql.number(self.lam)
        return f"{lam} * w / (w * w + {lam})"
