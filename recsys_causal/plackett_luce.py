"""Marginal position probabilities of Plackett–Luce (softmax without replacement) rankings over CSR candidates.

``P[i, k]`` is the probability that candidate ``i`` is placed at position ``k + 1``. Exact closed forms are used
for slates of up to :data:`EXACT_MAX_SLATE` positions; longer slates use a seeded Gumbel-top-k Monte Carlo
approximation with ``n_samples`` rankings per request (standard error at most ``0.5 / sqrt(n_samples)``).

>>> import numpy as np
>>> P = plackett_luce_marginals(np.log([1.0, 2.0, 1.0]), np.array([0, 3]), slate_size=2)
>>> np.round(P[:, 0], 4).tolist()   # first position: softmax
[0.25, 0.5, 0.25]
>>> np.round(P.sum(axis=0), 12).tolist()   # each position is filled once
[1.0, 1.0]

Prefix (joint) probabilities of a logged ranking: ``P(slate starts with a_1, …, a_k)``, exact for PL and for an
ε-mixture of PL and a uniformly random slate (what the cascade estimator needs under without-replacement logging):

>>> pre = slate_prefix_probabilities(np.log([1.0, 2.0, 1.0]), np.array([0, 3]), np.array([2.0, 1.0, np.nan]))
>>> np.round(pre, 6).tolist()   # b first (2/4), then a (1/2): 0.5 and 0.25
[0.25, 0.5, nan]
"""

from __future__ import annotations

import numpy as np

EXACT_MAX_SLATE = 3
_CHUNK_CELLS = 4_000_000


