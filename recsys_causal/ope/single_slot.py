"""Single-slot off-policy estimators (one decision per request: the item at position 1).

Per request ``r`` with logged action ``a`` (the item shown at position 1), logging propensity ``p``, reward
``y``, target probability ``π(a)``, importance weight ``w = π(a) / p``, reward-model predictions ``q̂`` and
``dm = Σ_i π(i) q̂(i)``:

| estimator | per-request value | aggregate |
|---|---|---|
| DM | ``dm`` | mean |
| IPS (clip c) | ``min(w, c) · y`` | mean |
| SNIPS | ``w · y`` | ``Σ w y / Σ w`` |
| DR | ``dm + w (y − q̂(a))`` | mean |
| SNDR | ``dm`` + ``w (y − q̂(a))`` | ``mean(dm) + Σ w (y − q̂(a)) / Σ w`` |
| Switch-DR (τ) | ``dm + 1{w ≤ τ} w (y − q̂(a))`` | mean (Wang, Agarwal & Dudík 2017) |
| DRos (λ) | ``dm + λw/(w² + λ) (y − q̂(a))`` | mean (Su et al. 2020) |

Standard errors come from per-request influence values (delta method for the self-normalised ones).

>>> import numpy as np
>>> c = SlotComponents(w=np.array([2.0, 0.5]), y=np.array([1.0, 0.0]), q_a=np.zeros(2), dm=np.zeros(2),
...                    requests=np.arange(2), n_excluded=0)
>>> float(IPS().contributions(c)[0]), float(SNIPS().contributions(c)[0])
(1.0, 0.8)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.logs.model import DecisionLog


@dataclass(frozen=True)
class SlotComponents:
    """Per-request inputs of every single-slot estimator (requests with an observed reward only)."""

    w: np.ndarray
    y: np.ndarray
    q_a: np.ndarray
    dm: np.ndarray
    requests: np.ndarray  # request index of each entry
    n_excluded: int
    p_log: np.ndarray | None = None  # logging propensity of the logged action  # requests left out: no shown item at position 1 or reward not observed (immature)


def logged_actions(log: DecisionLog, reward: np.ndarray, reward_name: str = "reward"):
    """Row of the item shown at position 1 per request; requests without one or with a missing reward drop out.

    Missing or invalid logging propensities on those rows are an error (they cannot be re-weighted).
    """
    rows = np.nonzero(log.shown & (log.position == 1))[0]
    y = reward[rows]
    observed = np.isfinite(y)
    if not observed.any():
        raise EstimationError(f"no observed {reward_name!r} on the shown items: every label is missing (immature?)",
                              source=log.source, column=reward_name,
                              fix="analyse requests whose label windows have closed (an earlier as_of cohort)")
    rows = rows[observed]
    p = log.propensity[rows]
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        raise EstimationError(
            f"{int(bad.sum())} shown items at position 1 have a missing or invalid logging propensity",
            source=log.source, column="propensity", count=int(bad.sum()),
            examples=log.request_ids[log.request_index[rows[bad]]][:5],
            fix="read the log with require_propensity=True to quarantine them, or fix the logging")
    return rows, p, int(log.n_requests - rows.size)


def components(log: DecisionLog, target_probs: np.ndarray, reward: np.ndarray, q_hat: np.ndarray | None,
               reward_name: str = "reward") -> SlotComponents:
    rows, p, excluded = logged_actions(log, reward, reward_name)
    pi = target_probs[:, 0]
    req = log.request_index[rows]
    if q_hat is None:  # no reward model: the direct-method parts are zero
        zeros = np.zeros(rows.size)
        return SlotComponents(w=pi[rows] / p, y=reward[rows], q_a=zeros, dm=zeros, requests=req,
                              n_excluded=excluded, p_log=p)
    dm_all = log.per_request_sum(pi * q_hat)
    return SlotComponents(w=pi[rows] / p, y=reward[rows], q_a=q_hat[rows], dm=dm_all[req], requests=req,
                          n_excluded=excluded, p_log=p)


class SlotEstimator:
    """Base class. An estimator is a sum of ratio terms ``Σ_r a_r / Σ_r b_r`` over requests (``b = 1`` for
    mean-type terms); the value, the influence values (delta method) and the bootstrap all follow from them."""

    name = "estimator"
    needs_reward_model = False

    def terms(self, c) -> list[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def contributions(self, c) -> tuple[float, np.ndarray]:
        """The estimate and its per-request influence values."""
        value, psi = 0.0, 0.0
        for a, b in self.terms(c):
            mb = float(np.mean(b))
            if mb <= 0:
                raise EstimationError("the importance weights sum to 0: the target policy never takes a logged "
                                      "action", fix="check support: the logs cannot evaluate this policy")
            v = float(np.sum(a) / np.sum(b))
            value += v
            psi = psi + (a - v * b) / mb
        return value, np.asarray(psi, dtype=float)

    def warnings(self, c) -> list[str]:
        """Caveats of this estimate on these components (empty when none)."""
        return []

    def sql_terms(self) -> list[tuple[str, str]]:
        """The ratio terms as SQL over per-request columns ``w, y, q_a, dm`` (for engines that hold the log)."""
        raise NotImplementedError(f"{self.name} has no SQL form")

    def resampled(self, c, weights: np.ndarray) -> np.ndarray:
        """Estimates under resampling weights ``(B, n)`` (vectorised; ratio terms renormalise)."""
        total = np.zeros(weights.shape[0])
        for a, b in self.terms(c):
            total += (weights @ a) / (weights @ np.broadcast_to(b, a.shape))
        return total


def _one(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


SQL_ONE = "CAST(1 AS DOUBLE)"  # a plain 1.0 is a DECIMAL literal in Spark SQL


def sql_float(x: float) -> str:
    """A DOUBLE literal in SQL that DuckDB and Spark read alike."""
    return f"CAST({float(x)!r} AS DOUBLE)"


@dataclass
class DM(SlotEstimator):
    name = "DM"
    needs_reward_model = True

    def terms(self, c):
        return [(c.dm, _one(c.dm))]

    def sql_terms(self):
        return [("dm", SQL_ONE)]


@dataclass
class IPS(SlotEstimator):
    clip: float | None = None
    name = "IPS"

    def terms(self, c):
        w = c.w if self.clip is None else np.minimum(c.w, self.clip)
        return [(w * c.y, _one(w))]

    def sql_terms(self):
        w = "w" if self.clip is None else f"LEAST(w, {sql_float(self.clip)})"
        return [(f"{w} * y", SQL_ONE)]


@dataclass
class SNIPS(SlotEstimator):
    name = "SNIPS"

    def terms(self, c):
        return [(c.w * c.y, c.w)]

    def sql_terms(self):
        return [("w * y", "w")]


@dataclass
class DR(SlotEstimator):
    name = "DR"
    needs_reward_model = True

    def terms(self, c):
        return [(c.dm + c.w * (c.y - c.q_a), _one(c.w))]

    def sql_terms(self):
        return [("dm + w * (y - q_a)", SQL_ONE)]


@dataclass
class SNDR(SlotEstimator):
    name = "SNDR"
    needs_reward_model = True

    def terms(self, c):
        return [(c.dm, _one(c.dm)), (c.w * (c.y - c.q_a), c.w)]

    def sql_terms(self):
        return [("dm", SQL_ONE), ("w * (y - q_a)", "w")]


@dataclass
class SwitchDR(SlotEstimator):
    tau: float = 100.0
    name = "Switch-DR"
    needs_reward_model = True

    def terms(self, c):
        keep = c.w <= self.tau
        return [(c.dm + np.where(keep, c.w * (c.y - c.q_a), 0.0), _one(c.w))]

    def sql_terms(self):
        return [(f"dm + CASE WHEN w <= {sql_float(self.tau)} THEN w * (y - q_a) ELSE CAST(0 AS DOUBLE) END",
                 SQL_ONE)]


@dataclass
class DRos(SlotEstimator):
    lam: float = 100.0
    name = "DRos"
    needs_reward_model = True

    def terms(self, c):
        w = c.w if np.isinf(self.lam) else self.lam * c.w / (c.w**2 + self.lam)
        return [(c.dm + w * (c.y - c.q_a), _one(c.w))]

    def sql_terms(self):
        if np.isinf(self.lam):
            return [("dm + w * (y - q_a)", SQL_ONE)]
        lam = sql_float(self.lam)
        return [(f"dm + {lam} * w / (w * w + {lam}) * (y - q_a)", SQL_ONE)]
