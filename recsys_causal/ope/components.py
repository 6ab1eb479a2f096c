"""Per-request inputs of the estimators, built from a decision log and a target policy.

- :class:`SlotComponents` (single slot, the item shown at position 1): importance weight ``w = π(a) / p``,
  reward ``y``, reward-model prediction of the logged action ``q_a`` and ``dm = Σ_i π(i) q̂(i)``.
- :class:`SlateComponents` (slates with position-level rewards): position-wise weights and rewards ``(n, K)``,
  position weights ``α``, the whole-slate weight and, when logged, prefix propensities.

Requests without an observed reward at the evaluated positions (immature labels) are left out and counted.

>>> import numpy as np
>>> c = SlotComponents(w=np.array([2.0, 0.5]), y=np.array([1.0, 0.0]), q_a=np.zeros(2), dm=np.zeros(2),
...                    requests=np.arange(2), n_excluded=0)
>>> float((c.w * c.y).mean())
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import EstimationError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.position_probs import as_table
from recsys_causal.ope.request_sums import requests_of


@dataclass(frozen=True)
class SlotComponents:
    """Per-request inputs of every single-slot estimator (requests with an observed reward only)."""

    w: np.ndarray
    y: np.ndarray
    q_a: np.ndarray
    dm: np.ndarray
    requests: np.ndarray  # request index of each entry
    n_excluded: int  # requests left out: no shown item at position 1 or reward not observed (immature)
    p_log: np.ndarray | None = None  # logging propensity of the logged action


def top_slot_rows(log: DecisionLog) -> np.ndarray:
    """The candidate rows shown at position 1, ascending."""
    return np.flatnonzero(log.shown & (log.position == 1))


def logged_actions(log: DecisionLog, reward: np.ndarray, reward_name: str = "reward", *,
                   slot_rows: np.ndarray | None = None):
    """Row of the item shown at position 1 per request; requests without one or with a missing reward drop out.

    Missing or invalid logging propensities on those rows are an error (they cannot be re-weighted).
    ``slot_rows``: :func:`top_slot_rows` when already known.
    """
    rows = top_slot_rows(log) if slot_rows is None else slot_rows
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


def components(log: DecisionLog, target_probs, reward: np.ndarray, q_hat: np.ndarray | None,
               reward_name: str = "reward", *, slot_rows: np.ndarray | None = None) -> SlotComponents:
    """The single-slot components of a target policy (a ``TargetPolicy``, its position probabilities or a dense
    array; position 1 is used) with reward-model predictions ``q_hat`` per candidate (None: the direct-method
    parts are zero); ``slot_rows``: :func:`top_slot_rows` when already known."""
    rows, p, excluded = logged_actions(log, reward, reward_name, slot_rows=slot_rows)
    table = as_table(target_probs)
    req = log.request_index[rows]
    pi = table.at(log.offsets, rows, req, np.zeros(rows.size, dtype=np.int64))
    if q_hat is None:  # no reward model: the direct-method parts are zero
        zeros = np.zeros(rows.size)
        return SlotComponents(w=pi / p, y=reward[rows], q_a=zeros, dm=zeros, requests=req,
                              n_excluded=excluded, p_log=p)
    dm_all = table.weighted_sums(log.offsets, q_hat, 1)[:, 0]
    return SlotComponents(w=pi / p, y=reward[rows], q_a=q_hat[rows], dm=dm_all[req], requests=req,
                          n_excluded=excluded, p_log=p)


@dataclass(frozen=True)
class SlateComponents:
    """Per-request inputs of the slate estimators (requests with every reward of the slate observed)."""

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
    q: np.ndarray | None = None  # (n, K) reward model Q̂_k(x, a_1..a_k) of the logged prefix (cascade-DR)
    q_pi: np.ndarray | None = None  # (n, K) its target expectation E_{a ~ π(·|a_1..a_k-1)} Q̂_k(x, a_1..a_k-1, a)
    slate_pi: np.ndarray | None = None  # (n,) target probability of the logged slate (items at their positions)
    excluded: dict[str, int] | None = None  # requests left out by reason (no item at positions 1..K; immature)
    p_shown: np.ndarray | None = None  # logging propensities of every item shown at positions 1..K (support)


def slate_components(log: DecisionLog, target_probs, reward: np.ndarray, *,
                     position_weights: np.ndarray | None = None, deterministic: bool = False,
                     reward_name: str = "reward") -> SlateComponents:
    """The slate components of a target policy (a ``TargetPolicy``, its position probabilities or a dense
    ``(n_candidates, K)`` array) over its ``K`` positions; the policy is read only at the logged (item,
    position) pairs and through per-request sums (:mod:`recsys_causal.ope.position_probs`)."""
    table = as_table(target_probs)
    K = table.slate_size
    rows = np.flatnonzero(log.shown & (log.position <= K))
    pos = log.position[rows].astype(np.int64)
    pos -= 1  # in place: 0-based
    req = requests_of(log.offsets, rows)
    p = log.propensity[rows]
    bad = ~((p > 0) & (p <= 1))  # NaN compares false: missing propensities are bad too
    if bad.any():
        raise EstimationError(f"{int(bad.sum())} shown items have a missing or invalid logging propensity",
                              source=log.source, column="propensity", count=int(bad.sum()),
                              examples=log.request_ids[req[bad]][:5],
                              fix="read the log with require_propensity=True to quarantine them")
    pi = table.at(log.offsets, rows, req, pos)
    W, PI, Y = (np.zeros((log.n_requests, K)) for _ in range(3))
    S = np.zeros((log.n_requests, K), dtype=bool)
    cell = req * K  # the flat (request, position) cell of each logged item: one index for four arrays
    cell += pos
    W.reshape(-1)[cell] = pi / p
    PI.reshape(-1)[cell] = pi
    S.reshape(-1)[cell] = True
    yv = reward[rows]  # a copy: zeroed in place where the reward is missing (nan_to_num where infinite)
    finite = np.isfinite(yv)
    missing = np.bincount(req[~finite], minlength=log.n_requests) > 0
    if np.isinf(yv).any():
        np.nan_to_num(yv, copy=False)
    else:
        yv[~finite] = 0.0
    Y.reshape(-1)[cell] = yv
    del cell, yv
    filled = np.bincount(req, minlength=log.n_requests)
    keep = (filled > 0) & ~missing
    if not keep.any():
        raise EstimationError(f"no slate has all its {reward_name!r} rewards observed (immature labels?)",
                              source=log.source, column=reward_name, fix="analyse an earlier cohort")
    slate_w = np.full(log.n_requests, np.nan)
    if deterministic and "slate_propensity" in log.requests.columns:
        sp = log.requests["slate_propensity"].to_numpy(dtype=float)
        match = np.bincount(req, weights=(pi == 1.0).astype(float), minlength=log.n_requests)
        target_filled = table.position_sums(log.offsets).sum(axis=1)
        same = (match == filled) & (filled == np.round(target_filled))
        n_shown = np.diff(np.searchsorted(np.flatnonzero(log.shown), log.offsets))  # no per-candidate int64
        # the joint propensity is for the whole logged slate: only comparable when the target fills it exactly
        slate_w = np.where(n_shown == filled, np.where(same, 1.0 / sp, 0.0), np.nan)
    alpha = np.ones(K) if position_weights is None else np.asarray(position_weights, dtype=float)[:K]
    prefix, notes = _prefix_propensities(log, rows, req, pos, keep, K)
    slate_pi = table.logged_slate_probability(log.offsets, rows, req, pos, pi)
    sub = (lambda a: a) if keep.all() else (lambda a: a[keep])  # no copies when every request is kept
    excluded = {"no_item_at_evaluated_positions": int((filled == 0).sum()),
                "immature_reward": int(((filled > 0) & missing).sum())}
    return SlateComponents(sub(W), sub(Y), alpha, sub(slate_w), np.flatnonzero(keep),
                           int(log.n_requests - keep.sum()), shown=sub(S), pi=sub(PI), prefix_p=prefix,
                           deterministic=deterministic, notes=notes, slate_pi=sub(slate_pi), excluded=excluded,
                           p_shown=p)


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
