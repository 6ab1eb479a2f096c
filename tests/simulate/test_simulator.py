"""Simulator ground truth against Monte Carlo and a hand-worked tiny case; logged propensities are exact."""

import itertools

import numpy as np
import pytest

from recsys_causal import lifecycle_segment, read_decision_log, simulate_decision_log


@pytest.fixture(scope="module")
def big():
    return simulate_decision_log(n_requests=60_000, n_candidates=(5, 15), slate_size=3, epsilon=0.2, seed=11)


@pytest.mark.parametrize("reward", ["click", "purchase", "hide"])
def test_on_policy_truth_matches_monte_carlo(big, reward):
    """The exact value of the logging policy equals the mean observed slate reward within 4 standard errors."""
    truth = big.true_value(big.logging_position_probs, reward)
    observed = big.log.per_request_sum(np.nan_to_num(big.log.reward(reward)))
    se = observed.std(ddof=1) / np.sqrt(observed.size)
    assert abs(observed.mean() - truth) < 4 * se


def test_logged_propensities_are_exact(big):
    """E[sum_i 1{i at k} / p(i, k)] = number of candidates that can appear at k (importance-sampling identity)."""
    log = big.log
    shown = log.shown
    pos = log.position[shown].astype(int)
    inv = 1.0 / log.propensity[shown]
    req = log.request_index[shown]
    eligible = log.column("eligible")
    n_elig = log.per_request_sum(eligible.astype(float))
    for k in (1, 2, 3):
        per_req = np.bincount(req[pos == k], weights=inv[pos == k], minlength=log.n_requests)
        target = n_elig * (n_elig >= k)
        diff = per_req - target
        assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_slate_propensity_is_exact():
    """E[1 / P(slate)] = number of possible ordered slates when every slate has positive probability."""
    sim = simulate_decision_log(n_requests=40_000, n_candidates=5, slate_size=2, epsilon=0.3, ineligible_share=0.0,
                                seed=4)
    inv = 1.0 / sim.log.requests["slate_propensity"].to_numpy()
    assert abs(inv.mean() - 20) < 4 * inv.std(ddof=1) / np.sqrt(inv.size)


def test_position_marginals_sum_to_one_per_position(big):
    """Each position is filled once, unless the request has fewer eligible candidates than positions."""
    per_request = np.stack([big.log.per_request_sum(big.logging_position_probs[:, k]) for k in range(3)], axis=1)
    n_elig = big.log.per_request_sum(big.log.column("eligible").astype(float))
    expected = (n_elig[:, None] >= np.arange(1, 4)[None, :]).astype(float)
    assert (expected == 0).any()
    np.testing.assert_allclose(per_request, expected, atol=1e-12)


def test_hand_worked_tiny_case():
    """One request, three candidates, one slot, no exploration: V = sum_i softmax(s)_i * theta_1 * rho_i."""
    sim = simulate_decision_log(n_requests=1, n_candidates=3, slate_size=1, epsilon=0.0, ineligible_share=0.0, seed=7)
    s = sim.log.column("score")
    p = np.exp(s) / np.exp(s).sum()
    rho = sim.relevance
    assert sim.true_value(sim.logging_position_probs, "click") == pytest.approx(float((p * rho).sum()), rel=1e-12)
    # a deterministic policy that shows candidate 2: its value is rho_2 * theta_1 (theta_1 = 1)
    target = np.zeros((3, 1))
    target[2, 0] = 1.0
    assert sim.true_value(target, "click") == pytest.approx(rho[2], rel=1e-12)
    # enumerate the two-slot case by brute force over ordered slates
    sim2 = simulate_decision_log(n_requests=1, n_candidates=4, slate_size=2, epsilon=0.25, ineligible_share=0.0,
                                 position_bias=1.0, seed=8)
    w = np.exp(sim2.log.column("score"))
    value = 0.0
    for i, j in itertools.permutations(range(4), 2):
        prob = 0.75 * w[i] / w.sum() * w[j] / (w.sum() - w[i]) + 0.25 / 12
        value += prob * (sim2.relevance[i] * 1.0 + sim2.relevance[j] * 0.5)
    assert sim2.true_value(sim2.logging_position_probs, "click") == pytest.approx(value, rel=1e-12)


def test_simulated_log_passes_validation_and_is_reproducible():
    a = simulate_decision_log(n_requests=300, seed=1, experiment={"control": 0.5, "treatment": 0.5})
    b = simulate_decision_log(n_requests=300, seed=1, experiment={"control": 0.5, "treatment": 0.5})
    assert a.log.to_long_frame().equals(b.log.to_long_frame())
    log, report = read_decision_log(a.log.to_long_frame(), require_propensity=True)
    assert report.issues == [] and log.n_requests == 300
    # a user is always in one variant
    per_user = a.log.requests.groupby("user_id")["variant"].nunique()
    assert (per_user == 1).all()


def test_segments_follow_the_documented_edges():
    assert lifecycle_segment(np.array([4, 5, 50, 51])).tolist() == ["cold_start", "casual", "casual", "power"]
