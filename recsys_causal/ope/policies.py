"""Target policies as per-candidate position probabilities aligned with a log's candidate rows.

A target policy's probabilities ``P[i, k]`` (candidate ``i`` at position ``k + 1``) are held implicitly
(:mod:`recsys_causal.ope.position_probs`): ``top_k`` stores the candidate row per request and position,
``uniform`` the eligible count per request, ``softmax`` the scores (Plackett–Luce marginals recomputed per chunk
of requests), ``epsilon_greedy`` its two parts; ``from_column`` / ``from_callable`` / ``TargetPolicy(name, array)``
hold a dense array. The estimators read ``P`` only at the logged (item, position) pairs and through per-request
sums, so no ``(n_candidates, slate_size)`` array is built on their path; ``policy.probs`` builds it on demand.
Mass a policy puts outside the logged candidate set is ``1 − Σ_i P[i, k]`` per request and position; it is
reported by the support diagnostics, never renormalised away.

>>> from recsys_causal.simulate import simulate_decision_log
>>> log = simulate_decision_log(n_requests=5, n_candidates=4, slate_size=2, seed=0).log
>>> top = top_k(log, "pred_new", slate_size=2)
>>> top.probs.shape, log.per_request_sum(top.probs[:, 0]).tolist() == [1.0] * 5
((20, 2), True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys_causal.checks import require_columns
from recsys_causal.errors import SchemaError
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.position_probs import (
    DenseProbs,
    MixtureProbs,
    PlackettLuceProbs,
    PositionProbs,
    RankedProbs,
    UniformProbs,
)

TOLERANCE = 1e-9


class TargetPolicy:
    """Position probabilities of a target policy for every logged candidate; ``deterministic`` policies put
    probability 1 on one slate per request (needed by the standard slate IPS estimator).

    ``probs``: a dense ``(n_candidates, slate_size)`` array or an implicit
    :class:`~recsys_causal.ope.position_probs.PositionProbs` (``table``; the constructors below build implicit
    ones). Reading ``.probs`` of an implicit policy builds the dense array on demand; the estimators never do.
    """

    def __init__(self, name: str, probs: np.ndarray | PositionProbs, deterministic: bool = False, *,
                 offsets: np.ndarray | None = None) -> None:
        self.name = name
        self.table = probs if isinstance(probs, PositionProbs) else DenseProbs(probs)
        self.deterministic = deterministic
        self.offsets = offsets  # the log's CSR offsets (needed to build .probs of some implicit tables)

    @property
    def probs(self) -> np.ndarray:
        """The dense ``(n_candidates, slate_size)`` array (built on demand for an implicit policy)."""
        return self.table.dense(self.offsets)

    @property
    def slate_size(self) -> int:
        return self.table.slate_size

    def select(self, log: DecisionLog, mask: np.ndarray) -> TargetPolicy:
        """The policy on ``log.select_requests(mask)``."""
        sizes = log.sizes[mask]
        return TargetPolicy(self.name, self.table.take(log.offsets, mask), self.deterministic,
                            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))

    def __repr__(self) -> str:
        return (f"TargetPolicy({self.name!r}, {type(self.table).__name__}, slate_size={self.slate_size}, "
                f"deterministic={self.deterministic})")


def as_table(probs: np.ndarray | PositionProbs | TargetPolicy) -> PositionProbs:
    """The position probabilities of a policy, an implicit table or a dense array."""
    if isinstance(probs, TargetPolicy):
        return probs.table
    return probs if isinstance(probs, PositionProbs) else DenseProbs(probs)


def _eligible(log: DecisionLog) -> np.ndarray:
    return log.column("eligible").astype(bool) if "eligible" in log.candidates.columns else np.ones(
        log.n_candidates, dtype=bool)


def _score(log: DecisionLog, column: str) -> np.ndarray:
    name = column if column in log.candidates.columns else f"pred_{column}"
    if name not in log.candidates.columns:
        require_columns(log.candidates, [column], source=log.source, message="score column {first!r} does not exist",
                        fix=f"use one of the prediction columns {list(log.prediction_columns)} or 'score'")
    s = log.column(name)
    bad = np.isnan(s) & _eligible(log)
    if bad.any():
        raise SchemaError(f"score column {name!r} is missing for {int(bad.sum())} eligible candidates",
                          source=log.source, column=name, count=int(bad.sum()),
                          examples=log.request_ids[log.request_index[bad]][:5],
                          fix="log a score for every eligible candidate")
    return s


def top_k(log: DecisionLog, score: str, slate_size: int = 1, *, name: str | None = None) -> TargetPolicy:
    """Deterministic ranking by ``score`` (highest first) among eligible candidates."""
    rows = ranked_rows(_score(log, score), log.offsets, slate_size, _eligible(log))
    return TargetPolicy(name or f"top-{slate_size} by {score}", RankedProbs(rows, log.n_candidates),
                        deterministic=True, offsets=log.offsets)


def ranked_rows(s: np.ndarray, offsets: np.ndarray, slate_size: int, eligible: np.ndarray | None = None
                ) -> np.ndarray:
    """Per request, the candidate rows of the ``slate_size`` highest finite scores ``s`` among ``eligible``
    candidates (ties: earlier row first; −1 where fewer are finite), by chunks of requests."""
    sizes = np.diff(offsets)
    n_req, n_max = sizes.size, int(sizes.max(initial=0))
    dtype = np.int32 if offsets[-1] < 2**31 - 1 else np.int64
    out = np.full((n_req, slate_size), -1, dtype=dtype)
    step = max(1, 4_000_000 // max(n_max, 1))
    for lo in range(0, n_req, step):
        hi = min(n_req, lo + step)
        part = -s[offsets[lo]:offsets[hi]]
        if eligible is not None:
            part = np.where(eligible[offsets[lo]:offsets[hi]], part, np.inf)
        if (sizes[lo:hi] == n_max).all():  # a regular layout: the chunk is a matrix already
            pad = part.reshape(hi - lo, n_max)
        else:
            r = np.repeat(np.arange(hi - lo), sizes[lo:hi])
            pad = np.full((hi - lo, n_max), np.inf)
            pad[r, np.arange(part.size) - (offsets[lo:hi] - offsets[lo])[r]] = part
        top = _smallest_first(pad, min(slate_size, n_max))
        ok = np.isfinite(np.take_along_axis(pad, top, axis=1))
        out[lo:hi, : top.shape[1]] = np.where(ok, top + offsets[lo:hi, None], -1)
    return out


def _smallest_first(pad: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` smallest values in ascending order, ties by column (what a stable
    sort gives): a partition, then a sort of the ``k`` chosen; rows with a tie at the boundary are sorted whole."""
    if k == 0:
        return np.zeros((pad.shape[0], 0), dtype=np.int64)
    chosen = np.argpartition(pad, k - 1, axis=1)[:, :k] if k < pad.shape[1] else np.tile(np.arange(k), (len(pad), 1))
    vals = np.take_along_axis(pad, chosen, axis=1)
    top = np.take_along_axis(chosen, np.lexsort((chosen, vals), axis=1), axis=1)
    tied = (pad <= vals.max(axis=1, keepdims=True)).sum(axis=1) > k
    if tied.any():
        top[tied] = np.argsort(pad[tied], axis=1, kind="stable")[:, :k]
    return top


