"""Cascade (RIPS) slate estimator by exact enumeration, prefix propensities, and the slate assumption check.

World of the enumeration: 3 items with cascade click probabilities 0.5 / 0.4 / 0.3, slates of 2 positions,
the deterministic target slate (item 0, item 1). The user clicks position 1 with probability ρ(a_1) and,
only if not, position 2 with probability ρ(a_2); the slate reward is the number of clicks, so the truth is
0.5 + 0.5 · 0.4 = 0.700. Every slate and every click outcome is enumerated with its probability; the
estimator's exact expectation is the probability-weighted sum of its per-request values.
"""

from itertools import permutations, product

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DecisionLog, simulate_decision_log
from recsys_causal.ope import (
    CascadeIPS,
    PositionIPS,
    StandardSlateIPS,
    TargetPolicy,
    evaluate_policies,
    policies,
)
from recsys_causal.ope.slate import SlateComponents, slate_components
from recsys_causal.ope.slate_checks import slate_ips_disagreement
from recsys_causal.plackett_luce import plackett_luce_marginals, slate_prefix_probabilities

RHO = np.array([0.5, 0.4, 0.3])
TARGET = (0, 1)
TRUTH = 0.5 + 0.5 * 0.4
OUTCOMES = ((1.0, 0.0), (0.0, 1.0), (0.0, 0.0))


def outcome_probs(slate):
    r1, r2 = RHO[slate[0]], RHO[slate[1]]
    return (r1, (1 - r1) * r2, (1 - r1) * (1 - r2))


def enumeration_log(slates, slate_probs, marginal, prefix=None):
    """One request per (slate, click outcome); candidates are (item, position) pairs so that independent
    positions may repeat an item. Returns the log, the probability of each request and the target policy."""
    req_rows, cand_rows, probs = [], [], []
    for s, (slate, ps) in enumerate(zip(slates, slate_probs, strict=True)):
        for o, (y, po) in enumerate(zip(OUTCOMES, outcome_probs(slate), strict=True)):
            rid = f"s{s}o{o}"
            req_rows.append({"request_id": rid, "slate_propensity": ps})
            probs.append(ps * po)
            for item, k in product(range(3), range(2)):
                shown = slate[k] == item
                cand_rows.append({
                    "request_id": rid, "item_id": f"{item}@{k + 1}", "shown": shown,
                    "position": float(k + 1) if shown else np.nan,
                    "propensity": marginal[k][item] if shown else np.nan,
                    "prefix_propensity": (prefix[s][k] if prefix is not None else np.nan) if shown else np.nan,
                    "click": y[k] if shown else np.nan})
    req = pd.DataFrame(req_rows).assign(decision_time=pd.Timestamp("2026-06-01", tz="UTC"))
    cand = pd.DataFrame(cand_rows)
    if prefix is None:
        cand = cand.drop(columns="prefix_propensity")
    log = DecisionLog.from_frames(req, cand, reward_columns=("click",))
    items = cand.groupby("request_id", sort=False)["item_id"].apply(list).iloc[0]  # same layout in every request
    target = np.zeros((len(items), 2))
    target[items.index(f"{TARGET[0]}@1"), 0] = 1.0
    target[items.index(f"{TARGET[1]}@2"), 1] = 1.0
    return log, np.array(probs), TargetPolicy("target", np.tile(target, (len(req), 1)), deterministic=True)


def expectation(estimator, log, probs, policy):
    c = slate_components(log, policy.probs, log.reward("click"), deterministic=True)
    assert c.n_excluded == 0
    (a, b), = estimator.terms(c)
    np.testing.assert_array_equal(b, 1.0)
    return float(probs @ a), c


def test_enumeration_independent_positions_is_exact():
    mu = [np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.1, 0.3])]  # each position drawn independently
    slates = list(product(range(3), repeat=2))
    log, probs, pol = enumeration_log(slates, [mu[0][a] * mu[1][b] for a, b in slates], mu)
    assert probs.sum() == pytest.approx(1.0, abs=1e-15)
    value, c = expectation(CascadeIPS(), log, probs, pol)
    assert value == pytest.approx(TRUTH, abs=1e-12)
    # position-based IPS assumes position-based clicks: its expectation is Σ_k E[click at k | t_k at k]
    # under the logging policy, here 0.5 + 0.4 · Σ_a μ_1(a)(1 − ρ_a) = 0.5 + 0.4 · 0.61 (not the truth)
    pbm, _ = expectation(PositionIPS(), log, probs, pol)
    assert pbm == pytest.approx(0.5 + 0.4 * float(mu[0] @ (1 - RHO)), abs=1e-12)
    std, _ = expectation(StandardSlateIPS(), log, probs, pol)
    assert std == pytest.approx(TRUTH, abs=1e-12)


