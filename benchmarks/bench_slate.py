"""Slate off-policy evaluation against a bare numpy floor on the same CSR columns, in one process per size.

    python benchmarks/bench_slate.py [--requests 100000 1000000] [--candidates 50] [--repeat 3]

Per size, a log of ``R`` requests × 50 candidates with slates of 10 is generated with numpy inside a fresh
process (not timed), then timed on identical data (median of ``--repeat`` runs each):

- ``policy``: building the deterministic top-10 target (``policies.top_k``; one row index per request and
  position, no dense array);
- ``project``: ``evaluate_policies(mode="ranking")`` with position-based IPS and its self-normalised form,
  standard slate IPS, cascade IPS (marginal weights) and pseudo-inverse — values, paired absolute and relative
  lifts over the logging policy with analytic intervals, the slate-IPS assumption check and the support report;
- ``floor``: bare numpy from the same columns (shown, position, propensity, click, slate propensity) and the
  target's row per position: locate the logged items, the five point estimates, their standard errors and
  those of the paired lifts, and the weight summary of the support report (ESS, largest weight, quantiles).

Memory: the log's own columns (``memory_usage(deep=True)`` of its two frames), the resident set before the
evaluation and its peak during it (``/proc/self/status`` VmHWM, reset with ``/proc/self/clear_refs`` after the
log is built; memory freed earlier in the process and reused does not show there), and the peak of the
allocations traced by ``tracemalloc`` during one more evaluation (numpy reports its arrays to it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402
from _slate_log import log_code  # noqa: E402

CODE = """
from recsys_causal.ope import evaluate_policies, policies
REPEAT = {REPEAT}
ESTIMATORS = ["PI-IPS", "SN-PI-IPS", "slate IPS", "RIPS (cascade)", "PI (pseudo-inverse)"]

def project(pol):
    return evaluate_policies(log, {{"top": pol}}, rewards=["click"], estimators=ESTIMATORS, mode="ranking")

def policy_floor():  # numpy top-k on the regular layout: the stable order of each request's 50 scores
    return np.argsort(-cand["pred_new"].to_numpy().reshape(R, C), axis=1, kind="stable")[:, :K]

def floor(slate_rows):
    sh, pos_all, prop, click = (cand["shown"].to_numpy(), cand["position"].to_numpy(), cand["propensity"].to_numpy(),
                                cand["click"].to_numpy())
    rows = np.flatnonzero(sh & (pos_all <= K))
    req = np.searchsorted(log.offsets, rows, side="right") - 1
    pos = pos_all[rows].astype(np.int64) - 1
    pi = (slate_rows[req, pos] == rows).astype(float)
    W = np.zeros((R, K)); Y = np.zeros((R, K))
    W[req, pos] = pi / prop[rows]; Y[req, pos] = click[rows]
    y = Y.sum(axis=1)
    ym = y.mean()
    out = {{}}
    def mean_se(v):  # value, SE, paired lift SE and relative-lift SE (delta method)
        m = v.mean()
        d = v - y
        rel = (v - m / ym * y) / ym
        return m, v.std(ddof=1), d.std(ddof=1), rel.std(ddof=1)
    out["PI-IPS"] = mean_se((W * Y).sum(axis=1))
    sw = W.sum(axis=0); v_k = (W * Y).sum(axis=0) / sw
    out["SN-PI-IPS"] = mean_se(((W * Y - W * v_k) / (sw / R)).sum(axis=1) + v_k.sum())
    match = np.bincount(req, weights=pi, minlength=R)
    out["slate IPS"] = mean_se(np.where(match == K, 1.0 / requests["slate_propensity"].to_numpy(), 0.0) * y)
    out["cascade"] = mean_se((np.cumprod(W, axis=1) * Y).sum(axis=1))
    out["PI"] = mean_se((W.sum(axis=1) - (K - 1)) * y)
    w = W.mean(axis=1)
    out["support"] = (w.sum() ** 2 / (w ** 2).sum(), w.max(), *np.quantile(w, [0.5, 0.9, 0.99]))
    return out

