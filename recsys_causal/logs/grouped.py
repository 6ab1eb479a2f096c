"""Validation kernels for a long log grouped by request (each request's rows contiguous), on integer codes and
Arrow arrays.

A log written request by request is the common case; for it, request codes come from run boundaries, and
"differs within a request" or "repeats within a request" become comparisons of neighbouring rows or of small
per-slice dictionaries instead of hash tables over every row. Each function returns exactly what the general
path (``pd.factorize`` over all rows) would, or ``None`` where its precondition does not hold.

>>> import pandas as pd
>>> ids = pd.Series(["r1", "r1", "r2", "r3", "r3"], dtype="string")
>>> codes, uniques = run_codes(ids)
>>> codes.tolist(), uniques.tolist()
([0, 0, 1, 2, 2], ['r1', 'r2', 'r3'])
>>> items = pd.Series(["a", "b", "a", "c", "c"], dtype="string")
>>> duplicate_requests(codes, arrow_strings(items), 3).tolist()
[False, False, True]
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: rows per dictionary in :func:`duplicate_requests` (small hash tables stay in cache)
SLICE_ROWS = 65_536


def arrow_strings(col: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow array behind an Arrow-backed string column (no copy), else ``None``."""
    dtype = col.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return col.array.__arrow_array__()
    return None


def run_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize`` of request ids that are grouped in runs, each id in one run only and none missing: the
    run index of each row and the id of each run (``None`` when the ids are not so arranged)."""
    arr = arrow_strings(ids)
    if arr is None or arr.null_count or len(arr) == 0:
        return None
    change = pc.not_equal(arr[1:], arr[:-1]).to_numpy(zero_copy_only=False)
    first = np.concatenate([[True], change])
    first_ids = pc.filter(arr, pa.array(first))  # chunk by chunk (a take would join the chunks first)
    if pc.count_distinct(first_ids).as_py() != len(first_ids):
        return None
    codes = first.astype(np.int64)
    np.cumsum(codes, out=codes)
    codes -= 1
    return codes, np.asarray(first_ids.to_pylist(), dtype=object)


def is_grouped(codes: np.ndarray) -> bool:
    """Every row has a request and each request's rows are contiguous, in first-appearance order."""
    return codes.size == 0 or (int(codes[0]) >= 0 and bool(np.all(codes[1:] >= codes[:-1])))


def run_starts(codes: np.ndarray) -> np.ndarray:
    """First row of each run of equal codes."""
    starts = np.flatnonzero(codes[1:] != codes[:-1])
    starts += 1
    return np.concatenate([[0], starts]) if codes.size else starts


def differs_within(values, codes: np.ndarray, n_req: int) -> np.ndarray | None:
    """Per request, whether ``values`` (a column of a grouped log) is not constant over its rows (missing values
    equal each other, as in ``pd.factorize``); ``None`` for a column type without a neighbour comparison."""
    step = neighbour_differs(values)
    if step is None:
        return None
    hit = np.zeros(n_req, dtype=bool)
    same = codes[1:] == codes[:-1]
    hit[codes[1:][step & same]] = True
    return hit


def neighbour_differs(values) -> np.ndarray | None:
    """``values[i + 1] != values[i]`` with missing equal to missing and unequal to any value."""
    if isinstance(values, pd.Series):
        arr = arrow_strings(values)
        if arr is not None:
            a, b = arr[1:], arr[:-1]
            ne = pc.fill_null(pc.not_equal(a, b), False)
            return pc.or_(ne, pc.xor(pc.is_null(a), pc.is_null(b))).to_numpy(zero_copy_only=False)
        if isinstance(values.dtype, pd.CategoricalDtype):
            v = values.cat.codes.to_numpy()  # -1 for every missing value
            return v[1:] != v[:-1]
        if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind in "mM":
            v = values.array.asi8  # NaT is one integer: missing equals missing
            return v[1:] != v[:-1]
        if values.dtype.kind in "iub":
            v = values.to_numpy()
            return v[1:] != v[:-1]
        if values.dtype.kind == "f":
            v = values.to_numpy()
            nan = np.isnan(v)
            return (v[1:] != v[:-1]) & ~(nan[1:] & nan[:-1])
    return None


def duplicate_requests(codes: np.ndarray, items: pa.ChunkedArray, n_req: int) -> np.ndarray:
    """Per request of a grouped log, whether one item id occurs twice among its rows (missing ids ignored).

    Items are dictionary-encoded per slice of about :data:`SLICE_ROWS` rows cut at request boundaries, so that
    each request's items share one dictionary; only items seen twice in a slice are then paired with their
    request and sorted. Slices run on ``pa.cpu_count()`` threads (Arrow's own CPU pool size, as for reading)."""
    n = len(codes)
    hit = np.zeros(n_req, dtype=bool)
    if n == 0:
        return hit
    starts = run_starts(codes)
    # each slice starts at the first row of the request holding row k * SLICE_ROWS
    cuts = np.unique(starts[np.searchsorted(starts, np.arange(0, n, SLICE_ROWS), side="right") - 1])
    bounds = list(zip(cuts.tolist(), np.append(cuts[1:], n).tolist(), strict=True))

    def repeats(bound: tuple[int, int]) -> np.ndarray:
        a, b = bound
        part = items.slice(a, b - a)
        part = part.chunk(0) if part.num_chunks == 1 else part.combine_chunks()
        enc = pc.dictionary_encode(part).indices
        local = pc.fill_null(enc, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1  # 0: missing
        seen = np.bincount(local)
        seen[0] = 0
        if seen.max(initial=0) < 2:
            return np.zeros(0, dtype=np.int64)
        rows = np.flatnonzero(seen[local] > 1)
        key = np.sort(codes[a:b][rows] * seen.size + local[rows])
        return key[1:][key[1:] == key[:-1]] // seen.size

    workers = max(1, min(pa.cpu_count(), len(bounds)))
    if workers == 1:
        found = [repeats(bound) for bound in bounds]
    else:
        with ThreadPoolExecutor(workers) as pool:
            found = list(pool.map(repeats, bounds))
    for r in found:
        hit[r] = True
    return hit


def take_rows(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``frame.iloc[rows]`` with a fresh index; Arrow-backed text columns are filtered chunk by chunk (a take
    would first join every chunk of the column). ``rows`` must be increasing."""
    mask = None
    out = {}
    for col in frame.columns:
        arr = arrow_strings(frame[col])
        if arr is None:
            out[col] = frame[col].iloc[rows].reset_index(drop=True)
            continue
        if mask is None:
            mask = np.zeros(len(frame), dtype=bool)
            mask[rows] = True
        out[col] = pd.Series(frame[col].dtype.__from_arrow__(arr.filter(pa.array(mask))), name=col)
    return pd.DataFrame(out, columns=frame.columns)


def duplicated_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows whose (a, b) integer pair occurs more than once (a stable sort, no hash table)."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    key = a.astype(np.int64) * (int(b.max()) + 2) + (b.astype(np.int64) + 1)
    order = np.argsort(key, kind="stable")
    s = key[order]
    eq = s[1:] == s[:-1]
    dup = np.zeros(key.size, dtype=bool)
    dup[1:] |= eq
    dup[:-1] |= eq
    out = np.empty(key.size, dtype=bool)
    out[order] = dup
    return out
