"""Out-of-core scale: OPE and A/B on a Hive-partitioned Parquet log through DuckDB and through Spark local[2].

    python benchmarks/bench_scale.py [--requests 1000000] [--candidates 50] [--dir /tmp/recsys_causal_scale]
                                     [--skip-spark] [--memory-limit 4GB]

The log (``requests × candidates`` rows, 10 daily partitions, slates of 10, an A/B split by user) is generated
once in chunks and written to ``--dir`` (not timed; reused when present). Each step then runs in a fresh
process, measured for wall time and peak resident memory of that process (for Spark: the Python driver; the
JVM's heap is set by ``spark.driver.memory``):

* DuckDB OPE: two target policies (softmax, ε-greedy) × IPS / SNIPS / DR / SNDR with intervals, lifts and
  support diagnostics, DuckDB limited to ``--memory-limit``;
* DuckDB A/B: unit metrics over a 7-day window (200k users), SRM and lifts of two means and a ratio metric;
* the same two steps on Spark local[2] from ``spark.read.parquet``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DAYS = 10


def measure(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; report its wall time, its own peak RSS and that of any child JVM."""
    import subprocess

    wrapped = ("import time, json, resource, os, glob\n_t0 = time.perf_counter()\n" + code + """
_seconds = time.perf_counter() - _t0
_jvm = 0
for status in glob.glob("/proc/[0-9]*/status"):
    try:
        text = open(status).read()
    except OSError:
        continue
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if fields.get("PPid", "").strip() == str(os.getpid()) and "java" in fields.get("Name", ""):
        _jvm = max(_jvm, int(fields.get("VmHWM", "0 kB").split()[0]))
print(json.dumps({**_result, "seconds": _seconds,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
                  "jvm_peak_rss_gb": _jvm / 1024**2}))
""")
    proc = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def generate(root: Path, n_requests: int, n_candidates: int, chunk: int = 100_000) -> int:
    """Write the log in chunks of requests (memory ∝ one chunk); returns the number of candidate rows."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n_users = max(n_requests // 5, 10)
    tmp = root.with_name(root.name + ".partial")
    rows = 0
    for part, start in enumerate(range(0, n_requests, chunk)):
        r = min(chunk, n_requests - start)
        n = r * n_candidates
        req = np.arange(start, start + r)
        user = rng.integers(0, n_users, r)
        day = rng.integers(0, DAYS, r)
        t = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(day, "D") + pd.to_timedelta(
            rng.integers(0, 86_400, r), "s")
        variant = np.where(user % 2 == 0, "control", "treatment")
        rank = np.tile(np.arange(n_candidates), r)
        shown = rank < 10
        click_p = np.where(np.repeat(variant == "treatment", n_candidates), 0.11, 0.10)
        frame = pd.DataFrame({
            "request_id": np.repeat(np.char.add("r", req.astype(str)), n_candidates),
            "decision_time": np.repeat(t.to_numpy(), n_candidates),
            "user_id": np.repeat(np.char.add("u", user.astype(str)), n_candidates),
            "experiment_id": "exp1",
            "variant": np.repeat(variant, n_candidates),
            "item_id": np.char.add("i", rng.integers(0, 10**6, n).astype(str)),
            "shown": shown,
            "position": np.where(shown, rank + 1, np.nan),
            "propensity": np.where(shown, rng.uniform(0.02, 0.09, n), np.nan),
            "pred_new": rng.normal(size=n),
            "pred_q": rng.uniform(0.0, 0.3, n),
            "click": np.where(shown, (rng.random(n) < click_p).astype(float), np.nan),
        })
        frame["decision_time"] = frame["decision_time"].dt.tz_localize("UTC") if frame[
            "decision_time"].dt.tz is None else frame["decision_time"]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        days = np.repeat(day, n_candidates)
        for d in range(DAYS):
            out = tmp / f"date=2026-06-{d + 1:02d}"
            out.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.filter(pa.array(days == d)), out / f"part-{part:05d}.parquet",
                           coerce_timestamps="us", allow_truncated_timestamps=True)
        rows += n
    tmp.rename(root)
    return rows


OPE = """
from recsys_causal.ope.single_slot import IPS, SNIPS, DR, SNDR
from recsys_causal.ope import evaluate_policies
from recsys_causal.scale import EpsilonGreedy, Softmax
{engine}
pols = {{"soft": Softmax("pred_new", temperature=0.5), "eps": EpsilonGreedy(Softmax("pred_new", temperature=0.5), 0.1)}}
res = evaluate_policies(engine, pols, rewards=["click"], estimators=[IPS(), SNIPS(), DR(), SNDR()],
                        reward_model="pred_q")
ips = next(e for e in res.estimates if e.details["estimator"] == "IPS" and e.details["quantity"] == "value")
_result = {{"estimates": len(res.estimates), "ips_soft": ips.value, "requests_used": ips.n}}
"""

AB = """
from recsys_causal.experiments import Metric
from recsys_causal.scale import analyze_ab_sql, unit_metrics_sql
{engine}
units = unit_metrics_sql(engine, window="7D", as_of="2026-06-20T00:00:00Z", experiment_id="exp1", outcomes=["click"])
r = analyze_ab_sql(units, metrics=[Metric.mean("click"), Metric.mean("n_requests", role="secondary"),
                                   Metric.ratio("ctr", "click", "impressions")],
                   expected_split={{"control": 0.5, "treatment": 0.5}})
lift = r.lift("ctr", relative=True)
_result = {{"units": sum(r.n_units.values()), "srm_p": r.srm.p_value, "ctr_rel_lift": lift.value}}
"""

DUCKDB = """
from recsys_causal.scale import DuckDBEngine
engine = DuckDBEngine.from_parquet({path!r}, memory_limit={mem!r}, temp_directory={tmp!r})
"""

SPARK = """
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("bench").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "8g").config("spark.sql.shuffle.partitions", "16")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
from recsys_causal.scale import SparkEngine
engine = SparkEngine(spark.read.parquet({path!r}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--dir", default="/tmp/recsys_causal_scale")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--steps", default="duckdb_ope,duckdb_ab,spark_ope,spark_ab")
    args = ap.parse_args()
    root = Path(args.dir) / f"log_{args.requests}x{args.candidates}"
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.requests * args.candidates:,} candidate rows in {root} ...", flush=True)
        generate(root, args.requests, args.candidates)
    size_gb = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 1024**3
    print(f"log: {args.requests:,} requests × {args.candidates} candidates = {args.requests * args.candidates:,} "
          f"rows, {size_gb:.2f} GB Parquet in {DAYS} partitions", flush=True)
    tmp = str(Path(args.dir) / "duckdb_tmp")
    engines = {"duckdb": DUCKDB.format(path=str(root), mem=args.memory_limit, tmp=tmp),
               "spark": SPARK.format(path=str(root))}
    for step in args.steps.split(","):
        kind, what = step.split("_")
        if kind == "spark" and args.skip_spark:
            continue
        code = (OPE if what == "ope" else AB).format(engine=engines[kind])
        out = measure(code)
        jvm = f" (JVM {out['jvm_peak_rss_gb']:.2f} GB)" if out["jvm_peak_rss_gb"] else ""
        rest = {k: v for k, v in out.items() if k not in ("seconds", "peak_rss_gb", "jvm_peak_rss_gb")}
        print(f"{step:<11} {out['seconds']:7.1f} s   peak RSS {out['peak_rss_gb']:.2f} GB{jvm}   {json.dumps(rest)}",
              flush=True)


if __name__ == "__main__":
    main()
