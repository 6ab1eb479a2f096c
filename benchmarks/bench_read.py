"""Checked vs unchecked read of a long Parquet decision log (R requests × 50 candidates, slates of 10).

    python benchmarks/bench_read.py [--requests 100000 300000 1000000] [--candidates 50] [--rounds 3]

The log is generated once per size into ``benchmarks/out/`` (not timed), in row groups of 100k requests written
with ``pq.ParquetWriter`` so that generation fits in memory at any size. Each round runs, in alternating fresh
processes:

* **checked**: ``read_decision_log(path, require_propensity=True)``, every validation rule;
* **unchecked**: the same Parquet columns read with ``pq.read_table`` and turned into the same ``DecisionLog``
  (same columns, same dtypes, equal frames) with no rule at all, assuming sorted, valid input: the request table
  is the first row of each request, the candidate table the remaining columns, offsets from the run lengths;
* **unchecked, dictionary read**: the same, reading the request-level text columns as dictionaries as the checked
  reader does (``read_dictionary``), so that the ratio to it is the cost of validation alone.

Time is wall time of the read (after imports), also given as process CPU time (all threads), which a busy
machine disturbs less; extra memory is the process's peak resident set (VmHWM) minus
its resident set after the imports. Both are compared with the Arrow size of the Parquet columns (``Table.nbytes``
of ``pq.read_table``). Medians over rounds; the ratios are checked / unchecked and extra memory / Arrow size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CHUNK = 100_000  # requests per row group

#: the unchecked path: no rule, the same DecisionLog (shared by the benchmark and the equality test)
UNCHECKED = """
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog

def read_unchecked(path, reward_columns=("click",), dictionary=False):
    names = [c for c in schema.OPTIONAL_REQUEST_COLUMNS if c in pq.read_schema(path).names] if dictionary else []
    table = pq.read_table(path, read_dictionary=[c for c in names if c != "slate_propensity"] or None)
    nbytes = table.nbytes
    rid = table.column(schema.REQUEST_ID).combine_chunks()
    starts = np.flatnonzero(pc.not_equal(rid[1:], rid[:-1]).to_numpy(zero_copy_only=False)) + 1
    starts = np.concatenate([[0], starts])
    req_cols = [c for c in schema.REQUEST_COLUMNS if c in table.column_names]
    requests = table.select(req_cols).take(pa.array(starts)).to_pandas()
    for c in req_cols[2:]:
        requests[c] = requests[c].astype("string")
    cand = table.drop_columns(req_cols)
    del table, rid
    candidates = cand.to_pandas(self_destruct=True, split_blocks=True)
    del cand
    candidates[schema.ITEM_ID] = candidates[schema.ITEM_ID].astype("string")
    candidates[schema.ELIGIBLE] = True
    offsets = np.append(starts, len(candidates))
    return DecisionLog(requests, candidates, offsets, tuple(reward_columns), path), nbytes
