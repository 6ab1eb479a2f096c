"""The evaluation modes of :func:`~recsys_causal.ope.evaluate_policies` (``mode=``): ``"top_slot"`` (default)
evaluates the item shown at position 1 (requests without one are excluded); ``"ranking"`` whole slates with
position-level rewards and the slate estimators (``slate=True`` is its deprecated alias); ``"logged_position"``
evaluates every impression at the position where it was logged, as follows.

For the item ``a`` shown at logged position ``k`` of request ``r`` the importance weight is
``w = π(a at k) / p_log(a at k)`` (the target policy's probability of that item at that position,
``policy.probs[:, k-1]``, over the logged propensity of the impression) and the reward is that impression's
reward. The estimand is the **per-impression mean**: the mean, over the evaluated impressions, of the expected
reward the target policy earns at the impression's logged position,
``V = (1/N) Σ_impressions Σ_i π_r(i at k) E[r | i at k]``. On a log with one shown item per request (the layout
of public bandit datasets) it is the mean reward per request at the logged positions; on slate logs it is the
mean over positions of the slate's position values (``V_ranking / K`` for full slates of ``K`` items). The
logging baseline is the mean observed reward over the same impressions. The single-slot estimators (IPS,
SNIPS, DR, ...) run unchanged on per-impression components; ``requests`` maps impressions to requests, and
intervals are cluster-robust by request by default (impressions of one request are correlated).

Requests are evaluated whole or not at all: a request without a shown item at a position the target covers is
excluded as ``no_item_at_evaluated_positions``, one with any such impression whose reward is not yet observed
as ``immature_reward`` (counts by reason in ``details["excluded"]``). The reward model is per position: a
:class:`~recsys_causal.ope.reward_model.RewardModel` is cross-fitted on the impressions logged at each position
(``q̂(i, k)``, columns of ``q_hat``), so DM estimates ``Σ_i π(i at k) q̂(i, k)`` at each impression's position; a
prediction column is one ``q̂(i)`` for every position (DM is then biased when rewards depend on the position;
DR stays unbiased with correct propensities either way).

>>> import numpy as np
>>> from recsys_causal.simulate import simulate_decision_log
>>> sim = simulate_decision_log(n_requests=300, n_candidates=6, slate_size=3, logged_positions=(0.5, 0.3, 0.2),
...                             seed=0)
>>> probs = np.tile(np.full(3, 1 / 6), (sim.log.candidates.shape[0], 1))
>>> c, excluded, rows = logged_position_components(sim.log, probs, sim.log.reward("click"), None)
>>> c.w.size, excluded
(300, {'no_item_at_evaluated_positions': 0, 'immature_reward': 0})
"""

from __future__ import annotations

import numpy as np

from recsys_causal.caveats import user_stacklevel
from recsys_causal.errors import EstimationError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.components import SlotComponents, top_slot_rows
from recsys_causal.ope.position_probs import as_table

MODES = ("top_slot", "logged_position", "ranking")
NO_ITEM = "no_item_at_evaluated_positions"
IMMATURE = "immature_reward"


def evaluated_impressions(log: DecisionLog, n_positions: int, reward: np.ndarray, reward_name: str = "reward"
                          ) -> tuple[np.ndarray, dict[str, int]]:
    """Candidate rows of the evaluated impressions (shown at positions ``1..n_positions`` of requests whose
    rewards there are all observed) and the excluded requests counted by reason."""
    position = np.nan_to_num(log.position, nan=0.0)
    rows = np.nonzero(log.shown & (position >= 1) & (position <= n_positions))[0]
    req = log.request_index[rows]
    has = np.zeros(log.n_requests, dtype=bool)
    has[req] = True
    immature = np.zeros(log.n_requests, dtype=bool)
    immature[req[~np.isfinite(reward[rows])]] = True
    excluded = {NO_ITEM: int((~has).sum()), IMMATURE: int((has & immature).sum())}
    keep = has & ~immature
    if not keep.any():
        raise EstimationError(f"no request has an observed {reward_name!r} at positions 1..{n_positions} "
                              f"({excluded[NO_ITEM]} without a shown item there, {excluded[IMMATURE]} with an "
                              "immature label)", source=log.source, column=reward_name,
                              fix="evaluate a target that covers the logged positions, or an earlier cohort")
    return rows[keep[req]], excluded


