"""mode="logged_position": every impression evaluated at its logged position (per-impression mean, clustered
by request), excluded requests counted by reason, support per position; the top_slot default and the slate=True
alias unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DecisionLog, simulate_decision_log
from recsys_causal.errors import ConfigError
from recsys_causal.ope import evaluate_policies, policies
from recsys_causal.ope.policies import TargetPolicy


def _hand_log():
    """Five requests, two candidates A, B each; target: A at position 1 w.p. 0.8 (B 0.2), B at position 2 w.p.
    0.8 (A 0.2). r1: A@1 (p .5, click 1); r2: B@2 (p .4, click 1); r3: A@1 (p .5, click 0) and B@2 (p .4,
    click 1); r4: B@3 only (outside the target's 2 positions); r5: A@1 with an immature click."""
    shown = {"r1": {"A": (1, 0.5, 1.0)}, "r2": {"B": (2, 0.4, 1.0)}, "r3": {"A": (1, 0.5, 0.0), "B": (2, 0.4, 1.0)},
             "r4": {"B": (3, 0.3, 1.0)}, "r5": {"A": (1, 0.5, np.nan)}}
    rows = []
    for rid, items in shown.items():
        for item in ("A", "B"):
            pos, p, y = items.get(item, (np.nan, np.nan, np.nan))
            rows.append({"request_id": rid, "item_id": item, "shown": item in items, "position": float(pos),
                         "propensity": p, "click": y})
    req = pd.DataFrame({"request_id": list(shown), "decision_time": pd.Timestamp("2026-06-01", tz="UTC")})
    log = DecisionLog.from_frames(req, pd.DataFrame(rows), reward_columns=("click",))
    target = np.tile([[0.8, 0.2], [0.2, 0.8]], (5, 1))
    return log, TargetPolicy("t", target)


def _value(res, estimator):
    return next(e for e in res.estimates if e.details["quantity"] == "value" and e.details["estimator"] == estimator)


def test_hand_computed_log():
    log, pol = _hand_log()
    res = evaluate_policies(log, {"t": pol}, mode="logged_position", estimators=["IPS", "SNIPS"])
    # impressions r1A, r2B, r3A, r3B: w = .8/.5, .8/.4, .8/.5, .8/.4; y = 1, 1, 0, 1
    w, y, g = np.array([1.6, 2.0, 1.6, 2.0]), np.array([1.0, 1.0, 0.0, 1.0]), np.array([0, 1, 2, 2])
    n, G = 4, 3

    def cluster_se(psi):  # √(G/(G−1) Σ_g S_g²) / n, S_g the request's sum of influence values
        s = np.bincount(g, weights=psi)
        return np.sqrt(G / (G - 1) * np.sum(s**2)) / n

    ips, snips = _value(res, "IPS"), _value(res, "SNIPS")
    assert ips.value == pytest.approx(5.6 / 4, abs=1e-12)
    assert ips.se == pytest.approx(cluster_se(w * y - 1.4), abs=1e-12)
    assert ips.se == pytest.approx(np.sqrt(1.5 * (0.2**2 + 0.6**2 + 0.8**2)) / 4, abs=1e-12)  # S_g = .2, .6, −.8
    v = 5.6 / 7.2
    assert snips.value == pytest.approx(v, abs=1e-12)
    assert snips.se == pytest.approx(cluster_se((w * y - v * w) / w.mean()), abs=1e-12)
    logging = res.estimates[0]
    assert logging.value == pytest.approx(0.75, abs=1e-12) and logging.n == 3  # 3 requests, 4 impressions
    for e in res.estimates:
        assert e.details["mode"] == "logged_position"
        assert e.details["excluded"] == {"no_item_at_evaluated_positions": 1, "immature_reward": 1}
    by_pos = res.support[("t", "click")].by_position
    assert by_pos["position"].tolist() == [1, 2] and by_pos["n"].tolist() == [2, 2]
    assert by_pos["max_weight_share"].tolist() == pytest.approx([0.5, 0.5])


def test_top_slot_default_unchanged_and_exclusions_counted():
    """On a log with one shown item per request at positions 1–3, top_slot keeps only the position-1 requests
    and says so by reason; mode="top_slot" is the default exactly; logged_position uses every request."""
    sim = simulate_decision_log(n_requests=1500, n_candidates=6, slate_size=3, logged_positions=(0.4, 0.3, 0.3),
                                seed=2)
    at1 = int((sim.log.shown & (sim.log.position == 1)).sum())
    pol1 = policies.softmax(sim.log, "pred_new", 1)
    default = evaluate_policies(sim.log, {"t": pol1}, rewards=["click"]).to_frame()
    explicit = evaluate_policies(sim.log, {"t": pol1}, rewards=["click"], mode="top_slot")
    pd.testing.assert_frame_equal(default, explicit.to_frame())
    assert {e.n for e in explicit.estimates} == {at1}
    assert explicit.estimates[0].details["excluded"] == {"no_item_at_evaluated_positions": 1500 - at1,
                                                         "immature_reward": 0}
    full = evaluate_policies(sim.log, {"t": policies.softmax(sim.log, "pred_new", 3)}, rewards=["click"],
                             mode="logged_position")
    assert {e.n for e in full.estimates} == {1500}
    assert full.estimates[0].details["excluded"] == {"no_item_at_evaluated_positions": 0, "immature_reward": 0}


def test_slate_true_is_a_deprecated_alias_of_ranking():
    sim = simulate_decision_log(n_requests=800, n_candidates=6, slate_size=2, seed=4)
    pol = policies.softmax(sim.log, "pred_new", 2)
    with pytest.warns(DeprecationWarning, match="mode='ranking'"):
        old = evaluate_policies(sim.log, {"t": pol}, slate=True)
    new = evaluate_policies(sim.log, {"t": pol}, mode="ranking")
    pd.testing.assert_frame_equal(old.to_frame(), new.to_frame())
    assert {e.details["mode"] for e in new.estimates} == {"ranking"}
    with pytest.raises(ConfigError, match="logged_position"):
        evaluate_policies(sim.log, {"t": pol}, mode="logged-position")
    with pytest.raises(ConfigError, match="contradicts"), pytest.warns(DeprecationWarning):
        evaluate_policies(sim.log, {"t": pol}, mode="top_slot", slate=True)


def test_on_full_slates_ips_is_the_position_ips_over_k_and_so_is_the_truth():
    """Exact identities on a log of full slates of K = 3: per-impression IPS = PI-IPS / K, and the simulator's
    logged-position truth = its ranking truth / K."""
    sim = simulate_decision_log(n_requests=1000, n_candidates=6, slate_size=3, ineligible_share=0.0, seed=5)
    pol = policies.softmax(sim.log, "pred_new", 3)
    lp = _value(evaluate_policies(sim.log, {"t": pol}, mode="logged_position", estimators=["IPS"]), "IPS")
    rk = _value(evaluate_policies(sim.log, {"t": pol}, mode="ranking", estimators=["PI-IPS"]), "PI-IPS")
    assert lp.value == pytest.approx(rk.value / 3, rel=1e-12)
    assert lp.se == pytest.approx(rk.se / 3, rel=1e-9)  # clustered by request = the per-request slate sum
    truth = sim.true_value(pol.probs, "click", mode="logged_position")
    assert truth == pytest.approx(sim.true_value(pol.probs, "click") / 3, rel=1e-12)


def test_small_monte_carlo_against_exact_truth():
    """30 logs of one item per request at positions 1–3: the mean error of IPS and DR is within 3 MC SE of 0
    and the reported SE matches the spread of the errors (the ≥ 500-run coverage study is in
    validation/studies_logpos.py)."""
    errs, ses = {"IPS": [], "DR": []}, {"IPS": [], "DR": []}
    for s in range(30):
        sim = simulate_decision_log(n_requests=2000, n_candidates=6, slate_size=3, logged_positions=(0.5, 0.3, 0.2),
                                    epsilon=0.3, seed=100 + s)
        pol = policies.softmax(sim.log, "pred_new", 3)
        truth = sim.true_value(pol.probs, "click", mode="logged_position")
        res = evaluate_policies(sim.log, {"t": pol}, mode="logged_position", estimators=["IPS", "DR"], seed=s)
        for name in errs:
            e = _value(res, name)
            errs[name].append(e.value - truth)
            ses[name].append(e.se)
    for name in errs:
        e = np.asarray(errs[name])
        assert abs(e.mean()) < 3 * e.std(ddof=1) / np.sqrt(e.size), name
        assert 0.6 < np.mean(ses[name]) / e.std(ddof=1) < 1.6, name  # SE of an SD from 30 runs is ~13%


def test_extreme_weight_at_position_2_shows_in_the_support_report():
    sim = simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=3, logged_positions=(1 / 3,) * 3,
                                epsilon=0.3, seed=7)
    pol = policies.softmax(sim.log, "pred_new", 3)
    clean = evaluate_policies(sim.log, {"t": pol}, mode="logged_position", estimators=["IPS"])
    rep = clean.support[("t", "click")]
    assert rep.verdict == "supported" and not any(r.startswith("position") for r in rep.reasons)
    cand = sim.log.candidates.copy()
    at2 = np.nonzero(sim.log.shown & (sim.log.position == 2) & (pol.probs[:, 1] > 0.3))[0][0]
    cand.loc[at2, "propensity"] = 1e-4  # one extreme weight (≥ 3000) among ~1000 impressions at position 2
    log = DecisionLog(sim.log.requests, cand, sim.log.offsets, sim.log.reward_columns, source="edited")
    rep = evaluate_policies(log, {"t": pol}, mode="logged_position", estimators=["IPS"]).support[("t", "click")]
    row = rep.by_position.set_index("position").loc[2]
    assert row["max_weight_share"] > 0.5 and row["max_weight"] == pytest.approx(pol.probs[at2, 1] / 1e-4)
    assert rep.verdict != "supported"
    assert any(r.startswith("position 2: one impression carries") for r in rep.reasons)
    others = rep.by_position.set_index("position").loc[[1, 3], "max_weight_share"]
    assert (others < 0.05).all()