def plackett_luce_marginals(
    scores: np.ndarray,
    offsets: np.ndarray,
    slate_size: int,
    temperature: float = 1.0,
    *,
    eligible: np.ndarray | None = None,
    n_samples: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """Marginal probabilities ``(n_candidates, slate_size)`` of PL rankings with weights ``exp(score / T)``.

    Ineligible candidates (``eligible == False``) get weight 0 and never appear.
    """
    scores = np.asarray(scores, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    if slate_size < 1:
        raise ValueError("slate_size must be at least 1")
    out = np.zeros((scores.size, slate_size))
    if scores.size == 0:
        return out
    for lo, hi, block in plackett_luce_blocks(scores, offsets, slate_size, temperature, eligible=eligible,
                                              n_samples=n_samples, seed=seed):
        out[offsets[lo]:offsets[hi]] = block
    return out


def plackett_luce_blocks(scores: np.ndarray, offsets: np.ndarray, slate_size: int, temperature: float = 1.0, *,
                         eligible: np.ndarray | None = None, n_samples: int = 2000, seed: int = 0):
    """The marginals of :func:`plackett_luce_marginals` by chunks of requests: yields ``(lo, hi, block)`` with
    ``block`` the rows of requests ``lo..hi-1`` (``(offsets[hi] − offsets[lo], slate_size)``). Every pass
    replays the same chunks and random numbers, so a caller can recompute what it needs instead of storing
    the whole array."""
    scores = np.asarray(scores, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    n_req = len(offsets) - 1
    if scores.size == 0:
        return
    sizes = np.diff(offsets)
    n_max = int(sizes.max())
    chunk = max(1, _CHUNK_CELLS // max(1, n_max * n_max if slate_size <= EXACT_MAX_SLATE else n_max * n_samples))
    rng = np.random.default_rng(seed)
    for start in range(0, n_req, chunk):
        stop = min(n_req, start + chunk)
        lo, hi = offsets[start], offsets[stop]
        if hi == lo:
            yield start, stop, np.zeros((0, slate_size))
            continue
        w, rows, cols = _padded_weights(scores[lo:hi], offsets[start : stop + 1] - lo, temperature,
                                        None if eligible is None else eligible[lo:hi])
        if slate_size <= EXACT_MAX_SLATE:
            dense = _exact(w, slate_size)
        else:
            dense = _monte_carlo(w, slate_size, n_samples, rng)
        yield start, stop, dense[rows, cols]


def uniform_slate_marginals(offsets: np.ndarray, slate_size: int, eligible: np.ndarray | None = None) -> np.ndarray:
    """Marginals of a uniformly random slate: ``1 / n_eligible`` at every position that can be filled."""
    offsets = np.asarray(offsets, dtype=np.int64)
    sizes = np.diff(offsets)
    req = np.repeat(np.arange(sizes.size), sizes)
    elig = np.ones(offsets[-1], dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    n_elig = np.bincount(req, weights=elig.astype(float), minlength=sizes.size)
    per = np.divide(1.0, n_elig, out=np.zeros(n_elig.shape), where=n_elig > 0)[req] * elig
    fillable = np.arange(slate_size)[None, :] < n_elig[req][:, None]
    return per[:, None] * fillable


def padded_scores(scores: np.ndarray, offsets: np.ndarray, temperature: float,
                  eligible: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``scores / temperature`` as a requests × max-candidates matrix, ``-inf`` for padding and ineligible
    candidates, with each candidate row's matrix row and column."""
    sizes = np.diff(offsets)
    n_req, n_max = sizes.size, int(sizes.max())
    rows = np.repeat(np.arange(n_req), sizes)
    cols = np.arange(scores.size) - offsets[rows]
    s = np.full((n_req, n_max), -np.inf)
    s[rows, cols] = scores / temperature
    if eligible is not None:
        s[rows[~eligible], cols[~eligible]] = -np.inf
    return s, rows, cols


def _padded_weights(scores, offsets, temperature, eligible):
    s, rows, cols = padded_scores(scores, offsets, temperature, eligible)
    top = np.max(s, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(s - top)
    return w, rows, cols


def _safe_div(a, b):
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 1e-300)


def _exact(w: np.ndarray, k: int) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    p1 = _safe_div(w, total)
    cols = [p1]
    if k >= 2:
        rest = total - w  # W - w_j
        s = p1 * _safe_div(np.ones_like(w), rest)  # p1_j / (W - w_j)
        s_sum = s.sum(axis=1, keepdims=True)
        cols.append(w * (s_sum - s))
    if k >= 3:
        # M[j, l] = p1_j * w_l / (W - w_j) * 1 / (W - w_j - w_l), j != l
        a = s[:, :, None] * w[:, None, :]
        denom = total[:, :, None] - w[:, :, None] - w[:, None, :]
        m = _safe_div(a, denom)
        idx = np.arange(w.shape[1])
        m[:, idx, idx] = 0.0
        t = m.sum(axis=(1, 2))[:, None]
        cols.append(w * (t - m.sum(axis=2) - m.sum(axis=1)))
    return np.stack(cols, axis=2)


def _monte_carlo(w: np.ndarray, k: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    n_req, n_max = w.shape
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    out = np.zeros((n_req, n_max, k))
    g = logw[:, None, :] + rng.gumbel(size=(n_req, n_samples, n_max))
    top = np.argsort(-g, axis=2)[:, :, :k]
    filled = top.shape[2]  # fewer than k when no request has k candidates
    r = np.repeat(np.arange(n_req), n_samples * filled)
    pos = np.tile(np.arange(filled), n_req * n_samples)
    np.add.at(out, (r, top.ravel(), pos), 1.0)
    out /= n_samples
    out[~np.isfinite(logw)] = 0.0
    return out


def slate_prefix_probabilities(
    scores: np.ndarray,
    offsets: np.ndarray,
    position: np.ndarray,
    temperature: float = 1.0,
    *,
    epsilon: float = 0.0,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Exact prefix probabilities of logged rankings, per candidate row.

    For a candidate shown at position ``k`` (``position`` is 1-based, NaN where not shown), the probability
    that the logging policy's slate starts with the items logged at positions ``1..k``, under the mixture
    ``(1 − ε) · PL(exp(score / T)) + ε · uniform`` over eligible candidates:
    ``(1 − ε) Π_{j ≤ k} w(a_j) / (W − Σ_{i < j} w(a_i)) + ε Π_{j ≤ k} 1 / (n_eligible − j + 1)``.
    NaN for rows not shown and for requests whose shown positions are not ``1..m`` without gaps.
    """
    scores = np.asarray(scores, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    position = np.asarray(position, dtype=np.float64)
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    out = np.full(scores.size, np.nan)
    if scores.size == 0:
        return out
    sizes = np.diff(offsets)
    req = np.repeat(np.arange(sizes.size), sizes)
    elig = np.ones(scores.size, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    s = np.where(elig, scores / temperature, -np.inf)
    top = np.full(sizes.size, -np.inf)
    np.maximum.at(top, req, s)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(s - top[req])
    total = np.bincount(req, weights=w, minlength=sizes.size)
    n_elig = np.bincount(req, weights=elig.astype(float), minlength=sizes.size)
    shown = np.nonzero(np.isfinite(position))[0]
    order = shown[np.lexsort((position[shown], req[shown]))]
    r, pos = req[order], position[order]
    start = np.r_[True, r[1:] != r[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(r.size), 0))
    rank = np.arange(r.size) - first + 1  # 1..m within the request
    gapless = np.ones(sizes.size, dtype=bool)
    gapless[r[pos != rank]] = False
    before = np.cumsum(w[order]) - w[order]
    before -= before[first]  # weight already placed in the request
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pl = np.log(w[order]) - np.log(total[r] - before)
        log_uni = np.where(elig[order], -np.log(n_elig[r] - rank + 1), -np.inf)
    log_pl, log_uni = np.nan_to_num(log_pl, nan=-np.inf), np.nan_to_num(log_uni, nan=-np.inf)
    pl = np.exp(_group_cumsum(log_pl, first))
    uni = np.exp(_group_cumsum(log_uni, first))
    out[order] = np.where(gapless[r], (1 - epsilon) * pl + epsilon * uni, np.nan)
    return out


def _group_cumsum(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Cumulative sum within consecutive groups (``first`` is the index of each element's group start);
    -inf terms stay -inf for the rest of their group."""
    neg = np.isneginf(x)
    c = np.cumsum(np.where(neg, 0.0, x))
    c = c - c[first] + np.where(neg, 0.0, x)[first]
    dead = np.cumsum(neg)
    dead = dead - dead[first] + neg[first]
    return np.where(dead > 0, -np.inf, c)
