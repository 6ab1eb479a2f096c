"""Report studies with known truth: the delta-method intervals of ratio metrics by segment (CUPED with a
pre-period covariate) and of the cumulative ratio effect by calendar day, as the report computes them.

Truth: impressions ``d ~ 1 + Poisson(5)`` and clicks ``n ~ Binomial(d, p)`` with ``p = base(segment, arm) +
0.03 tanh(pre)``, ``pre ~ N(0, 1)`` independent of ``d``, so ``E[n] / E[d] = base`` exactly (``tanh`` is odd) and
the true ratio difference of a segment is ``base(segment, treatment) − base(segment, control)``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

BASE = {"a": (0.10, 0.12), "b": (0.20, 0.20), "c": (0.15, 0.13)}  # (control, treatment) click rate per segment


def _units(rng: np.random.Generator, n: int) -> pd.DataFrame:
    seg = rng.choice(list(BASE), n, p=[0.5, 0.3, 0.2])
    treated = rng.random(n) < 0.5
    pre = rng.normal(size=n)
    base = np.array([BASE[s][int(t)] for s, t in zip(seg, treated, strict=True)])
    d = 1 + rng.poisson(5, n)
    clicks = rng.binomial(d, base + 0.03 * np.tanh(pre))
    day = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 6, n), unit="D")
    return pd.DataFrame({"user_id": np.arange(n).astype(str), "variant": np.where(treated, "treatment", "control"),
                         "seg": seg, "pre": pre, "click": clicks.astype(float), "impressions": d.astype(float),
                         "first_exposure": day})


def report_ratio_segments(runs: int, seed: int = 0) -> list[tuple]:
    from recsys_causal.report.config import ReportConfig
    from recsys_causal.report.ratio_segments import ratio_segment_effects

    cfg = ReportConfig.model_validate({
        "experiment": {"name": "x", "design": "ab"}, "data": {"units": "u.parquet"}, "covariates": ["pre"],
        "metrics": {"primary": [{"name": "ctr", "kind": "ratio", "numerator": "click",
                                 "denominator": "impressions"}]},
        "segments": {"columns": ["seg"], "min_units": 30}})
    hits = defaultdict(list)
    for s in range(runs):
        units = _units(np.random.default_rng(seed + 910_000 + s), 2400)
        (r,) = ratio_segment_effects(units, cfg.metrics.primary[0], cfg, "treatment")
        for e in r.effects:
            c, t = BASE[e.details["segment"]]
            hits[f"ratio segment {e.details['segment']} (delta method, CUPED)"].append(e.ci_low <= t - c <= e.ci_high)
    return [("report: ratio segments", k, len(v), int(np.sum(v))) for k, v in sorted(hits.items())]


def report_cumulative_by_day(runs: int, seed: int = 0) -> list[tuple]:
    from recsys_causal.report.timeline import cumulative_by_day

    # an arm's pooled ratio is Σ_seg share · base (E[d] is the same in every segment)
    true = sum(w * (t - c) for w, (c, t) in zip([0.5, 0.3, 0.2], BASE.values(), strict=True))
    hits = defaultdict(list)
    for s in range(runs):
        units = _units(np.random.default_rng(seed + 920_000 + s), 2400)
        tab = cumulative_by_day(units, ["click", "impressions"], time_col="first_exposure", variant_col="variant",
                                control="control", treatment="treatment", alpha=0.05)
        for label, row in (("day 2 of 6", tab.iloc[1]), ("last day", tab.iloc[-1])):
            hits[f"cumulative ratio effect, {label} (delta method, Welch)"].append(
                row["ci_low"] <= true <= row["ci_high"])
    return [("report: effect over time", k, len(v), int(np.sum(v))) for k, v in sorted(hits.items())]


STUDIES = {"report_ratio_segments": report_ratio_segments, "report_cumulative_by_day": report_cumulative_by_day}