def timed(fn, *args):
    times, res = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter(); res = fn(*args); times.append(time.perf_counter() - t0)
    return float(np.median(times)), res

rss_before = rss_gb()
open("/proc/self/clear_refs", "w").write("5")  # reset the peak resident set (VmHWM)
t0 = time.perf_counter(); pol = policies.top_k(log, "pred_new", K, name="top"); t_policy = time.perf_counter() - t0
peak_policy = rss_gb("VmHWM")
rss_policy = rss_gb()
open("/proc/self/clear_refs", "w").write("5")
t_project, res = timed(project, pol)
peak_project = rss_gb("VmHWM")
import tracemalloc  # numpy's allocations are traced: the evaluation's own peak, whatever the heap held before
tracemalloc.start()
project(pol)
traced_peak = tracemalloc.get_traced_memory()[1] / 1024**3
tracemalloc.stop()
t_policy_floor, top = timed(policy_floor)
assert np.array_equal(top + log.offsets[:-1, None], pol.table.slate_rows)
del top
t_floor, fl = timed(floor, pol.table.slate_rows)
vals = {{e.details["estimator"]: e.value for e in res.estimates if e.details.get("quantity") == "value"}}
assert abs(vals["PI-IPS"] - fl["PI-IPS"][0]) < 1e-9 * max(1.0, abs(fl["PI-IPS"][0]))
assert abs(vals["PI (pseudo-inverse)"] - fl["PI"][0]) < 1e-9 * max(1.0, abs(fl["PI"][0]))
_result = {{"requests": R, "rows": n, "log_gb": log_gb, "rss_before_gb": rss_before, "peak_eval_gb": peak_project,
           "peak_policy_gb": peak_policy, "traced_peak_gb": traced_peak, "rss_policy_gb": rss_policy, "policy_s": t_policy,
           "policy_floor_s": t_policy_floor, "project_s": t_project, "floor_s": t_floor,
           "estimates": len(res.estimates)}}
"""


def run(requests: int, candidates: int, repeat: int) -> dict:
    return measure(log_code(requests, candidates) + CODE.format(REPEAT=repeat))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    results = []
    for R in args.requests:
        r = run(R, args.candidates, args.repeat)
        results.append(r)
        extra = r["peak_eval_gb"] - r["rss_policy_gb"]
        print(f"{R:,} requests x {args.candidates} candidates ({r['rows']:,} rows), slates of 10:\n"
              f"  top-10 target: {r['policy_s']:.2f} s; numpy floor (argsort of the score matrix) "
              f"{r['policy_floor_s']:.2f} s -> ratio {r['policy_s'] / r['policy_floor_s']:.1f}x; peak +"
              f"{r['peak_policy_gb'] - r['rss_before_gb']:.2f} GB, kept {r['rss_policy_gb'] - r['rss_before_gb']:.3f} GB\n"
              f"  evaluate_policies(mode='ranking'): PI-IPS, SN-PI-IPS, slate IPS, cascade IPS, pseudo-inverse "
              f"(values, paired lifts, analytic intervals, assumption check, support): "
              f"{r['project_s']:.3f} s, {r['estimates']} estimates\n"
              f"  numpy floor on the same columns: {r['floor_s']:.3f} s -> ratio {r['project_s'] / r['floor_s']:.1f}x\n"
              f"  memory: log columns {r['log_gb']:.2f} GB; process resident {r['rss_policy_gb']:.2f} GB before the "
              f"evaluation, peak {r['peak_eval_gb']:.2f} GB during it: +{extra:.2f} GB = {extra / r['log_gb']:.2f}x the "
              f"log's columns (log + evaluation peak = {1 + extra / r['log_gb']:.2f}x the log); allocations traced "
              f"during a further evaluation peak at {r['traced_peak_gb']:.2f} GB = "
              f"{1 + r['traced_peak_gb'] / r['log_gb']:.2f}x the log with it", flush=True)
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"scaling {b['requests'] // a['requests']}x the requests: evaluation {b['project_s'] / a['project_s']:.1f}x, "
              f"floor {b['floor_s'] / a['floor_s']:.1f}x")


if __name__ == "__main__":
    main()
