"""Slate estimators for position-level rewards; slate value = Σ_k α_k · reward at position k.

- ``PositionIPS`` (independent / position-based IPS, Li et al. 2018): per shown row ``w_k = π(a_k, k) / p(a_k, k)``;
  value ``Σ_k α_k w_k y_k`` per request. Unbiased when each position's reward depends only on the item there.
- ``SNPositionIPS``: self-normalised per position, ``Σ_k α_k Σ_r w_rk y_rk / Σ_r w_rk``.
- ``CascadeIPS`` (reward-interaction IPS, McInerney et al. 2020): ``w_k = π(a_1..a_k) / μ(a_1..a_k)``, the ratio of
  the prefix probabilities of the logged items at positions ``1..k``; a mismatch at any position ``j`` zeroes
  every later weight. Unbiased when the reward at position ``k`` depends only on the items at positions
  ``1..k`` (cascade clicks) and the prefix probabilities are exact. The logging prefix probability comes from
  the candidate column ``prefix_propensity`` when the log has it (exact under any logging policy); otherwise
  from the product of the logged marginals ``Π_j p(a_j, j)``, exact only when the logging policy draws
  positions independently. For rankings drawn without replacement (Plackett–Luce) the marginal form is an
  approximation: for a deterministic target ``t`` its expectation is ``Σ_k α_k v_k · μ(t_1..t_k) / Π_{j ≤ k}
  μ_j(t_j)``, each position's true value ``v_k`` scaled by the ratio of the joint prefix probability to the
  product of marginals; the estimates then carry a warning. The target's prefix probability is the product
  of its position marginals (exact for deterministic targets and targets that fill positions independently).
- ``PseudoInverse`` (Swaminathan et al. 2017) for additive slate rewards: slate weight
  ``Σ_k π(a_k, k) / p(a_k, k) − (K − 1)`` on the slate reward ``Σ_k α_k y_k``, self-normalised with
  ``normalise=True``. Unbiased when the reward is additive over positions and the logging policy's slate
  distribution factorises over positions (positions drawn independently); for rankings drawn without
  replacement (such as the Plackett–Luce logging policy of the simulator) it is an approximation and biased.
- ``StandardSlateIPS``: the whole-slate weight ``1{slate = target slate} / slate_propensity`` for a deterministic
  target (``SelfNormalised`` with ``normalise=True``).

Requests with any missing reward in the slate (immature labels) are left out and counted
(:func:`~recsys_causal.ope.components.slate_components`). Every class is registered by its name
(:mod:`recsys_causal.ope.estimators`) with ``slate = True``.

>>> import numpy as np
>>> c = SlateComponents(w=np.array([[2.0, 1.0]]), y=np.array([[1.0, 1.0]]), alpha=np.ones(2),
...                     slate_w=np.array([0.0]), requests=np.arange(1), n_excluded=0)
>>> PositionIPS().contributions(c)[0]
3.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.ope.components import PREFIX_COLUMN, SlateComponents, slate_components
from recsys_causal.ope.estimators import Estimator

__all__ = ["PREFIX_COLUMN", "CascadeIPS", "PositionIPS", "PseudoInverse", "SNPositionIPS", "SlateComponents",
           "StandardSlateIPS", "slate_components"]


@dataclass
class PositionIPS(Estimator):
    """Independent / position-based IPS: ``V̂ = mean_r Σ_k α_k w_k y_k`` with ``w_k = π(a_k, k) / p(a_k, k)``.

    Unbiased when each position's reward depends only on the item there and the marginal propensities are
    exact; Li, Kim & Zitouni (2018), "Offline Evaluation of Ranking Policies with Click Models".
    """

    name = "PI-IPS"
    aliases = ("PositionIPS",)
    slate = True
    assumption = "independent positions / position-based clicks (the reward at a position depends only on the " \
                 "item there)"

    def terms(self, c):
        v = (c.w * c.y) @ c.alpha
        return [(v, np.ones_like(v))]


@dataclass
class SNPositionIPS(Estimator):
    """Self-normalised position-based IPS: ``V̂ = Σ_k α_k Σ_r w_rk y_rk / Σ_r w_rk``.

    Consistent under the assumptions of :class:`PositionIPS`, with lower variance.
    """

    name = "SN-PI-IPS"
    aliases = ("SNPositionIPS",)
    slate = True
    assumption = PositionIPS.assumption

    def terms(self, c):
        wt, yt = np.ascontiguousarray(c.w.T), np.ascontiguousarray(c.y.T)  # one row per position
        return [(c.alpha[k] * wt[k] * yt[k], wt[k]) for k in range(wt.shape[0]) if c.alpha[k] != 0]


@dataclass
class CascadeIPS(Estimator):
    """Reward-interaction (cascade) IPS: ``V̂ = mean_r Σ_k α_k w_{1..k} y_k`` with prefix weights
    ``w_{1..k} = π(a_1..a_k) / μ(a_1..a_k)``.

    Unbiased when the reward at position ``k`` depends only on the items at positions ``1..k`` and the prefix
    probabilities are exact (see the module docstring for the marginal fallback); McInerney, Brost, Chandar,
    Mehrotra & Carterette (2020), "Counterfactual Evaluation of Slate Recommendations with Sequential Reward
    Interactions". ``prefix=False`` ignores a logged ``prefix_propensity`` column and uses the marginals.
    """

    prefix: bool = True
    aliases = ("RIPS (cascade)", "RIPS", "CascadeIPS")
    slate = True
    assumption = "the reward at a position depends only on the items at and above it (cascade clicks)"

    @property
    def name(self) -> str:
        return "RIPS (cascade)" if self.prefix else "RIPS (cascade, marginals)"

    def weights(self, c) -> np.ndarray:
        """Cumulative (prefix) importance weights ``(n, K)``; 0 after a mismatch and where nothing is shown."""
        shown = np.ones(c.w.shape, dtype=bool) if c.shown is None else c.shown
        if self.prefix and c.prefix_p is not None and c.pi is not None:
            num = np.cumprod(np.where(shown, c.pi, 1.0), axis=1)
            return np.where(shown, num / np.where(shown, c.prefix_p, 1.0), 0.0)
        w = np.where(shown, c.w, 1.0)
        np.cumprod(w, axis=1, out=w)  # in place: one (n, K) temporary, the same numbers
        w *= shown
        return w

    def terms(self, c):
        w = self.weights(c)
        w *= c.y
        v = w @ c.alpha
        return [(v, np.ones_like(v))]

    def warnings(self, c) -> list[str]:
        out = list(c.notes)
        if c.w.shape[1] > 1 and not (self.prefix and c.prefix_p is not None and c.pi is not None):
            out.append("the cascade estimate uses marginal propensities: exact when the logging policy draws "
                       "positions independently, approximate (biased) under without-replacement logging such as "
                       "Plackett–Luce; log prefix_propensity for exact weights")
        if c.w.shape[1] > 1 and not c.deterministic:
            out.append("the target's prefix probabilities are taken as products of its position marginals: exact "
                       "for deterministic targets and targets that fill positions independently")
        return out


@dataclass
class StandardSlateIPS(Estimator):
    """Standard slate IPS: ``V̂ = mean_r 1{slate = target slate} / μ(slate) · Σ_k α_k y_k`` for a deterministic
    target (self-normalised by ``Σ_r`` of the slate weights with ``normalise=True``).

    Unbiased for any reward structure when the logged slate propensities are exact, at the price of a
    variance that grows with the number of possible slates.
    """

    normalise: bool = False
    name = "slate IPS"
    aliases = ("StandardSlateIPS",)
    slate = True

    def terms(self, c):
        if np.isnan(c.slate_w).any():
            raise EstimationError("standard slate IPS needs slate_propensity in the log, a deterministic target and "
                                  "a target slate as long as the logged slates",
                                  fix="evaluate with slate_size equal to the logged slate length, or use "
                                      "position-based IPS")
        v = c.slate_w * (c.y @ c.alpha)
        return [(v, c.slate_w if self.normalise else np.ones_like(v))]


@dataclass
class PseudoInverse(Estimator):
    """Pseudo-inverse estimator: slate weight ``Γ = Σ_k π(a_k, k) / p(a_k, k) − (K − 1)`` on the slate reward,
    ``V̂ = mean_r Γ Σ_k α_k y_k`` (self-normalised by ``Σ_r Γ`` with ``normalise=True``).

    Unbiased for additive rewards when the logging policy factorises over positions; Swaminathan, Krishnamurthy,
    Agarwal, Dudík, Langford, Jose & Zitouni (2017), "Off-policy Evaluation for Slate Recommendation".
    """

    normalise: bool = False
    name = "PI (pseudo-inverse)"
    aliases = ("PseudoInverse", "pseudo-inverse")
    slate = True
    assumption = "rewards additive over positions (linearity) and a logging policy that factorises over positions"

    def terms(self, c):
        gamma = c.w.sum(axis=1) - (c.w.shape[1] - 1)
        v = gamma * (c.y @ c.alpha)
        return [(v, gamma if self.normalise else np.ones_like(v))]
