"""The pre-launch gate in ranking mode at scale: three top-10 candidates on 1M requests × 50 candidates.

    python benchmarks/bench_gate.py [--requests 1000000] [--candidates 50]

The log (slates of 10 with logged marginal propensities and joint slate propensities, clicks and a second
reward, three shadow scores) is generated with numpy inside a fresh process and is not timed. The measured
step is ``gate.screen(mode="ranking")`` of three deterministic top-10 candidates (``policies.top_k`` on the
three scores, built inside the step): position-based IPS lifts with the default cross-checks (SN-PI-IPS and
standard slate IPS), one guardrail, support per position and the share of target mass on slates never logged,
the data accounting, then the JSON, Markdown and HTML renderings. Reported: the step's wall time, the peak
resident memory of the whole process (log included) and the step's own peak over the resident set before it
(``/proc/self/status`` VmHWM, reset with ``/proc/self/clear_refs`` after the log is built). Target (#18):
under 60 s and under 6 GB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402
from _slate_log import log_code  # noqa: E402

CODE = """
from recsys_causal.gate import screen, Guardrail
from recsys_causal.ope import policies
rss_before = rss_gb()
open("/proc/self/clear_refs", "w").write("5")  # reset the peak resident set (VmHWM)
t0 = time.perf_counter()
cands = {s: policies.top_k(log, f"pred_{s}", K, name=s) for s in ("new", "bold", "mix")}
res = screen(log, cands, primary="click", relative=False, mode="ranking",
             guardrails=[Guardrail("hide", "increase_is_bad", 0.05)])
doc, md, html = res.to_dict(), res.to_markdown(), res.to_html()
t_screen = time.perf_counter() - t0
peak = rss_gb("VmHWM")
_result = {"requests": R, "rows": n, "log_gb": log_gb, "rss_before_gb": rss_before, "peak_step_gb": peak,
           "screen_s": t_screen, "verdicts": [c.verdict for c in res.candidates], "exit_code": res.exit_code,
           "slate_mass": [c.support.unlogged_slate_mass for c in res.candidates]}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=50)
    args = ap.parse_args()
    code = log_code(args.requests, args.candidates, scores=("new", "bold", "mix"), outcomes={"hide": 0.02})
    r = measure(code + CODE)
    print(f"gate.screen(mode='ranking'), 3 top-10 candidates on {r['requests']:,} requests x {args.candidates} "
          f"candidates ({r['rows']:,} rows), slates of 10:\n"
          f"  screen (policies, lifts, cross-checks, guardrail, support, accounting, JSON/Markdown/HTML): "
          f"{r['screen_s']:.1f} s (target < 60 s); verdicts {r['verdicts']}, exit code {r['exit_code']}\n"
          f"  memory: log columns {r['log_gb']:.2f} GB; process resident {r['rss_before_gb']:.2f} GB before the "
          f"screen, peak {r['peak_step_gb']:.2f} GB during it (target < 6 GB; +"
          f"{r['peak_step_gb'] - r['rss_before_gb']:.2f} GB for the screen)\n"
          f"  whole process {r['seconds']:.1f} s including generating the log, peak {r['peak_rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
