"""Switchback intervals in short designs: minimax designs of 100, 120 and 480 periods with carryover order m = 2,
and Bernoulli designs at about 70 all-treated windows per arm with m = 1.

Block outcomes come from ``switchback_block_outcomes`` (hour-of-day pattern, block noise, direct effect 0.3 and
carryover 0.4 then 0.2), so the effect of always versus never treating is known exactly; assignments for every
run are drawn at once from the declared design.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

FAMILY = "switchback, short designs"


def _coverage(kind: str, n_clusters: int, n_blocks: int, m: int, runs: int, seed: int) -> dict[str, list]:
    from recsys_causal.simulate.switchback import switchback_block_outcomes
    from recsys_causal.switchback import SwitchbackDesign, design_based_estimate, make_schedule
    from recsys_causal.switchback.schedule import draw_assignments

    design = SwitchbackDesign(kind, carryover_order=m) if kind == "minimax" else SwitchbackDesign(kind)
    sched = make_schedule(n_clusters, n_blocks, design=design, seed=seed)
    effects = (0.3, 0.4, 0.2)[: m + 1]
    w = draw_assignments(sched, design, runs, np.random.default_rng(seed + 1))
    y = switchback_block_outcomes(w, sched["period"].to_numpy(), pd.factorize(sched["cluster"])[0],
                                  effects=effects, seed=seed + 2)
    out = defaultdict(list)
    for i in range(runs):
        b = sched.assign(treated=w[i], y=y[i])
        for label, normalized in (("Horvitz–Thompson", False), ("Hajek", True)):
            e = design_based_estimate(b, design, m, normalized=normalized)
            out[label].append((e.ci_low <= sum(effects) <= e.ci_high, e.details["df"]))
    return out


def _note(df: tuple) -> str:
    """The reference distribution, and runs whose design left no variance estimate (counted as misses)."""
    df = np.asarray(df, float)
    missing = int(np.isnan(df).sum())
    note = f"t reference, median df {np.nanmedian(df):.0f}"
    return note + (f"; {missing} runs without an interval, counted as misses" if missing else "")


def short_switchbacks(runs: int, seed: int = 0) -> list[tuple]:
    """Draws three times ``runs`` designs per row: the target is >= 93.5%, which 1,000 runs (MC SE 0.7 points)
    are too coarse to judge."""
    runs, rows = 3 * runs, []
    for periods in (100, 120, 480):
        res = _coverage("minimax", 1, periods, 2, runs, seed + 90_000 + periods)
        for label, v in res.items():
            hits, df = zip(*v, strict=True)
            rows.append((FAMILY, f"{label}, minimax m=2, {periods} periods", runs, int(np.sum(hits)), _note(df)))
    res = _coverage("bernoulli", 3, 96, 1, runs, seed + 91_000)
    hits, df = zip(*res["Hajek"], strict=True)
    rows.append((FAMILY, "Hajek, Bernoulli m=1, 3 clusters × 96 blocks (~70 windows per arm)", runs,
                 int(np.sum(hits)), _note(df)))
    return rows


STUDIES = {"switchsmall": short_switchbacks}
