import itertools

import numpy as np
import pytest

from recsys_causal.plackett_luce import plackett_luce_marginals, uniform_slate_marginals


def brute_force(w, k):
    out = np.zeros((w.size, k))
    for perm in itertools.permutations(range(w.size), k):
        p, rest = 1.0, w.sum()
        for j in perm:
            p *= w[j] / rest
            rest -= w[j]
        for pos, j in enumerate(perm):
            out[j, pos] += p
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_exact_marginals_match_enumeration(k):
    rng = np.random.default_rng(k)
    sizes = [3, 6, 5]
    scores = rng.normal(size=sum(sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    got = plackett_luce_marginals(scores, offsets, k, temperature=0.7)
    for r in range(3):
        s = scores[offsets[r]:offsets[r + 1]]
        np.testing.assert_allclose(got[offsets[r]:offsets[r + 1]], brute_force(np.exp(s / 0.7), k), atol=1e-13)


def test_monte_carlo_beyond_three_positions_is_close_and_seeded():
    rng = np.random.default_rng(0)
    s = rng.normal(size=6)
    exact = brute_force(np.exp(s), 4)
    approx = plackett_luce_marginals(s, np.array([0, 6]), 4, n_samples=40_000, seed=3)
    assert np.abs(approx - exact).max() < 4 * 0.5 / np.sqrt(40_000)
    again = plackett_luce_marginals(s, np.array([0, 6]), 4, n_samples=40_000, seed=3)
    np.testing.assert_array_equal(approx, again)


def test_ineligible_candidates_never_appear_and_short_requests():
    s = np.array([0.0, 5.0, 1.0, 0.3])
    got = plackett_luce_marginals(s, np.array([0, 2, 4]), 3, eligible=np.array([True, False, True, True]))
    assert got[1].sum() == 0.0
    np.testing.assert_allclose(got[0], [1.0, 0.0, 0.0])  # only one eligible candidate in request 1
    u = uniform_slate_marginals(np.array([0, 2, 4]), 3, eligible=np.array([True, False, True, True]))
    np.testing.assert_allclose(u, [[1, 0, 0], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0]])