def pl_slates(weights, epsilon):
    """Ordered 2-slates of the ε-mixture of Plackett–Luce and uniform without replacement, with their joint
    probabilities, the position marginals and the prefix probabilities, all by enumeration."""
    w = np.asarray(weights, dtype=float)
    slates = list(permutations(range(3), 2))
    joint = [(1 - epsilon) * w[a] / w.sum() * w[b] / (w.sum() - w[a]) + epsilon / 6 for a, b in slates]
    first = (1 - epsilon) * w / w.sum() + epsilon / 3
    mu = [first, np.zeros(3)]
    for (_, b), p in zip(slates, joint, strict=True):
        mu[1][b] += p
    return slates, joint, mu, [(first[a], p) for (a, _), p in zip(slates, joint, strict=True)]


@pytest.mark.parametrize("epsilon", [0.0, 0.3])
def test_enumeration_without_replacement(epsilon):
    slates, joint, mu, prefix = pl_slates([3.0, 1.0, 2.0], epsilon)
    # the package's Plackett–Luce marginals agree with the enumeration (ε = 0)
    if epsilon == 0:
        P = plackett_luce_marginals(np.log([3.0, 1.0, 2.0]), np.array([0, 3]), 2)
        np.testing.assert_allclose(P.T, np.array(mu), atol=1e-12)
    # with the exact prefix (joint) probabilities logged: exact
    log, probs, pol = enumeration_log(slates, joint, mu, prefix)
    value, c = expectation(CascadeIPS(), log, probs, pol)
    assert c.prefix_p is not None and value == pytest.approx(TRUTH, abs=1e-12)
    # marginals only: the documented approximation Σ_k v_k · μ(t_1..t_k) / Π_j μ_j(t_j)
    approx = 0.5 + 0.5 * 0.4 * joint[slates.index(TARGET)] / (mu[0][TARGET[0]] * mu[1][TARGET[1]])
    assert approx != pytest.approx(TRUTH, abs=1e-3)
    log_m, probs_m, pol_m = enumeration_log(slates, joint, mu)
    marg, _ = expectation(CascadeIPS(), log_m, probs_m, pol_m)
    assert marg == pytest.approx(approx, abs=1e-12)
    ignore, _ = expectation(CascadeIPS(prefix=False), log, probs, pol)
    assert ignore == pytest.approx(approx, abs=1e-12)


def test_marginal_warning_on_estimates_and_result():
    slates, joint, mu, prefix = pl_slates([3.0, 1.0, 2.0], 0.0)
    log_m, _, pol = enumeration_log(slates, joint, mu)
    res = evaluate_policies(log_m, {"t": pol}, mode="ranking", estimators=[CascadeIPS()])
    row = next(e for e in res.estimates if e.details["quantity"] == "value" and e.details["policy"] == "t")
    assert any("marginal propensities" in w and "without-replacement" in w for w in row.warnings)
    assert any("marginal propensities" in w for w in res.warnings)
    log, _, pol = enumeration_log(slates, joint, mu, prefix)
    res = evaluate_policies(log, {"t": pol}, mode="ranking", estimators=[CascadeIPS()])
    assert not any("marginal" in w for w in res.warnings)
    # an unusable prefix column is said, not silently used
    log.candidates.loc[log.candidates["shown"].to_numpy().nonzero()[0][:2], "prefix_propensity"] = np.nan
    res = evaluate_policies(log, {"t": pol}, mode="ranking", estimators=[CascadeIPS()])
    assert any("prefix_propensity is missing" in w for w in res.warnings)
    assert any("marginal propensities" in w for w in res.warnings)


