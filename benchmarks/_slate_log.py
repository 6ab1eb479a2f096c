"""The synthetic slate log of the slate and gate benchmarks, as code run inside the measured child process.

``R`` requests × ``C`` candidates in a regular CSR layout, slates of ``K = 10`` (the first ``K`` candidates are
shown at positions 1..K with marginal propensities in [0.02, 0.09] and a joint slate propensity per request),
clicks at rate 0.1, the score columns ``pred_<name>`` for each name in ``SCORES``, columns drawn uniformly
(``UNIFORM``: name → (low, high)) and any extra outcome columns ``OUTCOMES`` (name → rate). Defines ``log``, ``cand``, ``requests``, ``log_gb`` (the log's own columns) and
``rss_gb(key)`` (VmRSS / VmHWM of the process in GB).
"""

LOG_CODE = """
import gc, time
import numpy as np, pandas as pd
from recsys_causal.logs.model import DecisionLog

def rss_gb(key="VmRSS"):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024**2

rng = np.random.default_rng(0)
R, C, K = {R}, {C}, 10
n = R * C
rank = np.tile(np.arange(C, dtype=np.int8), R)
shown = rank < K
requests = pd.DataFrame({{"request_id": np.arange(R), "decision_time": pd.Timestamp("2026-06-01", tz="UTC"),
                          "slate_propensity": rng.uniform(1e-9, 1e-6, R)}})
cand = pd.DataFrame({{"item_id": rng.integers(0, 10**6, n, dtype=np.int32), "shown": shown,
                      "position": np.where(shown, rank + 1, np.nan)}})
cand["propensity"] = np.where(shown, rng.uniform(0.02, 0.09, n), np.nan)
for name in {SCORES}:
    cand["pred_" + name] = rng.normal(size=n)
for name, (lo, hi) in {UNIFORM}.items():
    cand[name] = rng.uniform(lo, hi, n)
outcomes = {{"click": 0.1, **{OUTCOMES}}}
for name, rate in outcomes.items():
    cand[name] = np.where(shown, (rng.random(n) < rate).astype(float), np.nan)
del rank, shown
log = DecisionLog(requests, cand, np.arange(0, n + 1, C, dtype=np.int64), tuple(outcomes))
log_gb = (cand.memory_usage(deep=True).sum() + requests.memory_usage(deep=True).sum()) / 1024**3
gc.collect()
"""


def log_code(requests: int, candidates: int, scores: tuple[str, ...] = ("new",), outcomes: dict | None = None,
             uniform: dict | None = None) -> str:
    """The generating code for ``requests × candidates`` with the given score names, extra outcomes and columns
    drawn uniformly (name → (low, high), e.g. reward-model predictions)."""
    return LOG_CODE.format(R=requests, C=candidates, SCORES=repr(tuple(scores)), OUTCOMES=repr(outcomes or {}),
                           UNIFORM=repr(uniform or {}))