def softmax(log: DecisionLog, score: str, slate_size: int = 1, *, temperature: float = 1.0,
            n_samples: int = 2000, seed: int = 0, name: str | None = None) -> TargetPolicy:
    """Plackett–Luce ranking with weights ``exp(score / temperature)``: exact marginals for up to 3 positions,
    a seeded Gumbel-top-k approximation with ``n_samples`` rankings per request beyond."""
    probs = PlackettLuceProbs(_score(log, score), log.offsets, slate_size, temperature, eligible=_eligible(log),
                              n_samples=n_samples, seed=seed)
    return TargetPolicy(name or f"softmax({score}, T={temperature:g})", probs, offsets=log.offsets)


def uniform(log: DecisionLog, slate_size: int = 1, *, name: str = "uniform") -> TargetPolicy:
    """A uniformly random slate of eligible candidates."""
    eligible = log.column("eligible").astype(bool) if "eligible" in log.candidates.columns else None
    return TargetPolicy(name, UniformProbs(log.offsets, slate_size, eligible), offsets=log.offsets)


def epsilon_greedy(log: DecisionLog, base: TargetPolicy, epsilon: float, *, name: str | None = None) -> TargetPolicy:
    """With probability ``epsilon`` a uniform slate, otherwise ``base``."""
    if not 0 <= epsilon <= 1:
        raise SchemaError(f"epsilon={epsilon} must be in [0, 1]")
    mix = MixtureProbs(base.table, uniform(log, base.slate_size).table, epsilon)
    return TargetPolicy(name or f"{base.name} + ε={epsilon:g}", mix, offsets=log.offsets)