def test_hand_worked_mismatch_zeroes_later_positions():
    # request 1 matches at position 1 only: position 2's click must get weight 0 (the target slate differs)
    c = SlateComponents(w=np.array([[2.0, 0.0, 3.0]]), y=np.array([[0.0, 0.0, 1.0]]), alpha=np.ones(3),
                        slate_w=np.array([np.nan]), requests=np.arange(1), n_excluded=0)
    assert CascadeIPS().contributions(c)[0] == 0.0


def test_prefix_probabilities_by_enumeration():
    rng = np.random.default_rng(3)
    scores, eligible, eps, temp = rng.normal(size=5), np.array([True, True, False, True, True]), 0.2, 0.7
    w = np.where(eligible, np.exp(scores / temp), 0.0)
    elig_idx = np.nonzero(eligible)[0]
    for slate in permutations(elig_idx, 3):
        position = np.full(5, np.nan)
        position[list(slate)] = [1.0, 2.0, 3.0]
        got = slate_prefix_probabilities(scores, np.array([0, 5]), position, temp, epsilon=eps, eligible=eligible)
        pl, uni = 1.0, 1.0
        for k, item in enumerate(slate):
            pl *= w[item] / (w.sum() - w[list(slate[:k])].sum())
            uni *= 1 / (elig_idx.size - k)
            assert got[item] == pytest.approx((1 - eps) * pl + eps * uni, rel=1e-12)
        assert np.isnan(got[[i for i in range(5) if i not in slate]]).all()


def test_simulator_prefix_propensities_and_cascade_truth():
    sim = simulate_decision_log(n_requests=300, n_candidates=6, slate_size=3, epsilon=0.2, click_model="cascade",
                                log_prefix_propensity=True, seed=4)
    log, cand = sim.log, sim.log.candidates
    last, first = (cand["position"] == 3).to_numpy(), (cand["position"] == 1).to_numpy()
    sp = log.requests["slate_propensity"].to_numpy()[log.request_index[last]]
    np.testing.assert_allclose(cand["prefix_propensity"].to_numpy()[last], sp, rtol=1e-9)
    np.testing.assert_allclose(cand["prefix_propensity"].to_numpy()[first], cand["propensity"].to_numpy()[first],
                               rtol=1e-12)
    clicks = log.per_request_sum(np.nan_to_num(log.reward("click")))
    assert clicks.max() == 1.0  # the cascade stops at the first click
    top = policies.top_k(log, "pred_new", 3)
    rho = sim.relevance
    order = [np.nonzero(top.probs[log.offsets[0]:log.offsets[1], k])[0][0] for k in range(3)]
    r = rho[order]
    assert sim.request_values(top.probs)[0] == pytest.approx(r[0] + (1 - r[0]) * r[1] + (1 - r[0]) * (1 - r[1]) * r[2])
    with pytest.raises(ValueError, match="deterministic"):
        sim.true_value(policies.softmax(log, "pred_new", 3).probs)


def _slates_and_clicks(rng, n, cascade: bool):
    """Uniform 2-slates of 3 items without replacement, and clicks from the cascade or the position-based model."""
    slates = np.array(list(permutations(range(3), 2)))
    s = slates[rng.integers(0, 6, size=n)]
    u = rng.random((n, 2))
    if cascade:
        y1 = u[:, 0] < RHO[s[:, 0]]
        y = np.stack([y1, ~y1 & (u[:, 1] < RHO[s[:, 1]])], axis=1).astype(float)
    else:
        y = (u < RHO[s] * np.array([1.0, 0.6])).astype(float)
    return s, y


def _cascade_components(rng, n, cascade: bool):
    """Uniform without-replacement logging of 2 of 3 items; deterministic target (0, 1); clicks from the
    cascade model or the position-based model P(click | a at k) = ρ_a θ_k with θ = (1, 0.6)."""
    s, y = _slates_and_clicks(rng, n, cascade)
    match = s == np.array(TARGET)
    w = match / (1 / 3)
    same = match.all(axis=1)
    return SlateComponents(w=w, y=y, alpha=np.ones(2), slate_w=np.where(same, 6.0, 0.0), requests=np.arange(n),
                           n_excluded=0, deterministic=True)


