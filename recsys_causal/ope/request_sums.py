"""Per-request sums over a log's candidate rows in CSR layout (``offsets[r]:offsets[r + 1]`` are request
``r``'s rows): sums of a column, of a product of two columns without a full-size temporary, products of
per-entry factors, and the request of each selected row.

>>> import numpy as np
>>> offsets = np.array([0, 2, 2, 5])
>>> segment_sums(np.arange(5.0), offsets).tolist()
[1.0, 0.0, 9.0]
>>> requests_of(offsets, np.array([1, 3, 4])).tolist()
[0, 2, 2]
"""

from __future__ import annotations

import numpy as np

CHUNK_CELLS = 4_000_000  # rows × columns of one chunk of requests (a reused buffer, a recomputed block)


def segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-request sums of a candidate-level 1-D array (the arithmetic of ``DecisionLog.per_request_sum``; empty
    requests sum to 0)."""
    values = np.asarray(values, dtype=np.float64)
    sizes = np.diff(offsets)
    out = np.zeros(sizes.size)
    nonempty = sizes > 0
    if values.size:
        out[nonempty] = np.add.reduceat(values, offsets[:-1][nonempty])
    return out



def requests_per_chunk(offsets: np.ndarray, width: int = 1) -> int:
    """Requests per chunk so that a chunk of their rows × ``width`` columns holds about :data:`CHUNK_CELLS`
    cells (at least one request)."""
    return max(1, CHUNK_CELLS // max(1, width * max(int(np.diff(offsets).max(initial=1)), 1)))


def product_sums(a: np.ndarray, b: np.ndarray | None, offsets: np.ndarray) -> np.ndarray:
    """Per-request sums of ``a · b`` (``b`` None: of ``a``), :func:`segment_sums` of the product, computed over
    chunks of whole requests in one reused buffer: no full-size temporary. The sums equal those of the full
    product bit for bit (each request's terms are added in the same order).

    >>> product_sums(np.arange(5.0), np.full(5, 2.0), np.array([0, 2, 2, 5])).tolist()
    [2.0, 0.0, 18.0]
    """
    n_req = offsets.size - 1
    if b is None or n_req == 0 or offsets[-1] <= CHUNK_CELLS:
        return segment_sums(a if b is None else a * b, offsets)
    out = np.empty(n_req)
    buf = np.empty(CHUNK_CELLS)
    step = requests_per_chunk(offsets)
    for lo in range(0, n_req, step):
        hi = min(n_req, lo + step)
        r0, r1 = int(offsets[lo]), int(offsets[hi])
        if r1 - r0 > buf.size:  # a request larger than the buffer
            buf = np.empty(r1 - r0)
        v = np.multiply(a[r0:r1], b[r0:r1], out=buf[:r1 - r0])
        out[lo:hi] = segment_sums(v, offsets[lo:hi + 1] - r0)
    return out



def requests_of(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The request index of each candidate row (``rows`` ascending, as from ``np.flatnonzero``), without the
    log's per-candidate request index."""
    counts = np.diff(np.searchsorted(rows, offsets))
    return np.repeat(np.arange(offsets.size - 1), counts)



def product_by_request(p: np.ndarray, req: np.ndarray, n_requests: int) -> np.ndarray:
    """``Π p`` per request (1 for a request without entries), through sums of logs."""
    zero = np.bincount(req, weights=(p <= 0).astype(float), minlength=n_requests) > 0
    logs = np.bincount(req, weights=np.log(np.where(p > 0, p, 1.0)), minlength=n_requests)
    return np.where(zero, 0.0, np.exp(logs))
