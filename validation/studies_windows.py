"""Readouts at 7 / 14 / 30 days after first exposure from one decision log (``analyze_horizons``).

Each run simulates a user-randomised experiment whose users come back over weeks
(:func:`recsys_causal.simulate.visits.simulate_visits`, 2,000 users, 1% flagged and excluded, first
exposures over 14 days, analysed at day 40 so that only about 70% of the 30-day windows have closed). The true
arm means are closed forms of the design: retention ``1 - (1 + lambda h / k) ** -k`` and clicks
``K c (1 + lambda h)``. Rows: coverage of the absolute lift of retention (user-level label: another request in
``(t0, t0 + h]``) and of clicks per unit at each horizon, with the bias in Monte Carlo standard errors; and the
false-positive rate of each at one horizon under a null design (no effect on visits or clicks).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

FAMILY = "long-term readouts (7/14/30 days)"
HORIZONS = (7, 14, 30)
METRICS = ("retention", "click")


def _readout(seed: int, design):
    from recsys_causal.experiments.horizons import analyze_horizons
    from recsys_causal.logs import DecisionLog
    from recsys_causal.simulate.visits import simulate_visits

    sim = simulate_visits(n_users=2000, seed=seed, design=design)
    log = DecisionLog.from_frames(sim.requests, sim.candidates)
    r = analyze_horizons(log, metrics=list(METRICS), outcomes=["retention after exposure"], horizons=HORIZONS,
                         as_of=sim.as_of, flags=sim.flags, expected_split={"control": 0.5, "treatment": 0.5})
    return sim, r


def longterm_horizons(runs: int, seed: int = 20261128) -> list[tuple]:
    from recsys_causal.simulate.visits import VisitsDesign

    design = VisitsDesign()
    null = replace(design, rate_lift=0.0, ctr_lift=0.0, return_rate_treated=design.return_rate)
    hits = {(m, h): [] for m in METRICS for h in HORIZONS}
    errors = {(m, h): [] for m in METRICS for h in HORIZONS}
    rejections = {("retention", 30): [], ("click", 7): []}
    n_used = {h: [] for h in HORIZONS}
    for i in range(runs):
        sim, r = _readout(seed + i, design)
        for m in METRICS:
            for h in HORIZONS:
                truth = sim.truth(h)[m]
                e = r.lift(m, h)
                hits[(m, h)].append(e.ci_low <= truth["treatment"] - truth["control"] <= e.ci_high)
                errors[(m, h)].append(e.value - (truth["treatment"] - truth["control"]))
        for h in HORIZONS:
            n_used[h].append(e.details["n_mature_units"] if h == 30 else r.lift("click", h).details["n_mature_units"])
        _, r0 = _readout(seed + 10**6 + i, null)
        for (m, h), out in rejections.items():
            out.append(r0.lift(m, h).p_value < 0.05)
    rows = []
    for (m, h), k in hits.items():
        err = np.asarray(errors[(m, h)])
        bias_se = err.mean() / (err.std(ddof=1) / np.sqrt(len(err)))
        rows.append((FAMILY, f"{m} absolute lift at {h}d (Welch)", runs, int(np.sum(k)),
                     f"bias {bias_se:+.2f} MC SE; median mature units {np.median(n_used[h]):.0f}"))
    for (m, h), k in rejections.items():
        rows.append(("false positives", f"long-term readout: {m} at {h}d, null design, Welch p < 0.05", runs,
                     int(np.sum(k))))
    return rows


STUDIES = {"windows": longterm_horizons}
