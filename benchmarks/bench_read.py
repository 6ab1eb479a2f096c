"""Read + validate a 10M-candidate-row Parquet decision log (200k requests × 50 candidates, slates of 10).

    python benchmarks/bench_read.py [--requests 200000] [--candidates 50]

The log is generated once into ``benchmarks/out/`` (not timed). The timed step runs in a fresh process:
``read_decision_log(path, require_propensity=True)`` with every validation rule; peak memory is that
process's maximum resident set size (including the interpreter and libraries, about 0.2 GB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def make_log(path: Path, n_requests: int, n_candidates: int, slate: int = 10, seed: int = 0) -> None:
    """Synthetic long log with valid propensities; generated with numpy, chunked."""
    rng = np.random.default_rng(seed)
    rows = n_requests * n_candidates
    req = np.repeat(np.arange(n_requests), n_candidates)
    rank = np.tile(np.arange(n_candidates), n_requests)
    shown = rank < slate
    t = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(np.repeat(np.sort(
        rng.uniform(0, 14 * 86400, n_requests)), n_candidates), unit="s")
    frame = pd.DataFrame({
        "request_id": np.char.add("r", req.astype(str)),
        "decision_time": t,
        "user_id": np.char.add("u", (req % 50_000).astype(str)),
        "surface": np.where(req % 3 == 0, "search", "home"),
        "ranking_policy_version": "v3",
        "item_id": np.char.add("i", rng.integers(0, 10**9, rows).astype(str)),
        "shown": shown,
        "position": np.where(shown, rank + 1, np.nan),
        "score": rng.normal(size=rows),
        "propensity": np.where(shown, rng.uniform(0.01, 0.09, rows), np.nan),
        "pred_new": rng.normal(size=rows),
        "click": np.where(shown, (rng.random(rows) < 0.1).astype(float), np.nan),
    })
    from recsys_causal.io_utils import atomic_write

    # atomically: an interrupted run must not leave a truncated file that the next run would take as complete
    atomic_write(path, lambda p: frame.to_parquet(p, index=False, row_group_size=1_000_000))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--candidates", type=int, default=50)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"read_{args.requests}x{args.candidates}.parquet"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        make_log(path, args.requests, args.candidates)
    code = (
        "from recsys_causal import read_decision_log\n"
        f"log, report = read_decision_log({str(path)!r}, require_propensity=True)\n"
        "assert report.reconciles() and report.n_requests_quarantined == 0, report\n"
        "_result = {'requests': log.n_requests, 'rows': log.n_candidates}\n"
    )
    r = measure(code)
    print(f"read + validate {r['rows']:,} candidate rows ({r['requests']:,} requests): "
          f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB, "
          f"file {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
