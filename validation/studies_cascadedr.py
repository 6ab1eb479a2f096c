"""Cascade doubly robust (cascade-DR) against cascade IPS in a cascade world with exact truth.

Simulated Plackett–Luce logs (ε = 0.2) with exact prefix propensities and cascade clicks; the target is the
deterministic top-3 of ``pred_new``; truth is :meth:`SimulatedLog.true_value` (exact). Each row is the 95%
coverage of the library's analytic interval (moments → estimates); notes give the bias in Monte Carlo standard
errors and the mean squared error, with its ratio to cascade IPS on the same logs. Reward models:

- ``relevance``: ``q̂(i) = ρ_i``, the item's cascade click probability, the same at every position (right at
  position 1, too high below it since it ignores the items above) — a reasonable model;
- ``fitted``: :class:`~recsys_causal.ope.RewardModel` cross-fitted per position on the candidate features;
- ``target survival``: ``q̂(i, k) = ρ_i Π_{j<k} (1 − ρ_{t_j})`` with ``t`` the target slate, the true
  position-``k`` click probability on the logged prefixes that carry weight (those equal to the target's);
- ``wrong``: ``q̂(i) = 1 − ρ_i``, deliberately bad: cascade-DR stays unbiased, with more variance.

The note's MSE difference to cascade IPS is paired (same logs) with its Monte Carlo standard error.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

Row = tuple

SIM = {"n_requests": 4000, "n_candidates": 5, "slate_size": 3, "epsilon": 0.2}
MODELS = ("relevance", "fitted", "target survival", "wrong")


def _one_log(sim, ests, models):
    """Errors and interval hits of cascade IPS and of cascade-DR with each reward model on one log."""
    from recsys_causal.kernel.moments import Moments
    from recsys_causal.ope import policies
    from recsys_causal.ope.cascade_dr import with_reward_model
    from recsys_causal.ope.components import slate_components
    from recsys_causal.ope.estimates import estimates_from_moments, estimator_columns

    log = sim.log
    pol = policies.top_k(log, "pred_new", SIM["slate_size"])
    truth = sim.true_value(pol.probs, "click")
    base = slate_components(log, pol.probs, log.reward("click"), deterministic=True)
    out = {}
    for label, q_hat in models.items():
        c = with_reward_model(base, log, pol.probs, q_hat)
        mom = Moments.from_columns(estimator_columns(ests, c, c.y @ c.alpha))
        rows = [e for e in estimates_from_moments(mom, ests, policy="t", reward="click")
                if e.details["quantity"] == "value"][1:]
        for est, e in zip(ests, rows, strict=True):
            key = "RIPS (cascade)" if est.name.startswith("RIPS") else f"cascade-DR, {label}"
            out[key] = (e.value - truth, e.ci_low <= truth <= e.ci_high)
    return out, truth


def _target_survival(sim, probs) -> np.ndarray:
    """``q̂(i, k) = ρ_i Π_{j<k} (1 − ρ_{t_j})`` per candidate and position for a deterministic target."""
    log = sim.log
    rho_t = np.stack([log.per_request_sum(probs[:, k] * sim.relevance) for k in range(probs.shape[1])], axis=1)
    survive = np.cumprod(np.concatenate([np.ones((log.n_requests, 1)), 1 - rho_t[:, :-1]], axis=1), axis=1)
    return sim.relevance[:, None] * survive[log.request_index]


def _note(errors: list[float], ips: list[float] | None, truth: float) -> str:
    e = np.asarray(errors)
    mcse = e.std(ddof=1) / np.sqrt(e.size)
    text = (f"bias {e.mean():+.5f} ({e.mean() / mcse:+.1f} MC SE, {e.mean() / truth:+.2%} of the truth); "
            f"MSE {np.mean(e ** 2):.3g}")
    if ips is None:
        return text
    d = e ** 2 - np.asarray(ips) ** 2
    return (text + f" = {np.mean(e ** 2) / np.mean(np.square(ips)):.2f} × cascade IPS (difference "
                   f"{d.mean():+.2g} ± {d.std(ddof=1) / np.sqrt(d.size):.1g} MC SE)")


def cascade_dr_vs_ips(runs: int, seed: int = 0) -> list[Row]:
    """Coverage, bias and MSE of cascade-DR (three reward models) and cascade IPS on ``runs`` simulated logs."""
    from recsys_causal.ope import CascadeDR, CascadeIPS, RewardModel, policies
    from recsys_causal.simulate import simulate_decision_log
    from recsys_causal.simulate.world import make_world

    world = make_world(seed=seed + 71_000)
    ests = [CascadeDR(), CascadeIPS()]
    errors, hits, truths = defaultdict(list), defaultdict(list), []
    for s in range(runs):
        sim = simulate_decision_log(**SIM, world=world, click_model="cascade", log_prefix_propensity=True,
                                    seed=seed + 72_000 + s)
        fitted = RewardModel(seed=s).predict_positions(sim.log, "click", SIM["slate_size"])
        top = policies.top_k(sim.log, "pred_new", SIM["slate_size"]).probs
        models = {"relevance": sim.relevance, "fitted": fitted, "target survival": _target_survival(sim, top),
                  "wrong": 1 - sim.relevance}
        out, truth = _one_log(sim, ests, models)
        truths.append(truth)
        for key, (err, hit) in out.items():
            errors[key].append(err)
            hits[key].append(hit)
    fam, truth = "OPE slate, cascade-DR", float(np.mean(truths))
    rows = [(fam, "RIPS (cascade), Plackett–Luce logging, prefix propensities (reference)", runs,
             int(np.sum(hits["RIPS (cascade)"])), _note(errors["RIPS (cascade)"], None, truth))]
    for label in MODELS:
        key = f"cascade-DR, {label}"
        rows.append((fam, f"{key} reward model, Plackett–Luce logging, prefix propensities", runs,
                     int(np.sum(hits[key])), _note(errors[key], errors["RIPS (cascade)"], truth)))
    return rows


STUDIES = {"ope_cascade_dr": cascade_dr_vs_ips}