def test_disagreement_warning_fires_in_a_cascade_world_not_in_a_position_based_one():
    """20 seeded logs of 20,000 requests per world. Position-based world: both estimators are unbiased, so a
    firing is a false alarm with probability 5% per log (5.5% measured over 200 logs);
    P(Binomial(20, 0.05) ≥ 5) = 0.003, so at most 4 firings. Cascade world: position-based IPS expects
    0.5 + 0.4 · E[1 − ρ(a_1) | a_2 = 1] = 0.5 + 0.4 · 0.6 = 0.74 against the truth 0.70; the paired SE is
    about 0.0105 at this size, so |z| ≈ 3.8 and the warning fires with probability ≈ 0.97 (98% measured over
    200 logs); we require at least 15 of 20 (P(Binomial(20, 0.97) ≤ 14) < 1e-4)."""
    fired = {True: 0, False: 0}
    for cascade in (True, False):
        rng = np.random.default_rng(11 if cascade else 12)
        for _ in range(20):
            check = slate_ips_disagreement(_cascade_components(rng, 20_000, cascade), [PositionIPS()])[0]
            fired[cascade] += check["warning"] is not None
    assert fired[True] >= 15, fired
    assert fired[False] <= 4, fired


def test_prefix_column_survives_a_file_round_trip_and_is_not_an_outcome(tmp_path):
    from recsys_causal import read_decision_log, write_decision_log

    sim = simulate_decision_log(n_requests=400, n_candidates=5, slate_size=2, click_model="cascade",
                                log_prefix_propensity=True, seed=8)
    log, _ = read_decision_log(write_decision_log(sim.log, tmp_path / "log.parquet"), require_propensity=True)
    assert "prefix_propensity" not in log.reward_columns
    pol = policies.top_k(log, "pred_new", 2)
    got = evaluate_policies(log, {"t": pol}, mode="ranking", estimators=[CascadeIPS()])
    direct = evaluate_policies(sim.log, {"t": policies.top_k(sim.log, "pred_new", 2)}, mode="ranking",
                               estimators=[CascadeIPS()])
    assert got.estimates[1].value == pytest.approx(direct.estimates[1].value, rel=1e-12)
    assert not any("marginal propensities" in w for w in got.warnings)


def _log_from_components(rng, n, cascade):
    """The same worlds as a decision log (3 candidates per request, uniform 2-slates without replacement)."""
    s, y = _slates_and_clicks(rng, n, cascade)
    rid = np.char.add("r", np.arange(n).astype(str))
    pos = np.full((n, 3), np.nan)
    pos[np.arange(n), s[:, 0]], pos[np.arange(n), s[:, 1]] = 1.0, 2.0
    click = np.full((n, 3), np.nan)
    click[np.arange(n), s[:, 0]], click[np.arange(n), s[:, 1]] = y[:, 0], y[:, 1]
    cand = pd.DataFrame({"request_id": np.repeat(rid, 3), "item_id": np.tile(["0", "1", "2"], n),
                         "shown": np.isfinite(pos).ravel(), "position": pos.ravel(),
                         "propensity": np.where(np.isfinite(pos), 1 / 3, np.nan).ravel(), "click": click.ravel()})
    req = pd.DataFrame({"request_id": rid, "decision_time": pd.Timestamp("2026-06-01", tz="UTC"),
                        "slate_propensity": 1 / 6})
    log = DecisionLog.from_frames(req, cand, reward_columns=("click",))
    target = np.zeros((3 * n, 2))
    target[0::3, 0], target[1::3, 1] = 1.0, 1.0  # item 0 first, item 1 second
    return log, TargetPolicy("t", target, deterministic=True)


@pytest.mark.parametrize("cascade", [True, False])
def test_disagreement_warning_reaches_the_result(cascade):
    """One seeded log per world through evaluate_policies (the rates are measured in the test above)."""
    log, pol = _log_from_components(np.random.default_rng(5), 20_000, cascade)
    res = evaluate_policies(log, {"t": pol}, mode="ranking", estimators=[PositionIPS(), StandardSlateIPS()])
    fired = [w for w in res.warnings if "disagrees with standard slate IPS" in w]
    pbm = next(e for e in res.estimates if e.details["quantity"] == "value" and e.method == "PI-IPS")
    assert bool(fired) == cascade and bool([w for w in pbm.warnings if "disagrees" in w]) == cascade
    if cascade:
        assert "position-based clicks" in fired[0]
