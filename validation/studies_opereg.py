"""The gate's cluster-robust intervals (``cluster_col``): simulated logs where each user makes several requests
whose clicks share the user's affinities; the truth is the candidate's exact relative click lift over the
logging policy. Rows: the coverage of the primary lift's 95% interval (two-sided at ``1 − 2·alpha`` with
``alpha = 0.025``), and the false-pass rate when the required lift equals the true lift (``alpha = 0.05``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

Row = tuple  # (family, estimator, runs, hits[, note])


def gate_clustered(runs: int, seed: int = 0) -> list[Row]:
    """IPS and DR (cross-fitted reward model) through ``screen(..., cluster_col="user_id")``."""
    from recsys_causal.gate import screen
    from recsys_causal.ope import TargetPolicy, policies
    from recsys_causal.simulate import simulate_decision_log
    from recsys_causal.simulate.world import make_world

    world, hits = make_world(n_users=300, seed=seed + 5), defaultdict(list)
    for s in range(runs):
        sim = simulate_decision_log(n_requests=2000, n_candidates=8, slate_size=1, epsilon=0.3, world=world,
                                    seed=seed + 90_000 + s)
        cand = TargetPolicy("cand", 0.5 * policies.softmax(sim.log, "pred_new", 1).probs
                            + 0.5 * sim.logging_position_probs[:, :1])
        truth = sim.true_value(cand.probs, "click") / sim.true_value(sim.logging_position_probs[:, :1], "click") - 1
        for est in ("IPS", "DR"):
            cover = screen(sim.log, {"cand": cand}, primary="click", estimator=est, cross_check=(), alpha=0.025,
                           cluster_col="user_id", seed=s).candidates[0].primary
            hits[("coverage", f"gate {est} relative lift, clustered by user (300 users)")].append(
                bool(cover.ci_low <= truth <= cover.ci_high))
            res = screen(sim.log, {"cand": cand}, primary="click", min_lift=truth, estimator=est, cross_check=(),
                         cluster_col="user_id", seed=s)
            hits[("false positives", f"gate {est} passes at the true lift, clustered by user")].append(
                res.candidates[0].verdict == "pass")
    return [(family, label, len(v), int(np.sum(v))) for (family, label), v in hits.items()]


STUDIES = {"gate_clustered": gate_clustered}
