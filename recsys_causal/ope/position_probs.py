"""A target policy's position probabilities ``P[i, k]`` without a dense (candidates × positions) array.

The estimators need only: ``P`` at the logged (shown item, position) pairs (:meth:`PositionProbs.at`), the
per-request sums ``Σ_i P[i, k]`` (:meth:`~PositionProbs.position_sums`: support, mass outside the logged
candidates), ``Σ_i P[i, k] q̂[i, k]`` per request and position (:meth:`~PositionProbs.weighted_sums`: reward-model
terms) and the target's probability of the logged slate (:meth:`~PositionProbs.logged_slate_probability`). Each
representation computes these directly:

- :class:`RankedProbs` — a deterministic ranking: the candidate row at each position of each request,
  ``(n_requests, K)`` small integers (top-k);
- :class:`UniformProbs` — a uniformly random slate: the number of eligible candidates per request;
- :class:`PlackettLuceProbs` — Plackett–Luce (softmax) rankings: the scores; marginals are recomputed per chunk
  of requests when needed (:func:`~recsys_causal.plackett_luce.plackett_luce_blocks`), kept after the first
  pass only for one position (one float per candidate) or up to :data:`CACHE_CELLS` cells;
- :class:`MixtureProbs` — ``(1 − ε) · base + ε · uniform`` (ε-greedy);
- :class:`DenseProbs` — a user-given array (the former representation, still accepted everywhere).

Chunked passes replay exactly the arithmetic of a dense array (the same per-request sums, in the same order), so
the numbers equal those of the dense form. ``dense(offsets)`` builds the full array on demand.

>>> import numpy as np
>>> offsets = np.array([0, 3, 5])
>>> top = RankedProbs(np.array([[1, 0], [4, -1]]), n_rows=5)   # request 0: rows 1, 0; request 1: row 4 only
>>> top.position_sums(offsets).tolist()
[[1.0, 1.0], [1.0, 0.0]]
>>> top.at(offsets, np.array([0, 1, 3]), np.array([0, 0, 1]), np.array([1, 1, 0])).tolist()
[1.0, 0.0, 0.0]
>>> bool((DenseProbs(top.dense(offsets)).weighted_sums(offsets, np.arange(5.0))
...       == top.weighted_sums(offsets, np.arange(5.0))).all())
True
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from recsys_causal.errors import SchemaError
from recsys_causal.ope.request_sums import product_by_request, product_sums, requests_per_chunk
from recsys_causal.plackett_luce import plackett_luce_blocks, slate_prefix_probabilities

CACHE_CELLS = 4_000_000  # Plackett–Luce marginals up to this many cells are kept after the first pass
KEEP_ONE_POSITION = True  # ... and those of a one-position policy (one float per candidate, a column's memory)


class PositionProbs:
    """Base class: a policy's probabilities ``P[i, k]`` for the candidate rows of one log (CSR ``offsets``).

    Subclasses give :meth:`blocks`; the generic methods consume them chunk by chunk, faster subclasses override.
    """

    slate_size: int = 1
    exact_slate: bool = False  # logged_slate_probability is exact (not a product of marginals)

    def blocks(self, offsets: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(lo, hi, block)``: the dense rows of requests ``lo..hi−1``, in request order, covering every request."""
        raise NotImplementedError

    def dense(self, offsets: np.ndarray) -> np.ndarray:
        """The full ``(n_candidates, slate_size)`` array (memory: 8 bytes per candidate and position)."""
        out = np.zeros((int(offsets[-1]), self.slate_size))
        for lo, hi, block in self.blocks(offsets):
            out[offsets[lo]:offsets[hi]] = block
        return out

    def n_rows(self) -> int | None:
        """The number of candidate rows the policy covers (None when it takes them from the log)."""
        return None

    def at(self, offsets: np.ndarray, rows: np.ndarray, req: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """``P[rows, pos]`` (``req``: the request of each row; ``pos`` 0-based)."""
        rows, pos = np.asarray(rows, dtype=np.int64), np.asarray(pos, dtype=np.int64)
        order = None if rows.size < 2 or np.all(rows[1:] >= rows[:-1]) else np.argsort(rows, kind="stable")
        srows = rows if order is None else rows[order]
        out = np.empty(rows.size)
        for lo, hi, block in self.blocks(offsets):
            a, b = np.searchsorted(srows, [offsets[lo], offsets[hi]])
            idx = np.arange(a, b) if order is None else order[a:b]
            out[idx] = block[rows[idx] - offsets[lo], pos[idx]]
        return out

    def position_sums(self, offsets: np.ndarray) -> np.ndarray:
        """``Σ_i P[i, k]`` per request and position, ``(n_requests, slate_size)`` (cached per log)."""
        cached = getattr(self, "_sums", None)
        if cached is not None and cached[0] is offsets:
            return cached[1]
        sums = self.weighted_sums(offsets, None)
        self._sums = (offsets, sums)
        return sums

    def weighted_sums(self, offsets: np.ndarray, q: np.ndarray | None, n_positions: int | None = None
                      ) -> np.ndarray:
        """``Σ_i P[i, k] q[i, k]`` per request for the first ``n_positions`` positions; ``q`` per candidate
        ``(n,)`` (every position) or ``(n, J)`` (column ``k`` for position ``k + 1``, the last column for positions
        past ``J``), None for ``q = 1``."""
        m = self.slate_size if n_positions is None else n_positions
        out = np.zeros((offsets.size - 1, m))
        for lo, hi, block in self.blocks(offsets):
            part = None if q is None else q[offsets[lo]:offsets[hi]]
            for k in range(m):
                col = None if part is None else part if part.ndim == 1 else part[:, min(k, part.shape[1] - 1)]
                out[lo:hi, k] = product_sums(block[:, k], col, offsets[lo:hi + 1] - offsets[lo])
        return out

    def take(self, offsets: np.ndarray, mask: np.ndarray) -> PositionProbs:
        """The probabilities of the requests where ``mask`` is true (``DecisionLog.select_requests``)."""
        keep = np.repeat(mask, np.diff(offsets))
        parts = [block[keep[offsets[lo]:offsets[hi]]] for lo, hi, block in self.blocks(offsets)]
        return DenseProbs(np.concatenate(parts) if parts else np.zeros((0, self.slate_size)))

    def logged_slate_probability(self, offsets: np.ndarray, rows: np.ndarray, req: np.ndarray, pos: np.ndarray,
                                 pi: np.ndarray | None = None) -> np.ndarray:
        """Per request, the target's probability of placing every logged item (``rows`` shown at 0-based
        ``pos`` < slate_size, of request ``req``) at its logged position: the product of the marginals
        ``P[row, pos]`` here (exact for deterministic rankings and positions filled independently); exact
        subclasses override. 1 for a request with no logged item in the slate. ``pi``: ``P[rows, pos]`` when
        already known."""
        pi = self.at(offsets, rows, req, pos) if pi is None else pi
        return product_by_request(pi, req, offsets.size - 1)


class DenseProbs(PositionProbs):
    """A dense ``(n_candidates, K)`` array (as given by a user or a policy callable)."""

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = np.asarray(probs, dtype=float)
        if self.probs.ndim != 2:
            raise SchemaError(f"target probabilities of shape {self.probs.shape}: expected (candidates, positions)",
                              fix="pass a 2-D array, e.g. probs[:, None] for position 1 only")
        self.slate_size = self.probs.shape[1]

    def n_rows(self) -> int:
        return self.probs.shape[0]

    def blocks(self, offsets):
        yield 0, offsets.size - 1, self.probs

    def dense(self, offsets=None):
        return self.probs

    def at(self, offsets, rows, req, pos):
        return self.probs[rows, pos]

    def take(self, offsets, mask):
        return DenseProbs(self.probs[np.repeat(mask, np.diff(offsets))])


class RankedProbs(PositionProbs):
    """A deterministic ranking: ``slate_rows[r, k]`` is the candidate row at position ``k + 1`` of request
    ``r`` (−1: the position stays empty)."""

    exact_slate = True

    def __init__(self, slate_rows: np.ndarray, n_rows: int) -> None:
        self.slate_rows = np.asarray(slate_rows)
        self.slate_size = self.slate_rows.shape[1]
        self._n_rows = int(n_rows)

    def n_rows(self) -> int:
        return self._n_rows

    def blocks(self, offsets):
        step = requests_per_chunk(offsets, self.slate_size)
        for lo in range(0, offsets.size - 1, step):
            hi = min(offsets.size - 1, lo + step)
            block = np.zeros((int(offsets[hi] - offsets[lo]), self.slate_size))
            sr = self.slate_rows[lo:hi]
            r, k = np.nonzero(sr >= 0)
            block[sr[r, k] - offsets[lo], k] = 1.0
            yield lo, hi, block

    def dense(self, offsets=None):
        out = np.zeros((self._n_rows, self.slate_size))
        r, k = np.nonzero(self.slate_rows >= 0)
        out[self.slate_rows[r, k], k] = 1.0
        return out

    def at(self, offsets, rows, req, pos):
        return (self.slate_rows[req, pos] == rows).astype(float)

    def position_sums(self, offsets):
        return (self.slate_rows >= 0).astype(float)

    def logged_slate_probability(self, offsets, rows, req, pos, pi=None):
        pi = self.at(offsets, rows, req, pos) if pi is None else pi
        hit = np.bincount(req, weights=pi, minlength=offsets.size - 1)
        return (hit == np.bincount(req, minlength=offsets.size - 1)).astype(float)

    def weighted_sums(self, offsets, q, n_positions=None):
        sr = self.slate_rows[:, : self.slate_size if n_positions is None else n_positions]
        if q is None:
            return (sr >= 0).astype(float)
        safe = np.where(sr >= 0, sr, 0)
        cols = np.minimum(np.arange(sr.shape[1]), q.shape[1] - 1)[None, :] if q.ndim == 2 else None
        vals = q[safe] if q.ndim == 1 else q[safe, cols]
        return np.where(sr >= 0, vals, 0.0)

    def take(self, offsets, mask):
        sub = self.slate_rows[mask]
        sizes = np.diff(offsets)[mask]
        shift = (np.concatenate([[0], np.cumsum(sizes)[:-1]]) - offsets[:-1][mask])[:, None]
        return RankedProbs(np.where(sub >= 0, sub + shift, -1).astype(sub.dtype), int(sizes.sum()))


class UniformProbs(PositionProbs):
    """A uniformly random slate of eligible candidates: ``1 / n_eligible`` at every position that can be filled."""

    exact_slate = True

    def __init__(self, offsets: np.ndarray, slate_size: int, eligible: np.ndarray | None = None) -> None:
        sizes = np.diff(offsets)
        self.slate_size = slate_size
        self.eligible = None if eligible is None else np.asarray(eligible, dtype=bool)
        elig = np.ones(int(offsets[-1])) if eligible is None else self.eligible.astype(float)
        self.n_elig = np.bincount(np.repeat(np.arange(sizes.size), sizes), weights=elig, minlength=sizes.size)

    def block(self, offsets: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """The dense rows of requests ``lo..hi−1`` (read-only when every position of every request can be
        filled)."""
        sizes, n = np.diff(offsets[lo:hi + 1]), self.n_elig[lo:hi]
        per = np.repeat(np.divide(1.0, n, out=np.zeros(n.shape), where=n > 0), sizes)
        if self.eligible is not None:
            per *= self.eligible[offsets[lo]:offsets[hi]]
        if (n >= self.slate_size).all():  # every position fillable: the same numbers without the mask
            return per[:, None] if self.slate_size == 1 else np.broadcast_to(per[:, None], (per.size, self.slate_size))
        fillable = np.arange(self.slate_size)[None, :] < np.repeat(n, sizes)[:, None]
        return per[:, None] * fillable

    def blocks(self, offsets):
        step = requests_per_chunk(offsets, self.slate_size)
        for lo in range(0, offsets.size - 1, step):
            hi = min(offsets.size - 1, lo + step)
            yield lo, hi, self.block(offsets, lo, hi)

    def take(self, offsets, mask):
        out = UniformProbs.__new__(UniformProbs)
        out.slate_size, out.n_elig = self.slate_size, self.n_elig[mask]
        out.eligible = None if self.eligible is None else self.eligible[np.repeat(mask, np.diff(offsets))]
        return out

    def at(self, offsets, rows, req, pos):
        n = self.n_elig[req]
        elig = 1.0 if self.eligible is None else self.eligible[rows]
        per = np.divide(1.0, n, out=np.zeros(n.shape), where=n > 0) * elig
        return per * (pos < n)

    def logged_slate_probability(self, offsets, rows, req, pos, pi=None):
        n = self.n_elig[req]
        ok = np.ones(rows.size, dtype=bool) if self.eligible is None else self.eligible[rows]
        count = np.bincount(req, minlength=offsets.size - 1)
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        order = np.argsort(req, kind="stable")
        j = np.empty(rows.size, dtype=np.int64)
        j[order] = np.arange(rows.size) - first[req[order]]  # 0-based index of the item within its request
        factor = np.where(ok & (n - j > 0), 1.0 / np.maximum(n - j, 1), 0.0)
        return product_by_request(factor, req, offsets.size - 1)


class PlackettLuceProbs(PositionProbs):
    """Plackett–Luce rankings with weights ``exp(score / T)`` (exact marginals for ≤ 3 positions, seeded
    Monte Carlo beyond), recomputed per chunk of requests on every pass."""

    exact_slate = True

    def __init__(self, scores: np.ndarray, offsets: np.ndarray, slate_size: int, temperature: float = 1.0, *,
                 eligible: np.ndarray | None = None, n_samples: int = 2000, seed: int = 0) -> None:
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        if slate_size < 1:
            raise ValueError("slate_size must be at least 1")
        self.scores, self.offsets, self.slate_size = np.asarray(scores, dtype=float), offsets, slate_size
        self.options = {"eligible": eligible, "n_samples": n_samples, "seed": seed}
        self.temperature = temperature

    def n_rows(self) -> int:
        return self.scores.size

    def blocks(self, offsets):
        if getattr(self, "_dense", None) is not None:
            yield 0, self.offsets.size - 1, self._dense
            return
        if (KEEP_ONE_POSITION and self.slate_size == 1) or self.scores.size * self.slate_size <= CACHE_CELLS:
            # one float per candidate (a column's memory) or a small array: computed once and kept
            self._dense = np.zeros((self.scores.size, self.slate_size))
            for lo, hi, block in self._chunks():
                self._dense[self.offsets[lo]:self.offsets[hi]] = block
            yield 0, self.offsets.size - 1, self._dense
            return
        yield from self._chunks()

    def at(self, offsets, rows, req, pos):
        if getattr(self, "_dense", None) is not None:  # the kept marginals: read them directly
            return self._dense[np.asarray(rows, dtype=np.int64), np.asarray(pos, dtype=np.int64)]
        return super().at(offsets, rows, req, pos)

    def _chunks(self):
        return plackett_luce_blocks(self.scores, self.offsets, self.slate_size, self.temperature, **self.options)

    def logged_slate_probability(self, offsets, rows, req, pos, pi=None):
        position = np.full(self.scores.size, np.nan)
        position[rows] = pos + 1.0
        prefix = slate_prefix_probabilities(self.scores, self.offsets, position, self.temperature,
                                            eligible=self.options["eligible"])[rows]
        out = super().logged_slate_probability(offsets, rows, req, pos, pi)  # marginals where positions have gaps
        last = np.zeros(offsets.size - 1, dtype=np.int64)
        np.maximum.at(last, req, pos + 1)
        at_last = (pos + 1 == last[req]) & np.isfinite(prefix)
        out[req[at_last]] = prefix[at_last]
        return out


class MixtureProbs(PositionProbs):
    """``(1 − ε) · base + ε · uniform`` (ε-greedy)."""

    def __init__(self, base: PositionProbs, uniform: UniformProbs, epsilon: float) -> None:
        self.base, self.uniform, self.epsilon = base, uniform, float(epsilon)
        self.slate_size = base.slate_size
        self.exact_slate = base.exact_slate

    def n_rows(self) -> int | None:
        return self.base.n_rows()

    def blocks(self, offsets):
        e, step = self.epsilon, requests_per_chunk(offsets, self.slate_size)
        for lo, hi, block in self.base.blocks(offsets):
            for a in range(lo, hi, step):  # bounded temporaries even when the base yields one large block
                b = min(hi, a + step)
                part = block[offsets[a] - offsets[lo]:offsets[b] - offsets[lo]]
                yield a, b, (1 - e) * part + e * self.uniform.block(offsets, a, b)

    def take(self, offsets, mask):
        return MixtureProbs(self.base.take(offsets, mask), self.uniform.take(offsets, mask), self.epsilon)

    def at(self, offsets, rows, req, pos):
        e = self.epsilon
        return (1 - e) * self.base.at(offsets, rows, req, pos) + e * self.uniform.at(offsets, rows, req, pos)

    def logged_slate_probability(self, offsets, rows, req, pos, pi=None):
        e = self.epsilon
        return ((1 - e) * self.base.logged_slate_probability(offsets, rows, req, pos)
                + e * self.uniform.logged_slate_probability(offsets, rows, req, pos))


def as_table(probs) -> PositionProbs:
    """The position probabilities of a target policy (its ``table``), an implicit table or a dense array."""
    probs = getattr(probs, "table", probs)
    return probs if isinstance(probs, PositionProbs) else DenseProbs(probs)

