"""Reports on a busy machine: the thread cap keeps model fits from stalling when the cores are taken.

    python benchmarks/bench_busy.py [--configs reports/examples/longterm.yaml reports/examples/holdout.yaml]
                                    [--repeat 3]

Each example report (``causal-report <config>``, writing into a temporary folder) runs in a fresh process:

- ``idle``: nothing else running;
- ``busy``: while one background process per core multiplies 1,000 × 1,000 matrices in a loop with numpy's
  default BLAS threading (another job on the machine);
- ``busy, uncapped``: the same, with ``RECSYS_CAUSAL_THREADS`` set to 4 × the cores, the oversubscription the
  default cap of 1 thread per pool prevents.

Medians of ``--repeat`` runs, alternating the three conditions; the slowdown is busy / idle. For scale, a
single-threaded pure-Python loop is timed the same way first: its slowdown is the share of the cores any
one-thread job gets beside the load, the most a report can expect; a report slowing down far beyond it would be
stalled by oversubscribed thread pools.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = "import numpy as np\na = np.random.default_rng(0).random((1000, 1000))\nwhile True:\n    a @ a\n"


def run_report(config: Path, env: dict) -> float:
    """Wall seconds of one ``causal-report`` run of ``config`` into a fresh temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        cli = Path(sys.executable).parent / "causal-report"
        subprocess.run([str(cli), str(config), "--out", f"{out}/report.html", "--json", f"{out}/report.json",
                        "--quiet"], check=True, env=env, cwd=ROOT, capture_output=True)
        return time.perf_counter() - t0


REFERENCE = "sum(i * i for i in range(30_000_000))"


def run_reference(env: dict) -> float:
    """Wall seconds of a single-threaded pure-Python loop in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", REFERENCE], check=True, env=env)
    return time.perf_counter() - t0


def timed(config: Path | None, *, busy: bool, threads: int | None) -> float:
    """Wall seconds of the report of ``config`` (None: the reference loop), beside the load when ``busy``."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    if threads is not None:
        env["RECSYS_CAUSAL_THREADS"] = str(threads)
    loads = [subprocess.Popen([sys.executable, "-c", LOAD]) for _ in range(os.cpu_count() or 1)] if busy else []
    try:
        time.sleep(1.0 if busy else 0.0)
        return run_reference(env) if config is None else run_report(config, env)
    finally:
        for p in loads:
            p.kill()
            p.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", default=["reports/examples/longterm.yaml",
                                                      "reports/examples/holdout.yaml"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    conditions = {"idle": (False, None), "busy": (True, None), "busy, uncapped": (True, 4 * cores)}
    ref = {name: statistics.median(timed(None, busy=busy, threads=None) for _ in range(args.repeat))
           for name, (busy, _) in list(conditions.items())[:2]}
    print(f"single-threaded Python loop (reference): idle {ref['idle']:.1f} s; busy {ref['busy']:.1f} s "
          f"({ref['busy'] / ref['idle']:.1f}x: the share of the cores one thread gets beside the load)", flush=True)
    for config in args.configs:
        times: dict[str, list[float]] = {k: [] for k in conditions}
        for _ in range(args.repeat):
            for name, (busy, threads) in conditions.items():
                times[name].append(timed(ROOT / config, busy=busy, threads=threads))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{config}: idle {med['idle']:.1f} s; busy {med['busy']:.1f} s "
              f"({med['busy'] / med['idle']:.1f}x); busy with {4 * cores} threads per pool "
              f"{med['busy, uncapped']:.1f} s ({med['busy, uncapped'] / med['idle']:.1f}x)", flush=True)


if __name__ == "__main__":
    main()