def test_engine_path_refuses_and_bootstrap_resamples_requests(tmp_path):
    log, pol = _hand_log()
    with pytest.raises(ConfigError, match="logged_position"):
        evaluate_policies(str(tmp_path / "log.parquet"), {"t": pol}, mode="logged_position")
    sim = simulate_decision_log(n_requests=600, n_candidates=5, slate_size=3, seed=9)
    p3 = policies.softmax(sim.log, "pred_new", 3)
    res = evaluate_policies(sim.log, {"t": p3}, mode="logged_position", estimators=["IPS"], bootstrap=400)
    ips = _value(res, "IPS")
    width = ips.details["bootstrap_ci_high"] - ips.details["bootstrap_ci_low"]
    assert 0.7 < width / (ips.ci_high - ips.ci_low) < 1.4  # request-level resampling ≈ the clustered interval


@pytest.fixture(scope="module")
def position_biased():
    """One shown item per request at positions 1–3, clicks with position bias θ_k = k^-1."""
    return simulate_decision_log(n_requests=4000, n_candidates=6, slate_size=3, logged_positions=(0.5, 0.3, 0.2),
                                 position_bias=1.0, seed=5)


def _dm_from_components(sim, target, q_hat):
    from recsys_causal.ope.logged_position import logged_position_components

    c, _, _ = logged_position_components(sim.log, target.probs, sim.log.reward("click"), q_hat)
    return c.dm.mean()


