"""Paired lifts of candidate policies over the baseline, on the estimation path of
:func:`~recsys_causal.ope.evaluate_policies`: policy → components → moments →
:func:`~recsys_causal.ope.estimates.estimates_from_moments`.

The screen evaluates the item at position 1. The baseline is the logging policy (its on-policy mean) or a
target policy evaluated by the same estimator on the same requests. Reward-model predictions are computed
once per reward, only when an estimator needs them.

>>> from recsys_causal.simulate import simulate_decision_log
>>> from recsys_causal.ope import policies
>>> sim = simulate_decision_log(n_requests=2000, n_candidates=5, slate_size=1, seed=3)
>>> lifts = Lifts(sim.log, alpha=0.05)
>>> e, _ = lifts.lift(policies.softmax(sim.log, "pred_new", 1, name="new"), "click", "IPS", relative=False)
>>> e.name, e.details["quantity"], e.alpha
('new: lift in click (IPS)', 'lift', 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate
from recsys_causal.kernel.moments import Moments
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.components import SlotComponents, components
from recsys_causal.ope.estimates import block_columns, estimates_from_moments, estimator_columns
from recsys_causal.ope.estimators import Estimator, resolve_estimators
from recsys_causal.ope.evaluate import resolve_reward, reward_label
from recsys_causal.ope.policies import TargetPolicy
from recsys_causal.ope.reward_model import reward_predictions


@dataclass
class Lifts:
    """Lift estimates on one log: ``alpha`` is the one-sided level of the screen, so every interval is two-sided
    at ``2 · alpha`` (its bounds are the one-sided bounds); ``reward_model`` as in ``evaluate_policies``;
    ``clusters`` (per request) make the standard errors cluster-robust."""

    log: DecisionLog
    alpha: float
    baseline: TargetPolicy | None = None
    reward_model: Any = None
    seed: int = 0
    clusters: np.ndarray | None = None
    _rewards: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _predictions: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def reward(self, spec: str | Mapping[str, float], with_model: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-candidate rewards and, when ``with_model``, the reward model's predictions (cached per reward)."""
        key = reward_label(spec)
        if key not in self._rewards:
            self._rewards[key] = resolve_reward(self.log, spec)[1]
        y = self._rewards[key]
        if with_model and key not in self._predictions:
            self._predictions[key] = reward_predictions(self.log, self.reward_model, y, key, seed=self.seed)
        return y, self._predictions.get(key) if with_model else None

    def lift(self, policy: TargetPolicy, spec: str | Mapping[str, float], estimator: Estimator | str, *,
             relative: bool, mask: np.ndarray | None = None, where: str = "") -> tuple[Estimate, SlotComponents]:
        """The (relative) lift of ``policy`` over the baseline in reward ``spec`` by ``estimator``, on the
        requests where ``mask`` (all by default; ``where`` names them in errors), and the policy's components."""
        est = resolve_estimators([estimator], slate=False)[0]
        y, q = self.reward(spec, est.needs_reward_model)
        log, probs, base = self.log, policy.probs, None if self.baseline is None else self.baseline.probs
        clusters = self.clusters
        if mask is not None:
            rows = mask[log.request_index]
            log, probs, y = log.select_requests(mask), probs[rows], y[rows]
            q, base = (None if q is None else q[rows]), (None if base is None else base[rows])
            clusters = None if clusters is None else clusters[mask]
        label = reward_label(spec)
        c = components(log, probs, y, q, label)
        cols = estimator_columns([est], c, c.y)
        ref = None
        if base is not None:
            cols.update(block_columns(1, est, components(log, base, y, q, label)))
            ref = (self.baseline.name, 1)
        mom = Moments.from_columns(cols, clusters=None if clusters is None else clusters[c.requests])
        # exclusions are counted by the screen's data accounting, not repeated on every estimate
        rows_out = estimates_from_moments(mom, [est, est] if ref else [est], policy=policy.name, reward=label,
                                          alpha=2 * self.alpha, baseline=ref)
        kind = "relative lift" if relative else "lift"
        found = [e for e in rows_out if e.details["quantity"] == kind]
        if not found:
            raise EstimationError(f"the {ref[0] if ref else 'logging'} policy's value of {label!r} is 0{where}: "
                                  "a relative lift is undefined", column=label,
                                  fix="use an absolute lift (relative: false) or a reward with events here")
        e = found[0]
        return replace(e, name=f"{policy.name}: {kind} in {label} ({est.name})", method=f"{est.name}, paired",
                       details={"estimator": est.name, "reward": label, "quantity": kind,
                                "policy": policy.name}), c
