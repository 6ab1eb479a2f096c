"""A/B readout side by side on identical data: ``analyze_ab``, a bare numpy floor and tea-tasting.

    python benchmarks/bench_ab_side.py [--units 10000000] [--rounds 3] [--workload tea|full|both]

One simulated unit table (:func:`recsys_causal.simulate.ab.simulate_ab`) is analysed in this one process by
each tool in turn, the order rotating every round; the medians are printed with the ratios project / floor and
project / tea-tasting. Before any time is printed the numbers are checked to agree to 1e-9 (relative):

* ``tea``: tea-tasting's metric set — revenue mean with CUPED on ``pre_revenue``, conversion, CTR as a ratio
  of means, sample-ratio check. The floor computes this project's definitions (CUPED with the pooled
  within-arm slope, Welch, delta method, Fieller) and tea-tasting's (CUPED slope over both arms pooled, log
  relative interval); each tool is checked against the floor on its own definitions, and the quantities the two
  define alike (means, lifts, p-values of conversion and CTR, SRM p-value) against each other. tea-tasting runs
  only when importable (``pip install tea-tasting``).
* ``full``: ``benchmarks/bench_ab.py``'s workload — 5 metrics with CUPED on 3 covariates (one a ratio), the
  unit-id check (one row per unit), SRM overall / by segment / by day, 3 guardrails and per-segment CUPED lifts
  of the primary metrics, against a floor that does the same arithmetic (including the unit-id uniqueness
  check and the CUPED guards' R² and balance p-values) and nothing else, and against the floor of the
  estimates alone (no unit-id check, no CUPED guards), beside the readout without a unit column (which then
  makes no one-row-per-unit check).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ab_floor import (  # noqa: E402
    contrast,
    cuped_means,
    gather,
    metric_weights,
    moments,
    r2_and_balance,
    srm,
    tea_cuped,
)

SPLIT = {"control": 0.5, "treatment": 0.5}
TEA_COLUMNS = ["revenue", "pre_revenue", "converted", "clicks", "impressions"]
TEA_METRICS = {"revenue": ("mean", "revenue"), "converted": ("mean", "converted"),
               "ctr": ("ratio", "clicks", "impressions")}
FULL_COLUMNS = ["revenue", "converted", "clicks", "impressions", "hides", "latency_ms", "pre_revenue", "pre_clicks",
                "pre_impressions"]
FULL_METRICS = {"revenue": ("mean", "revenue"), "converted": ("mean", "converted"),
                "ctr": ("ratio", "clicks", "impressions"), "clicks": ("mean", "clicks"), "hides": ("mean", "hides")}
GUARDS = {"hides": ("mean", "hides"), "impressions": ("mean", "impressions"), "latency_ms": ("mean", "latency_ms")}
PRIMARY = ("revenue", "converted", "ctr")


# ---------------------------------------------------------------------- the three tools
def project_tea(units):
    from recsys_causal.experiments.readout import Metric, analyze_ab

    return analyze_ab(units, expected_split=SPLIT, metrics=[
        Metric.mean("revenue", covariates=("pre_revenue",)), Metric.proportion("converted", covariates=()),
        Metric.ratio("ctr", "clicks", "impressions", covariates=())])


def run_tea_tasting(units):
    import tea_tasting as tt

    return tt.Experiment(revenue=tt.Mean("revenue", "pre_revenue"), converted=tt.Mean("converted"),
                         ctr=tt.RatioOfMeans("clicks", "impressions"),
                         sample_ratio=tt.SampleRatio(correction=False)).analyze(units, control="control")


def _arm_rows(units) -> list[np.ndarray]:
    variant = units["variant"]
    return [np.flatnonzero(variant.eq(v).to_numpy()) for v in ("treatment", "control")]


def floor_tea(units) -> dict:
    rows = _arm_rows(units)
    arms = [moments(gather(units, TEA_COLUMNS, r)) for r in rows]
    out = {"srm": srm(np.array([len(rows[1]), len(rows[0])]), np.array([0.5, 0.5]))}
    for name, metric in TEA_METRICS.items():
        xs = [TEA_COLUMNS.index("pre_revenue")] if name == "revenue" else []
        weights = [metric_weights(a, TEA_COLUMNS, metric) for a in arms]
        out[name] = contrast(*cuped_means(arms, weights, xs))
        if xs:
            out["guard " + name] = r2_and_balance(arms, weights, xs)
    out["tea revenue"] = tea_cuped(arms, TEA_COLUMNS, "revenue", "pre_revenue")
    return out


def project_full(units, unit_col: str | None = "unit_id"):
    """The full workload; ``unit_col=None`` names no unit column, so the one-row-per-unit check does not run."""
    from recsys_causal.experiments.guardrails import Guardrail
    from recsys_causal.experiments.readout import Metric, analyze_ab

    return analyze_ab(
        units, control="control", unit_col=unit_col, segment_col="segment", day_col="first_exposure",
        expected_split=SPLIT, covariates=["pre_revenue", "pre_clicks", "pre_impressions"],
        metrics=[Metric.mean("revenue"), Metric.proportion("converted"), Metric.ratio("ctr", "clicks", "impressions"),
                 Metric.mean("clicks", role="secondary"), Metric.mean("hides", role="secondary")],
        guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.05),
                    Guardrail("impressions", direction="decrease_is_bad", margin=0.01),
                    Guardrail("latency_ms", direction="increase_is_bad", margin=0.02)])


def floor_full(units, checks: bool = True) -> dict:
    """The full workload's numbers; ``checks=False`` leaves out the unit-id uniqueness check and the CUPED
    guards (the bare arithmetic of the estimates alone)."""
    import pandas as pd

    if checks:
        assert units["unit_id"].is_unique  # the readout's one-row-per-unit check
    rows = _arm_rows(units)
    seg, segments = pd.factorize(units["segment"], sort=True)
    day, _ = pd.factorize(units["first_exposure"].dt.floor("D"), sort=True)
    treated = np.zeros(len(units), dtype=np.int64)
    treated[rows[0]] = 1
    shares = np.array([0.5, 0.5])
    out = {"srm": srm(np.array([len(rows[1]), len(rows[0])]), shares)}
    for key, codes, k in (("srm segment", seg, len(segments)), ("srm day", day, day.max() + 1)):
        out[key] = srm(np.bincount(codes * 2 + treated, minlength=2 * k).reshape(k, 2), shares)
    xs = [FULL_COLUMNS.index(c) for c in ("pre_revenue", "pre_clicks", "pre_impressions")]
    blocks, arms, by_seg = [], [], []
    for r in rows:
        block = gather(units, FULL_COLUMNS, r)
        arms.append(moments(block))
        order = np.argsort(seg[r].astype(np.int16), kind="stable")
        bounds = np.searchsorted(seg[r][order], np.arange(len(segments) + 1))
        block = block[order]
        by_seg.append([moments(block[bounds[s]:bounds[s + 1]]) for s in range(len(segments))])
        blocks.append(block)
    for name, metric in {**FULL_METRICS, **{"guard " + g: m for g, m in GUARDS.items()}}.items():
        weights = [metric_weights(a, FULL_COLUMNS, metric) for a in arms]
        out[name] = contrast(*cuped_means(arms, weights, xs))
        if checks:
            out["check " + name] = r2_and_balance(arms, weights, xs)
    for s, label in enumerate(segments):
        for name in PRIMARY:
            seg_arms = [by_seg[0][s], by_seg[1][s]]
            weights = [metric_weights(a, FULL_COLUMNS, FULL_METRICS[name]) for a in seg_arms]
            out[f"{name} [{label}]"] = contrast(*cuped_means(seg_arms, weights, xs))
    return out


# ---------------------------------------------------------------------- agreement
def _close(a: float, b: float, what: str, rtol: float = 1e-9) -> None:
    if not np.isclose(a, b, rtol=rtol, atol=1e-300):
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def _check_lift(readout, name: str, f: dict, segment: str | None = None) -> None:
    if segment is None:
        a = readout.lift(name, relative=False)
        for got, want, what in ((a.value, f["lift"], "lift"), (a.se, f["se"], "se"), (a.p_value, f["p"], "p")):
            _close(got, want, f"{name} {what}")
        r = readout.lift(name)
    else:
        r = next(e for e in readout.segments if e.details["metric"] == name and e.details["segment"] == segment)
    for got, want, what in ((r.value, f["rel"], "relative lift"), (r.se, f["rel_se"], "relative se"),
                            (r.ci_low, f["rel_lo"], "Fieller low"), (r.ci_high, f["rel_hi"], "Fieller high"),
                            (r.p_value, f["p"], "p")):
        _close(got, want, f"{name} [{segment}] {what}")


def check_tea(project, floor: dict, tea) -> int:
    """Every compared number agrees to 1e-9; returns how many were compared."""
    n = 0
    _close(project.srm.p_value, floor["srm"][1][0], "SRM p")
    for name in TEA_METRICS:
        _check_lift(project, name, floor[name])
        n += 8
    if tea is not None:
        _close(tea["sample_ratio"].pvalue, floor["srm"][1][0], "tea-tasting SRM p")
        (mt, _, _), (mc, _, _) = floor["tea revenue"]
        for got, want, what in ((tea["revenue"].treatment, mt, "treatment"), (tea["revenue"].control, mc, "control")):
            _close(got, want, f"tea-tasting CUPED revenue {what} mean")
        for name in ("converted", "ctr"):
            _close(tea[name].effect_size, floor[name]["lift"], f"tea-tasting {name} lift")
            _close(tea[name].pvalue, floor[name]["p"], f"tea-tasting {name} p")
        n += 8
    return n + 1


def check_full(project, floor: dict) -> int:
    _close(project.srm.p_value, floor["srm"][1][0], "SRM p")
    for scope, key in (("by_segment", "srm segment"), ("by_day", "srm day")):
        got = getattr(project.srm, scope)["p_value"].to_numpy()
        assert np.allclose(got, floor[key][1], rtol=1e-9, atol=0), scope
    n = 1 + len(floor["srm segment"][1]) + len(floor["srm day"][1])
    for name in FULL_METRICS:
        _check_lift(project, name, floor[name])
        n += 8
    for g in project.guardrails:
        f = floor["guard " + g.details["guardrail"]]
        _close(g.value, f["rel"], g.name)
        _close(g.se, f["rel_se"], g.name + " se")
        n += 2
    for e in project.segments:
        _check_lift(project, e.details["metric"], floor[f"{e.details['metric']} [{e.details['segment']}]"],
                    segment=e.details["segment"])
        n += 5
    return n


# ---------------------------------------------------------------------- timing
def timed(tools: dict, units, rounds: int) -> tuple[dict, dict]:
    """Median seconds of each tool over ``rounds`` (order rotating each round) and each tool's last result."""
    times: dict[str, list[float]] = {k: [] for k in tools}
    results = {}
    names = list(tools)
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            results[k] = tools[k](units)
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}, results