def test_dm_with_the_exact_per_position_model_is_the_exact_estimand(position_biased):
    """DM with q̂(i, k) = E[click | i at k] (the simulator's exact expectations) equals the exact estimand of
    the mode; the same model read at position 1 only (a position-blind q̂) misses it by the position effect."""
    sim = position_biased
    target = policies.softmax(sim.log, "pred_new", 3)
    exact = sim.expected_reward("click")
    truth = sim.true_value(target.probs, "click", mode="logged_position")
    assert _dm_from_components(sim, target, exact) == pytest.approx(truth, rel=1e-12)
    blind = _dm_from_components(sim, target, exact[:, 0])
    assert blind - truth > 0.2 * truth  # positions 2–3 are clicked less: a position-1 model overstates them


def test_a_reward_model_is_fitted_per_logged_position(position_biased):
    """evaluate_policies' DM in logged_position mode reads RewardModel.predict_positions: q̂(i, k) cross-fitted
    on the impressions logged at position k, DM = mean over impressions of Σ_i π(i at k) q̂(i, k) (by hand)."""
    from recsys_causal.ope.reward_model import RewardModel

    sim = position_biased
    log, target = sim.log, policies.softmax(sim.log, "pred_new", 3)
    res = evaluate_policies(log, {"t": target}, mode="logged_position", estimators=["DM", "DR"],
                            reward_model=RewardModel(seed=3), seed=3)
    q = RewardModel(seed=3).predict_positions(log, "click", 3)
    rows = np.nonzero(log.shown & (log.position <= 3))[0]
    k = log.position[rows].astype(int) - 1
    m = np.stack([np.bincount(log.request_index, weights=target.probs[:, j] * q[:, j], minlength=log.n_requests)
                  for j in range(3)], axis=1)
    dm = m[log.request_index[rows], k]
    assert _value(res, "DM").value == pytest.approx(dm.mean(), rel=1e-12)
    w, y = target.probs[rows, k] / log.propensity[rows], log.reward("click")[rows]
    assert _value(res, "DR").value == pytest.approx(np.mean(dm + w * (y - q[rows, k])), rel=1e-12)


def test_a_prediction_model_with_too_few_positions_is_a_typed_error(position_biased):
    from recsys_causal.errors import EstimationError
    from recsys_causal.ope.logged_position import logged_position_components

    sim = position_biased
    target = policies.softmax(sim.log, "pred_new", 3)
    with pytest.raises(EstimationError, match="predicts 2 positions"):
        logged_position_components(sim.log, target.probs, sim.log.reward("click"), sim.expected_reward("click")[:, :2])
