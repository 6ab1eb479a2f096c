"""Simulator options: one shown item per request at a drawn position, and several logging-policy versions. The
logged propensities are the probabilities the items were shown with: E[Σ_shown 1/p] = the number of candidates
the logger can show at that position (every eligible one, thanks to ε-exploration)."""

from __future__ import annotations

import numpy as np

from recsys_causal.simulate import simulate_decision_log

VERSIONS = {"v1": {"share": 0.3, "temperature": 1.0, "epsilon": 0.2},
            "v2": {"share": 0.7, "temperature": 0.35, "epsilon": 0.05}}


def _inverse_propensity_check(log, n_requests):
    eligible = np.bincount(log.request_index[log.candidates["eligible"].to_numpy(bool)], minlength=n_requests)
    inv = np.zeros(n_requests)
    np.add.at(inv, log.request_index[log.shown], 1 / log.propensity[log.shown])
    z = (inv - eligible).mean() / ((inv - eligible).std(ddof=1) / np.sqrt(n_requests))
    return z


def test_one_logged_position_per_request():
    sim = simulate_decision_log(n_requests=20_000, n_candidates=6, slate_size=3, logged_positions=(0.5, 0.3, 0.2),
                                epsilon=0.3, seed=3)
    log = sim.log
    assert np.bincount(log.request_index[log.shown], minlength=20_000).max() == 1
    share = np.bincount(log.position[log.shown].astype(int), minlength=4)[1:] / log.shown.sum()
    assert np.allclose(share, [0.5, 0.3, 0.2], atol=0.015)
    rows = np.nonzero(log.shown)[0]
    k = log.position[rows].astype(int) - 1
    assert np.allclose(log.propensity[rows], sim.logging_position_probs[rows, k], rtol=0, atol=0)
    assert abs(_inverse_propensity_check(log, 20_000)) < 4


def test_two_policy_versions():
    sim = simulate_decision_log(n_requests=20_000, n_candidates=6, slate_size=1, policy_versions=VERSIONS, seed=4)
    log = sim.log
    version = log.requests["ranking_policy_version"].to_numpy()
    assert (version[:6000] == "v1").all() and (version[6000:] == "v2").all()  # rollout by decision time
    rows = np.nonzero(log.shown)[0]
    own = np.where(version[log.request_index[rows]] == "v1", log.column("propensity_v1")[rows],
                   log.column("propensity_v2")[rows])
    assert np.array_equal(own, log.propensity[rows])
    assert not np.allclose(log.column("propensity_v1")[rows], log.column("propensity_v2")[rows])
    assert abs(_inverse_propensity_check(log, 20_000)) < 4