"""


def _distinct_items(items: np.ndarray, req: np.ndarray, first_row: int) -> np.ndarray:
    """Random item ids made distinct within each request: a repeat (about one request in 800,000 draws one)
    gets an id above the drawn range, unique to its row, so a clean log stays clean at every size."""
    import pandas as pd

    again = pd.DataFrame({"r": req, "i": items}).duplicated().to_numpy()
    return np.where(again, 10**9 + first_row + np.arange(items.size), items)


def _chunk(rng: np.random.Generator, first: int, n_req: int, n_cand: int, slate: int):
    import pandas as pd
    import pyarrow as pa

    rows = n_req * n_cand
    req = np.repeat(np.arange(first, first + n_req), n_cand)
    rank = np.tile(np.arange(n_cand), n_req)
    shown = rank < slate
    sec = np.sort(rng.uniform(0, 14 * 86400, n_req))
    t = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(np.repeat(sec, n_cand), unit="s")
    return pa.table({
        "request_id": np.char.add("r", req.astype(str)),
        "decision_time": pa.array(t),
        "user_id": np.char.add("u", (req % 50_000).astype(str)),
        "surface": np.where(req % 3 == 0, "search", "home"),
        "ranking_policy_version": np.full(rows, "v3"),
        "item_id": np.char.add("i", _distinct_items(rng.integers(0, 10**9, rows), req, first * n_cand).astype(str)),
        "shown": shown,
        "position": pa.array(np.where(shown, rank + 1, np.nan), from_pandas=True),
        "score": rng.normal(size=rows),
        "propensity": pa.array(np.where(shown, rng.uniform(0.01, 0.09, rows), np.nan), from_pandas=True),
        "pred_new": rng.normal(size=rows),
        "click": pa.array(np.where(shown, (rng.random(rows) < 0.1).astype(float), np.nan), from_pandas=True),
    })


def make_log(path: Path, n_requests: int, n_candidates: int, slate: int = 10, seed: int = 0) -> None:
    """Synthetic long log with valid propensities, written in row groups of ``CHUNK`` requests, atomically."""
    import pyarrow.parquet as pq

    from recsys_causal.io_utils import atomic_write

    def write(p):
        rng = np.random.default_rng(seed)
        writer = None
        for first in range(0, n_requests, CHUNK):
            table = _chunk(rng, first, min(CHUNK, n_requests - first), n_candidates, slate)
            writer = writer or pq.ParquetWriter(p, table.schema)
            writer.write_table(table, row_group_size=len(table))
        writer.close()

    atomic_write(path, write)


def _checked(path: Path) -> str:
    return (
        "import recsys_causal.logs.readers as _r\n_base = _rss()\n_c0 = time.process_time()\n_t0 = time.perf_counter()\n"
        f"log, report = _r.read_decision_log({str(path)!r}, require_propensity=True)\n"
        "_secs, _cpu = time.perf_counter() - _t0, time.process_time() - _c0\n"
        "assert report.reconciles() and report.n_requests_quarantined == 0, report\n"
        "_result = {'seconds': _secs, 'cpu': _cpu, 'extra_gb': _peak_rss_gb() - _base, 'rows': log.n_candidates}\n"
    )


def _unchecked(path: Path, dictionary: bool = False) -> str:
    return (
        UNCHECKED + "_base = _rss()\n_c0 = time.process_time()\n_t0 = time.perf_counter()\n"
        f"log, nbytes = read_unchecked({str(path)!r}, dictionary={dictionary})\n"
        "_secs, _cpu = time.perf_counter() - _t0, time.process_time() - _c0\n"
        "_result = {'seconds': _secs, 'cpu': _cpu, 'extra_gb': _peak_rss_gb() - _base, 'rows': log.n_candidates, "
        "'arrow_gb': nbytes / 1024**3}\n"
    )


_RSS = """
def _rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024**2
"""


#: Arrow bytes per candidate row of the generated log (measured: 0.91 GB for 10M rows)
ROW_BYTES = 97.5


def _available_gb() -> float:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024**2
    return float("inf")


def run(n_requests: int, n_candidates: int, rounds: int) -> dict | None:
    """Medians over ``rounds`` alternating fresh-process runs of both paths at one size (``None`` when the
    Arrow columns alone, read twice over by either path, cannot fit in the memory available now)."""
    arrow_gb = n_requests * n_candidates * ROW_BYTES / 1024**3
    if 2.2 * arrow_gb + 1 > _available_gb():
        print(f"| {n_requests:,} | skipped: the Arrow columns alone are ≈ {arrow_gb:.1f} GB; a read needs "
              f"≈ {2.2 * arrow_gb + 1:.0f} GB, {_available_gb():.1f} GB available |", flush=True)
        return None
    path = OUT / f"read_{n_requests}x{n_candidates}.parquet"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        make_log(path, n_requests, n_candidates)
    codes = {"checked": _checked(path), "unchecked": _unchecked(path), "dictionary": _unchecked(path, True)}
    res: dict[str, list[dict]] = {name: [] for name in codes}
    for i in range(rounds):
        for name in (list(codes) if i % 2 == 0 else list(codes)[::-1]):
            res[name].append(measure(_RSS + codes[name]))
    med = {f"{k}_{m}": statistics.median(r[m] for r in v) for k, v in res.items() for m in ("seconds", "cpu", "extra_gb")}
    med["arrow_gb"] = res["unchecked"][0]["arrow_gb"]
    med["rows"] = res["checked"][0]["rows"]
    med["file_mb"] = path.stat().st_size / 1e6
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[200_000])
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print("| requests | rows | time checked | time unchecked | ratio | unchecked, dictionary read | ratio "
          "| CPU time ratios | extra peak checked | extra peak unchecked | Arrow columns | checked / Arrow |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.requests:
        m = run(n, args.candidates, args.rounds)
        if m is None:
            continue
        print(f"| {n:,} | {m['rows']:,} | {m['checked_seconds']:.2f} s | {m['unchecked_seconds']:.2f} s | "
              f"{m['checked_seconds'] / m['unchecked_seconds']:.2f}× | {m['dictionary_seconds']:.2f} s | "
              f"{m['checked_seconds'] / m['dictionary_seconds']:.2f}× | "
              f"{m['checked_cpu'] / m['unchecked_cpu']:.2f}×, {m['checked_cpu'] / m['dictionary_cpu']:.2f}× | "
              f"{m['checked_extra_gb']:.2f} GB | "
              f"{m['unchecked_extra_gb']:.2f} GB | {m['arrow_gb']:.2f} GB | "
              f"{m['checked_extra_gb'] / m['arrow_gb']:.2f}× |", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
