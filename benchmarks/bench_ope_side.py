"""Single-slot off-policy evaluation against a bare numpy floor on the same columns, in one process per size.

    python benchmarks/bench_ope_side.py [--requests 1000000] [--candidates 50] [--repeat 5]

Per size, a log of ``R`` requests × 50 candidates (slates of 10; the item at position 1 is the logged action)
with a reward-model column ``pred_q`` is generated with numpy inside a fresh process (not timed), and one
Plackett–Luce (softmax) target over the candidates is built (timed apart). Then, on identical data, alternating
rounds, medians of ``--repeat`` runs each:

- ``project``: ``evaluate_policies`` (top-slot mode) with IPS, SNIPS and DR on ``pred_q`` — the policy and reward
  checks, values, paired absolute and relative lifts over the logging policy with analytic intervals, the
  requests left out by reason and the support report (weights, unsupported and outside mass, influential
  requests);
- ``floor``: bare numpy from the same columns (shown, position, propensity, click, ``pred_q``) and the target's
  probability per candidate: locate the logged actions, ``Σ_i π(i) q̂(i)`` per request, the three point estimates,
  their standard errors and those of the paired lifts, and the weight summary (mean, ESS, largest, quantiles).

The values of the two are asserted equal (1e-9) before the times are printed with their ratio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402
from _slate_log import log_code  # noqa: E402

CODE = """
import warnings
from recsys_causal.ope import evaluate_policies, policies
REPEAT = {REPEAT}
ESTIMATORS = ["IPS", "SNIPS", "DR"]

def project(pol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # synthetic propensities: the support warning is expected
        return evaluate_policies(log, {{"soft": pol}}, rewards=["click"], estimators=ESTIMATORS, reward_model="pred_q")

def floor(pi):
    sh, pos_all, prop, click, q = (cand["shown"].to_numpy(), cand["position"].to_numpy(),
                                   cand["propensity"].to_numpy(), cand["click"].to_numpy(), cand["pred_q"].to_numpy())
    rows = np.flatnonzero(sh & (pos_all == 1))
    w = pi[rows] / prop[rows]
    y = click[rows]
    dm = np.add.reduceat(pi * q, log.offsets[:-1])[rows // C]  # regular layout: request of row = row // C
    ym = y.mean()
    def mean_se(v):  # value, SE, paired lift SE and relative-lift SE (delta method)
        m = v.mean()
        return m, v.std(ddof=1), (v - y).std(ddof=1), ((v - m / ym * y) / ym).std(ddof=1)
    out = {{"logged": (ym, y.std(ddof=1))}}
    out["IPS"] = mean_se(w * y)
    v_sn = (w * y).sum() / w.sum()
    out["SNIPS"] = mean_se(v_sn + w * (y - v_sn) / w.mean())
    out["DR"] = mean_se(dm + w * (y - q[rows]))
    out["support"] = (w.mean(), w.sum() ** 2 / (w ** 2).sum(), w.max(), *np.quantile(w, [0.5, 0.9, 0.99]))
    return out

project_times, floor_times = [], []
pol = policies.softmax(log, "pred_new", 1, temperature=0.5)
t0 = time.perf_counter(); pi = pol.probs[:, 0]; t_policy = time.perf_counter() - t0
res = project(pol)  # first call: imports and one-time caches are not timed
for _ in range(REPEAT):
    t0 = time.perf_counter(); res = project(pol); project_times.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); fl = floor(pi); floor_times.append(time.perf_counter() - t0)
vals = {{e.details["estimator"]: e.value for e in res.estimates if e.details.get("quantity") == "value"}}
for name in ESTIMATORS:
    assert abs(vals[name] - fl[name][0]) < 1e-9 * max(1.0, abs(fl[name][0])), (name, vals[name], fl[name][0])
_result = {{"requests": R, "rows": n, "log_gb": log_gb, "policy_s": t_policy, "project_s": float(np.median(project_times)),
           "floor_s": float(np.median(floor_times)), "estimates": len(res.estimates)}}
"""


def run(requests: int, candidates: int, repeat: int) -> dict:
    return measure(log_code(requests, candidates, uniform={"pred_q": (0.0, 0.3)}) + CODE.format(REPEAT=repeat))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for R in args.requests:
        r = run(R, args.candidates, args.repeat)
        print(f"{R:,} requests x {args.candidates} candidates ({r['rows']:,} rows), logged action at position 1:\n"
              f"  softmax target over the candidates: {r['policy_s']:.2f} s (built apart)\n"
              f"  evaluate_policies: IPS, SNIPS, DR (values, paired lifts, analytic intervals, support): "
              f"{r['project_s']:.4f} s, {r['estimates']} estimates\n"
              f"  numpy floor on the same columns: {r['floor_s']:.4f} s -> ratio "
              f"{r['project_s'] / r['floor_s']:.2f}x\n"
              f"  log columns {r['log_gb']:.2f} GB; process peak {r['peak_rss_gb']:.2f} GB", flush=True)


if __name__ == "__main__":
    main()