def report(label: str, med: dict, n_checked: int, units: int) -> None:
    print(f"\n{label}: {units:,} units, medians of alternating rounds; {n_checked} numbers agree to 1e-9")
    for k, v in med.items():
        print(f"  {k:<22} {v:8.3f} s  ({v / med['floor']:.2f}x floor)")
    if "floor, estimates only" in med:
        print(f"  project / floor of the estimates alone = {med['project'] / med['floor, estimates only']:.2f}; "
              f"without a unit column (no one-row-per-unit check) "
              f"{med['project, no unit column'] / med['floor, estimates only']:.2f}")
    if "tea-tasting" in med:
        print(f"  project / tea-tasting = {med['project'] / med['tea-tasting']:.2f}")
    print(f"  load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workload", choices=("tea", "full", "both"), default="both")
    args = parser.parse_args()
    from recsys_causal.simulate.ab import simulate_ab

    units = simulate_ab(n_units=args.units, hide_lift=0.02, seed=args.seed).units
    if args.workload in ("tea", "both"):
        tools = {"project": project_tea, "floor": floor_tea}
        try:
            import tea_tasting  # noqa: F401

            tools["tea-tasting"] = run_tea_tasting
        except ImportError:
            print("tea-tasting is not installed: timing the project and the floor only")
        med, res = timed(tools, units, args.rounds)
        report("tea-tasting's metric set", med, check_tea(res["project"], res["floor"], res.get("tea-tasting")),
               args.units)
    if args.workload in ("full", "both"):
        med, res = timed({"project": project_full, "floor": floor_full,
                          "project, no unit column": lambda u: project_full(u, unit_col=None),
                          "floor, estimates only": lambda u: floor_full(u, checks=False)}, units, args.rounds)
        n_checked = check_full(res["project"], res["floor"]) + check_full(res["project, no unit column"], res["floor"])
        report("bench_ab.py workload", med, n_checked, args.units)


if __name__ == "__main__":
    main()
