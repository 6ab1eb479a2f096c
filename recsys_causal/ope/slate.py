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

Requests with any missing reward in the slate (immature labels) are left out and counted.

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
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.single_slot import SlotEstimator


@dataclass(frozen=True)
class SlateComponents:
    w: np.ndarray  # (n, K) position-wise weights of the logged items (0 where no item is shown)
    y: np.ndarray  # (n, K) position rewards (0 where no item is shown)
    alpha: np.ndarray  # (K,) position weights
    slate_w: np.ndarray  # (n,) whole-slate weight (NaN when unavailable)
    requests: np.ndarray
    n_excluded: int
    shown: np.ndarray | None = None  # (n, K) an item is shown at the position (default: every position)
    pi: np.ndarray | None = None  # (n, K) target probability of the logged item at its position
    prefix_p: np.ndarray | None = None  # (n, K) logged prefix propensity (None when the log has none)
    deterministic: bool = False  # the target puts probability 1 on one slate per request
    notes: tuple[str, ...] = ()  # problems found while building the components (e.g. unusable prefix column)


def slate_components(log: DecisionLog, target_probs: np.ndarray, reward: np.ndarray, *,
                     position_weights: np.ndarray | None = None, deterministic: bool = False,
                     reward_name: str = "reward") -> SlateComponents:
    K = target_probs.shape[1]
    rows = np.nonzero(log.shown & (log.position <= K))[0]
    pos = log.position[rows].astype(np.int64) - 1
    req = log.request_index[rows]
    p = log.propensity[rows]
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        raise EstimationError(f"{int(bad.sum())} shown items have a missing or invalid logging propensity",
                              source=log.source, column="propensity", count=int(bad.sum()),
                              examples=log.request_ids[req[bad]][:5],
                              fix="read the log with require_propensity=True to quarantine them")
    W = np.zeros((log.n_requests, K))
    Y = np.zeros((log.n_requests, K))
    PI = np.zeros((log.n_requests, K))
    S = np.zeros((log.n_requests, K), dtype=bool)
    missing = np.zeros(log.n_requests, dtype=bool)
    W[req, pos] = target_probs[rows, pos] / p
    PI[req, pos] = target_probs[rows, pos]
    S[req, pos] = True
    yv = reward[rows]
    missing[req[~np.isfinite(yv)]] = True
    Y[req, pos] = np.nan_to_num(yv)
    has_slate = np.zeros(log.n_requests, dtype=bool)
    has_slate[req] = True
    keep = has_slate & ~missing
    if not keep.any():
        raise EstimationError(f"no slate has all its {reward_name!r} rewards observed (immature labels?)",
                              source=log.source, column=reward_name, fix="analyse an earlier cohort")
    slate_w = np.full(log.n_requests, np.nan)
    if deterministic and "slate_propensity" in log.requests.columns:
        sp = log.requests["slate_propensity"].to_numpy(dtype=float)
        match = np.zeros(log.n_requests)
        np.add.at(match, req, (target_probs[rows, pos] == 1.0).astype(float))
        filled = np.bincount(req, minlength=log.n_requests)
        target_filled = np.stack([log.per_request_sum(target_probs[:, k]) for k in range(K)], axis=1).sum(axis=1)
        same = (match == filled) & (filled == np.round(target_filled))
        n_shown = np.bincount(log.request_index[log.shown], minlength=log.n_requests)
        # the joint propensity is for the whole logged slate: only comparable when the target fills it exactly
        slate_w = np.where(n_shown == filled, np.where(same, 1.0 / sp, 0.0), np.nan)
    alpha = np.ones(K) if position_weights is None else np.asarray(position_weights, dtype=float)[:K]
    prefix, notes = _prefix_propensities(log, rows, req, pos, keep, K)
    return SlateComponents(W[keep], Y[keep], alpha, slate_w[keep], np.nonzero(keep)[0],
                           int(log.n_requests - keep.sum()), shown=S[keep], pi=PI[keep], prefix_p=prefix,
                           deterministic=deterministic, notes=notes)


PREFIX_COLUMN = "prefix_propensity"


def _prefix_propensities(log, rows, req, pos, keep, K) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """The logged prefix propensities of the kept requests as ``(n, K)``, or None with a note when the
    column is absent or unusable (missing, ≤ 0 or > 1 on a shown row of a kept request)."""
    if PREFIX_COLUMN not in log.candidates.columns:
        return None, ()
    v = log.column(PREFIX_COLUMN)[rows]
    bad = keep[req] & ~(np.isfinite(v) & (v > 0) & (v <= 1))
    if bad.any():
        ids = ", ".join(map(str, log.request_ids[np.unique(req[bad])][:3]))
        return None, (f"{PREFIX_COLUMN} is missing or outside (0, 1] on {int(bad.sum())} shown candidates (e.g. "
                      f"requests {ids}): cascade weights fell back to marginal propensities",)
    P = np.full((log.n_requests, K), np.nan)
    P[req, pos] = v
    return P[keep], ()


@dataclass
class PositionIPS(SlotEstimator):
    name = "PI-IPS"
    assumption = "independent positions / position-based clicks (the reward at a position depends only on the " \
                 "item there)"

    def terms(self, c):
        v = (c.w * c.y) @ c.alpha
        return [(v, np.ones_like(v))]


@dataclass
class SNPositionIPS(SlotEstimator):
    name = "SN-PI-IPS"
    assumption = PositionIPS.assumption

    def terms(self, c):
        return [(c.alpha[k] * c.w[:, k] * c.y[:, k], c.w[:, k]) for k in range(c.w.shape[1]) if c.alpha[k] != 0]


@dataclass
class CascadeIPS(SlotEstimator):
    """``prefix=False`` ignores a logged ``prefix_propensity`` column and uses the marginals."""

    prefix: bool = True
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
        return np.cumprod(np.where(shown, c.w, 1.0), axis=1) * shown

    def terms(self, c):
        v = (self.weights(c) * c.y) @ c.alpha
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
class StandardSlateIPS(SlotEstimator):
    normalise: bool = False
    name = "slate IPS"

    def terms(self, c):
        if np.isnan(c.slate_w).any():
            raise EstimationError("standard slate IPS needs slate_propensity in the log, a deterministic target and "
                                  "a target slate as long as the logged slates",
                                  fix="evaluate with slate_size equal to the logged slate length, or use "
                                      "position-based IPS")
        v = c.slate_w * (c.y @ c.alpha)
        return [(v, c.slate_w if self.normalise else np.ones_like(v))]


@dataclass
class PseudoInverse(SlotEstimator):
    normalise: bool = False
    name = "PI (pseudo-inverse)"
    assumption = "rewards additive over positions (linearity) and a logging policy that factorises over positions"

    def terms(self, c):
        gamma = c.w.sum(axis=1) - (c.w.shape[1] - 1)
        v = gamma * (c.y @ c.alpha)
        return [(v, gamma if self.normalise else np.ones_like(v))]