def from_column(log: DecisionLog, column: str, *, name: str | None = None) -> TargetPolicy:
    """Single-slot target probabilities logged per candidate (probability of being placed at position 1)."""
    probs = log.column(column)
    if np.isnan(probs).any():
        raise SchemaError(f"target probability column {column!r} has {int(np.isnan(probs).sum())} missing values",
                          source=log.source, column=column, fix="give every logged candidate a probability (0 is fine)")
    policy = TargetPolicy(name or column, probs[:, None].astype(float))
    check_policy(log, policy)
    return policy


def from_callable(log: DecisionLog, fn: Callable[[DecisionLog], np.ndarray], slate_size: int = 1, *,
                  batch_requests: int = 100_000, name: str = "callable") -> TargetPolicy:
    """Call ``fn(batch_log)`` on batches of requests; it returns ``(n_candidates_in_batch, slate_size)``."""
    out = np.zeros((log.n_candidates, slate_size))
    for start in range(0, log.n_requests, batch_requests):
        mask = np.zeros(log.n_requests, dtype=bool)
        mask[start : start + batch_requests] = True
        part = log.select_requests(mask)
        got = np.asarray(fn(part), dtype=float)
        if got.ndim == 1:
            got = got[:, None]
        if got.shape != (part.n_candidates, slate_size):
            raise SchemaError(
                f"the policy callable returned shape {got.shape}; expected {(part.n_candidates, slate_size)}: one "
                "row per logged candidate of the batch (probabilities on candidates that were not logged cannot "
                "be evaluated)", fix="return position probabilities for exactly the batch's candidate rows")
        lo, hi = log.offsets[start], log.offsets[min(start + batch_requests, log.n_requests)]
        out[lo:hi] = got
    policy = TargetPolicy(name, out)
    check_policy(log, policy)
    return policy


def check_policy(log: DecisionLog, policy: TargetPolicy) -> None:
    """Non-negative, finite, and at most 1 per request and position (1e-9 tolerance). The implicit tables of the
    constructors (ranking, uniform, Plackett–Luce, mixtures) are valid by construction: only their size is
    checked."""
    n = policy.table.n_rows()
    if n is not None and n != log.n_candidates:
        raise SchemaError(f"policy {policy.name!r} has {n} rows for {log.n_candidates} logged candidates",
                          fix="give probabilities for exactly the logged candidate rows")
    if not isinstance(policy.table, DenseProbs):
        return
    p = policy.table.probs
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        rows = bad.any(axis=1)
        raise SchemaError(f"policy {policy.name!r} has {int(rows.sum())} candidates with negative or non-finite "
                          "probabilities", count=int(rows.sum()), examples=log.request_ids[log.request_index[rows]][:5],
                          fix="probabilities must be in [0, 1]")
    sums = np.stack([log.per_request_sum(p[:, k]) for k in range(p.shape[1])], axis=1)
    over = (sums > 1 + TOLERANCE).any(axis=1)
    if over.any():
        raise SchemaError(f"policy {policy.name!r} puts more than probability 1 on one position in "
                          f"{int(over.sum())} requests", count=int(over.sum()), examples=log.request_ids[over][:5],
                          fix="each position is filled at most once: probabilities over candidates sum to <= 1")
