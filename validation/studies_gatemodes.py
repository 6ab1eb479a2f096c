"""The gate in ranking mode: coverage of the screen's primary lift interval for a top-3 softmax slate target.

Position-based clicks (the simulator's default click model), Plackett–Luce logging with ε-exploration, slates of
3. Truth is exact: ``true_value(target) − true_value(logging)`` from the simulator's expected rewards (contexts
held fixed), the relative lift their ratio minus 1. The gate's interval is two-sided at ``1 − 2·alpha``; the
study runs it with ``alpha = 0.025`` so that it is a 95% interval. Notes give the bias in Monte Carlo standard
errors of the mean error.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

Row = tuple


def _note(errors: list[float]) -> str:
    e = np.asarray(errors)
    return f"bias {e.mean():+.4f} ({e.mean() / (e.std(ddof=1) / np.sqrt(e.size)):+.1f} MC SE)"


def gate_ranking(runs: int, seed: int = 0) -> list[Row]:
    """PI-IPS (primary) and SN-PI-IPS (cross-check) lifts of the ranking screen, absolute and relative."""
    from recsys_causal.gate import screen
    from recsys_causal.ope import policies
    from recsys_causal.simulate import simulate_decision_log
    from recsys_causal.simulate.world import make_world

    world = make_world(seed=seed + 71)
    hits, errors = defaultdict(list), defaultdict(list)
    for s in range(runs):
        sim = simulate_decision_log(n_requests=2000, n_candidates=8, slate_size=3, epsilon=0.2, world=world,
                                    seed=seed + 71_000 + s)
        pol = policies.softmax(sim.log, "pred_new", 3, temperature=0.5, name="slate")
        v_t, v_l = sim.true_value(pol.probs, "click"), sim.true_value(sim.logging_position_probs, "click")
        for relative, truth in ((False, v_t - v_l), (True, v_t / v_l - 1)):
            res = screen(sim.log, {"slate": pol}, primary="click", relative=relative, mode="ranking",
                         cross_check=["SN-PI-IPS"], alpha=0.025)
            c = res.candidates[0]
            for e in [c.primary, *c.cross_checks]:
                key = f"{e.details['estimator']}, {'relative ' if relative else ''}lift"
                hits[key].append(e.ci_low <= truth <= e.ci_high)
                errors[key].append(e.value - truth)
    return [("gate, ranking mode (top-3 slates)", k, len(v), int(np.sum(v)), _note(errors[k]))
            for k, v in hits.items()]


STUDIES = {"gate_ranking": gate_ranking}