def logged_position_components(log: DecisionLog, target_probs, reward: np.ndarray,
                               q_hat: np.ndarray | None, reward_name: str = "reward"
                               ) -> tuple[SlotComponents, dict[str, int], np.ndarray]:
    """Per-impression single-slot components of a target policy (``target_probs``: candidate rows × positions),
    the excluded requests by reason and the candidate rows of the impressions. ``q_hat`` is one prediction per
    candidate, or one per candidate and position (column ``k − 1`` for position ``k``, at least as many columns
    as the highest evaluated position)."""
    table = as_table(target_probs)
    K = table.slate_size
    rows, excluded = evaluated_impressions(log, K, reward, reward_name)
    req = log.request_index[rows]
    p = log.propensity[rows]
    bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
    if bad.any():
        raise EstimationError(f"{int(bad.sum())} shown items at positions 1..{K} have a missing or invalid "
                              "logging propensity", source=log.source, column="propensity", count=int(bad.sum()),
                              examples=log.request_ids[req[bad]][:5],
                              fix="read the log with require_propensity=True to quarantine them, or fix the logging")
    k = log.position[rows].astype(np.int64) - 1
    w = table.at(log.offsets, rows, req, k) / p
    n_excl = sum(excluded.values())
    if q_hat is None:
        zeros = np.zeros(rows.size)
        return (SlotComponents(w=w, y=reward[rows], q_a=zeros, dm=zeros, requests=req, n_excluded=n_excl, p_log=p),
                excluded, rows)
    n = int(k.max()) + 1
    q = _per_position(q_hat, n)
    dm = table.weighted_sums(log.offsets, q_hat if np.ndim(q_hat) == 1 else q, n)[req, k]
    return (SlotComponents(w=w, y=reward[rows], q_a=q[rows, k], dm=dm, requests=req, n_excluded=n_excl, p_log=p),
            excluded, rows)


def _per_position(q_hat: np.ndarray, n_positions: int) -> np.ndarray:
    """Predictions as (candidates × n_positions): a single column repeated, or the first ``n_positions`` columns."""
    q = np.asarray(q_hat, dtype=float)
    if q.ndim == 1:
        return np.broadcast_to(q[:, None], (q.size, n_positions))
    if q.shape[1] < n_positions:
        raise EstimationError(f"the reward model predicts {q.shape[1]} positions but impressions are evaluated at "
                              f"positions up to {n_positions}", column="reward_model",
                              fix="fit the reward model per logged position (RewardModel.predict_positions)")
    return q[:, :n_positions]


def top_slot_excluded(log: DecisionLog, reward: np.ndarray, slot_rows: np.ndarray | None = None) -> dict[str, int]:
    """The requests the top-slot mode leaves out, by reason (no shown item at position 1; immature reward);
    ``slot_rows``: the rows shown at position 1 when already known."""
    rows = top_slot_rows(log) if slot_rows is None else slot_rows
    has = np.zeros(log.n_requests, dtype=bool)
    has[log.request_index[rows]] = True
    immature = np.zeros(log.n_requests, dtype=bool)
    immature[log.request_index[rows[~np.isfinite(reward[rows])]]] = True
    return {NO_ITEM: int((~has).sum()), IMMATURE: int(immature.sum())}


def resolve_mode(mode: str | None, slate: bool) -> str:
    """The evaluation mode from ``mode=`` and the deprecated ``slate=True`` (an alias of ``mode="ranking"``)."""
    import warnings

    from recsys_causal.errors import ConfigError
    from recsys_causal.suggest import choices_text, did_you_mean

    if slate:
        warnings.warn("slate=True is deprecated: use mode='ranking'", DeprecationWarning, stacklevel=user_stacklevel())
        if mode not in (None, "ranking"):
            raise ConfigError(f"slate=True contradicts mode={mode!r}", column="mode",
                              fix="drop slate=True (it means mode='ranking')")
        return "ranking"
    mode = "top_slot" if mode is None else mode
    if mode not in MODES:
        raise ConfigError(f"unknown evaluation mode {mode!r}: not one of {choices_text(list(MODES))}"
                          f"{did_you_mean(str(mode), list(MODES))}", column="mode",
                          fix="use mode='top_slot' (default), 'logged_position' or 'ranking'")
    return mode


def with_mode_details(block: list, mode: str, excluded: dict[str, int], extra: dict | None = None) -> list:
    """The estimate rows with ``details["mode"]``, ``details["excluded"]`` (requests left out, by reason) and
    any ``extra`` details."""
    from dataclasses import replace

    more = {"mode": mode, "excluded": dict(excluded), **(extra or {})}
    return [replace(e, details={**e.details, **more}) for e in block]
