"""A/B readout at scale: 10M units, 5 metrics with CUPED, SRM, 3 guardrails, 3 segments.

    python benchmarks/bench_ab.py [--units 10000000]

The unit table is simulated first with :func:`recsys_causal.simulate.ab.simulate_ab` (reported separately);
the timed step is one :func:`recsys_causal.experiments.readout.analyze_ab` call: quarantine check by unit id,
SRM overall / by segment / by day, 5 metrics (revenue, conversion, CTR as a ratio, clicks, hides) each with
CUPED on 3 pre-period covariates, absolute and relative lifts, Holm/BH adjustment, 3 guardrails and per-segment
lifts for the primary metrics. Peak memory is the process's maximum resident set size (interpreter, libraries
and the simulated table included). Everything is vectorised; there are no per-unit Python loops.

The numpy floor of the same workload (:func:`bench_ab_side.floor_full`: the same arithmetic and the unit-id
check, nothing else) is timed next in the same process, its numbers checked against the readout's to 1e-9, and
the ratio printed; ``bench_ab_side.py --workload full`` alternates several rounds of both.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from recsys_causal.experiments.guardrails import Guardrail
    from recsys_causal.experiments.readout import Metric, analyze_ab
    from recsys_causal.simulate.ab import simulate_ab

    t0 = time.perf_counter()
    sim = simulate_ab(n_units=args.units, hide_lift=0.02, seed=args.seed)
    gen_s = time.perf_counter() - t0
    gen_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    t0 = time.perf_counter()
    readout = analyze_ab(
        sim.units, control="control", unit_col="unit_id", segment_col="segment", day_col="first_exposure",
        expected_split={"control": 0.5, "treatment": 0.5},
        covariates=["pre_revenue", "pre_clicks", "pre_impressions"],
        metrics=[Metric.mean("revenue"), Metric.proportion("converted"), Metric.ratio("ctr", "clicks", "impressions"),
                 Metric.mean("clicks", role="secondary"), Metric.mean("hides", role="secondary")],
        guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.05),
                    Guardrail("impressions", direction="decrease_is_bad", margin=0.01),
                    Guardrail("latency_ms", direction="increase_is_bad", margin=0.02)],
    )
    analyze_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    from bench_ab_side import check_full, floor_full

    t0 = time.perf_counter()
    floor = floor_full(sim.units)
    floor_s = time.perf_counter() - t0
    checked = check_full(readout, floor)
    print(readout)
    print(f"\nunits={args.units:,}  simulate={gen_s:.1f}s (peak RSS {gen_rss:.2f} GB)  "
          f"analyze_ab={analyze_s:.2f}s  peak RSS={peak:.2f} GB")
    print(f"numpy floor={floor_s:.2f}s ({checked} numbers agree to 1e-9)  analyze_ab / floor = "
          f"{analyze_s / floor_s:.2f}  load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
