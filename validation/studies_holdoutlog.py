"""Holdouts from the decision log: coverage of the readout built from a simulated holdout log (exposure from
shown module items, ghost exposures from suppressed slates, the outcome from a request column) against the
exact truth of the simulator: the effect on the exposed (``effect_on_exposed``) for the ghost and Wald
estimates, and the intent-to-treat effect ``effect_on_exposed × exposure_rate``. 20,000 units, 20% holdout."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

Row = tuple
SETTINGS = {"n_units": 20_000, "holdout_share": 0.2, "exposure_rate": 0.3, "effect_on_exposed": 0.02}


def holdout_log(runs: int) -> list[Row]:
    from recsys_causal import analyze_holdout
    from recsys_causal.simulate.holdout_log import simulate_holdout_log

    hits, errors = defaultdict(list), defaultdict(list)
    for r in range(runs):
        sim = simulate_holdout_log(**SETTINGS, seed=10_000 + r)
        res = analyze_holdout(sim.log, window="7D", as_of=sim.as_of, outcome_col="orders",
                              module={"surface": "home"}, unit_table=sim.pre_period, covariates=["pre_conversions"])
        truth = {"effect on exposed (ghost)": sim.effect_on_exposed, "effect on exposed (Wald)": sim.effect_on_exposed,
                 "ITT lift (absolute)": sim.true_itt}
        for e in res.estimates:
            if e.name in truth:
                hits[e.name].append(e.ci_low <= truth[e.name] <= e.ci_high)
                errors[e.name].append(e.value - truth[e.name])
    out = []
    for name, h in hits.items():
        err = np.asarray(errors[name])
        mcse = err.std(ddof=1) / np.sqrt(err.size)
        out.append(("holdout from log", name, len(h), int(np.sum(h)),
                    f"bias {err.mean():+.5f} ({err.mean() / mcse:+.1f} MC SE)"))
    return out


STUDIES = {"holdout_log": holdout_log}
