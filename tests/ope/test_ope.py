"""Off-policy evaluation against hand-worked logs, exact identities and simulated logs with exact truth."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DecisionLog, EstimationError, SchemaError, read_decision_log, simulate_decision_log
from recsys_causal.ope import (
    DM,
    DR,
    IPS,
    SNDR,
    SNIPS,
    DRos,
    PositionIPS,
    SNPositionIPS,
    StandardSlateIPS,
    SwitchDR,
    TargetPolicy,
    evaluate_policies,
    policies,
)
from recsys_causal.ope.single_slot import components
from recsys_causal.simulate.world import make_world


def tiny_log():
    """Two requests, two candidates each; item shown at position 1 with its logging propensity."""
    req = pd.DataFrame({"request_id": ["r1", "r2"], "decision_time": pd.to_datetime(["2026-06-01"] * 2, utc=True),
                        "user_id": ["u1", "u2"]})
    cand = pd.DataFrame({"request_id": ["r1", "r1", "r2", "r2"], "item_id": ["a", "b", "a", "b"],
                         "shown": [True, False, False, True], "position": [1.0, np.nan, np.nan, 1.0],
                         "propensity": [0.5, np.nan, np.nan, 0.25], "click": [1.0, np.nan, np.nan, 0.0],
                         "pred_q": [0.6, 0.2, 0.3, 0.4]})
    return DecisionLog.from_frames(req, cand)


def test_hand_worked_single_slot_estimators():
    log = tiny_log()
    pi = np.array([[0.8], [0.2], [0.5], [0.5]])  # target: r1 a 0.8 b 0.2; r2 a 0.5 b 0.5
    res = evaluate_policies(log, {"t": pi}, rewards=["click"], reward_model="pred_q",
                            estimators=[DM(), IPS(), IPS(clip=1.5), SNIPS(), DR(), SNDR(), SwitchDR(tau=1.8),
                                        DRos(lam=1.0)])
    v = {e.details["estimator"] + (" clip" if "clip" in repr(e) else ""): e.value for e in res.estimates
         if e.details["quantity"] == "value" and e.details["policy"] == "t"}
    # weights: r1 0.8/0.5 = 1.6 (click 1); r2 0.5/0.25 = 2.0 (click 0)
    dm = [0.8 * 0.6 + 0.2 * 0.2, 0.5 * 0.3 + 0.5 * 0.4]  # 0.52, 0.35
    assert v["DM"] == pytest.approx(np.mean(dm))
    ips = [e.value for e in res.estimates if e.method == "IPS" and e.details["quantity"] == "value"]
    assert ips[0] == pytest.approx((1.6 * 1 + 2.0 * 0) / 2)
    assert ips[1] == pytest.approx((1.5 * 1 + 1.5 * 0) / 2)  # clipped at 1.5
    assert v["SNIPS"] == pytest.approx(1.6 / (1.6 + 2.0))
    dr = [dm[0] + 1.6 * (1 - 0.6), dm[1] + 2.0 * (0 - 0.4)]
    assert v["DR"] == pytest.approx(np.mean(dr))
    assert v["SNDR"] == pytest.approx(np.mean(dm) + (1.6 * 0.4 + 2.0 * -0.4) / 3.6)
    assert v["Switch-DR"] == pytest.approx(np.mean([dr[0], dm[1]]))  # w=2.0 > 1.8 falls back to DM
    shrunk = [1.6 / (1.6**2 + 1), 2.0 / (2.0**2 + 1)]
    assert v["DRos"] == pytest.approx(np.mean([dm[0] + shrunk[0] * 0.4, dm[1] - shrunk[1] * 0.4]))
    logging = next(e for e in res.estimates if e.details["policy"] == "logging")
    assert logging.value == pytest.approx(0.5)
    # SNIPS influence / delta-method standard error by hand
    snips = next(e for e in res.estimates if e.method == "SNIPS")
    psi = (np.array([1.6, 0.0]) - v["SNIPS"] * np.array([1.6, 2.0])) / 1.8
    assert snips.se == pytest.approx(np.std(psi, ddof=1) / np.sqrt(2))


@pytest.fixture(scope="module")
def sim():
    return simulate_decision_log(n_requests=4000, n_candidates=8, slate_size=3, epsilon=0.2, seed=3)


def test_identities(sim):
    log = sim.log
    logging1 = TargetPolicy("logging", sim.logging_position_probs[:, :1])
    c = components(log, logging1.probs, log.reward("click"), None)
    np.testing.assert_allclose(c.w, 1.0, rtol=1e-12)
    res = evaluate_policies(log, {"same": logging1}, rewards=["click"], estimators=[IPS()])
    ips = next(e for e in res.estimates if e.details["quantity"] == "value" and e.details["policy"] == "same")
    lift = next(e for e in res.estimates if e.details["quantity"] == "lift")
    y = log.reward("click")[log.shown & (log.position == 1)]
    assert ips.value == pytest.approx(y.mean(), rel=1e-12)
    assert lift.value == pytest.approx(0.0, abs=1e-12) and lift.se == pytest.approx(0.0, abs=1e-12)

    target = policies.softmax(log, "pred_new", 1, temperature=0.5)
    truth = sim.true_value(target.probs, "click")
    perfect = sim.expected_reward("click")[:, 0]
    log.candidates["pred_perfect"] = perfect
    log.candidates["pred_zero"] = 0.0
    est = [DM(), DR(), IPS(), SwitchDR(tau=np.inf), SwitchDR(tau=0.0), DRos(lam=np.inf), DRos(lam=0.0)]
    perfect_res = evaluate_policies(log, {"t": target}, rewards=["click"], reward_model="pred_perfect", estimators=est)
    vals = [e for e in perfect_res.estimates if e.details["quantity"] == "value" and e.details["policy"] == "t"]
    dm, dr, ips, sw_inf, sw_0, os_inf, os_0 = vals
    assert dm.value == pytest.approx(truth, rel=1e-12)  # DM with the true reward function is the truth
    assert abs(dr.value - truth) < 3 * dr.se and dr.se < ips.se
    assert sw_inf.value == pytest.approx(dr.value, rel=1e-12) and os_inf.value == pytest.approx(dr.value, rel=1e-12)
    assert sw_0.value == pytest.approx(dm.value, rel=1e-12) and os_0.value == pytest.approx(dm.value, rel=1e-12)
    zero = evaluate_policies(log, {"t": target}, rewards=["click"], reward_model="pred_zero", estimators=[DR(), IPS()])
    z = [e for e in zero.estimates if e.details["quantity"] == "value" and e.details["policy"] == "t"]
    assert z[0].value == pytest.approx(z[1].value, rel=1e-12) and z[0].se == pytest.approx(z[1].se, rel=1e-12)


def test_bias_and_coverage_over_200_simulated_logs():
    world = make_world(seed=1)
    names = ["IPS", "SNIPS", "DR", "SNDR", "PI-IPS", "SN-PI-IPS"]
    errors = {n: [] for n in names}
    hits = dict.fromkeys(names, 0)
    runs = 200
    for s in range(runs):
        sim = simulate_decision_log(n_requests=1500, n_candidates=8, slate_size=3, epsilon=0.2, world=world,
                                    seed=1000 + s)
        pol = policies.softmax(sim.log, "pred_new", 3, temperature=0.5)
        t1, t3 = sim.true_value(pol.probs[:, :1], "click"), sim.true_value(pol.probs, "click")
        single = evaluate_policies(sim.log, {"p": pol.probs[:, :1]}, estimators=[IPS(), SNIPS(), DR(), SNDR()])
        slate = evaluate_policies(sim.log, {"p": pol}, mode="ranking", estimators=[PositionIPS(), SNPositionIPS()])
        for e in list(single.estimates) + list(slate.estimates):
            if e.details["quantity"] != "value" or e.details["policy"] != "p":
                continue
            truth = t3 if "PI" in e.method else t1
            errors[e.method].append(e.value - truth)
            hits[e.method] += e.ci_low <= truth <= e.ci_high
    for n in names:
        err = np.array(errors[n])
        assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(runs), n
        assert 0.91 <= hits[n] / runs <= 0.99, (n, hits[n] / runs)


def test_standard_slate_ips_for_a_deterministic_target(sim):
    pol = policies.top_k(sim.log, "pred_new", 3)
    truth = sim.true_value(pol.probs, "click")
    res = evaluate_policies(sim.log, {"top3": pol}, mode="ranking",
                            estimators=[StandardSlateIPS(), StandardSlateIPS(normalise=True), PositionIPS()])
    vals = [e for e in res.estimates if e.details["quantity"] == "value" and e.details["policy"] == "top3"]
    for e in vals:
        assert abs(e.value - truth) < 4 * e.se, e
    assert vals[0].se > vals[2].se  # whole-slate weights are far noisier than position-wise ones
    with pytest.raises(EstimationError, match="as long as the logged slates"):
        evaluate_policies(sim.log, {"top2": policies.top_k(sim.log, "pred_new", 2)}, mode="ranking",
                          estimators=[StandardSlateIPS()])


def test_deficient_support_is_flagged_not_estimated_confidently():
    sim = simulate_decision_log(n_requests=3000, n_candidates=20, slate_size=1, epsilon=0.002, temperature=0.3,
                                seed=5)
    bold = policies.top_k(sim.log, "pred_bold", 1)  # favours what the logging ranker ranks last
    res = evaluate_policies(sim.log, {"bold": bold}, estimators=[IPS()])
    rep = res.support[("bold", "click")]
    assert rep.verdict in ("weak", "unsupported") and rep.reasons
    assert "effective sample size" in rep.reasons[0]
    good = evaluate_policies(sim.log, {"soft": policies.softmax(sim.log, "score", 1, temperature=0.3)},
                             estimators=[IPS()]).support[("soft", "click")]
    assert good.verdict == "supported"


def test_unsupported_mass_with_full_single_slot_propensities():
    log = tiny_log()
    log.candidates.loc[[1, 2], "propensity"] = [0.0, 0.75]  # candidate b of r1 is never shown at position 1
    log.candidates.loc[[1, 2], "position"] = 1.0
    rep = evaluate_policies(log, {"t": np.array([[0.2], [0.8], [0.5], [0.5]])}, estimators=[IPS()]).support[
        ("t", "click")]
    assert rep.unsupported_mass == pytest.approx(0.8 / 2) and rep.verdict == "unsupported"
    assert "never shows" in rep.reasons[0]


def test_unsupported_mass_is_unknown_unless_every_unshown_candidate_has_its_propensity():
    """Rows 1 and 2 are the unshown candidates: the mass is computed only when both carry a probability;
    a missing one in first or in second place makes it unknown (None), as does a log with nothing unshown."""
    from recsys_causal.ope.evaluate import _unsupported, target_policy

    pi = np.array([[0.2], [0.8], [0.5], [0.5]])
    for props, expected in [([0.0, 0.75], [0.8, 0.0]), ([np.nan, 0.75], None), ([0.75, np.nan], None)]:
        log = tiny_log()
        log.candidates.loc[[1, 2], "propensity"] = props
        got = _unsupported(log, target_policy(log, "t", pi), np.arange(2))
        assert (got is None) if expected is None else np.array_equal(got, expected)
    shown_all = tiny_log()
    shown_all.candidates["shown"] = True
    assert _unsupported(shown_all, target_policy(shown_all, "t", pi), np.arange(2)) is None


def test_errors():
    log = tiny_log()
    with pytest.raises(SchemaError, match="reward column 'purchase'"):
        evaluate_policies(log, {"t": np.full((4, 1), 0.5)}, rewards=["purchase"], estimators=[IPS()])
    with pytest.raises(SchemaError, match="more than probability 1"):
        evaluate_policies(log, {"t": np.full((4, 1), 0.9)}, estimators=[IPS()])
    with pytest.raises(SchemaError, match="expected"):
        policies.from_callable(log, lambda part: np.ones((part.n_candidates + 1, 1)))
    bad = tiny_log()
    bad.candidates.loc[3, "propensity"] = np.nan
    bad.__dict__.pop("propensity", None)
    with pytest.raises(EstimationError) as err:
        evaluate_policies(bad, {"t": np.full((4, 1), 0.5)}, estimators=[IPS()])
    assert "1 shown items" in str(err.value) and "'r2'" in str(err.value)
    immature = tiny_log()
    immature.candidates["click"] = np.nan
    with pytest.raises(EstimationError, match="immature"):
        evaluate_policies(immature, {"t": np.full((4, 1), 0.5)}, estimators=[IPS()])


def test_composite_reward_missing_where_a_component_is_missing(sim):
    log = sim.log
    log.candidates.loc[log.candidates.index[:300], "purchase"] = np.nan
    res = evaluate_policies(log, {"t": policies.uniform(log, 1)}, rewards=[{"click": 1, "purchase": 5}],
                            estimators=[IPS()])
    e = next(x for x in res.estimates if x.details["policy"] == "t")
    assert e.details["excluded_requests"] > 0 and "left out" in e.warnings[0]


def test_bootstrap_agrees_with_analytic_interval_and_clusters(sim):
    pol = policies.softmax(sim.log, "pred_new", 1)
    res = evaluate_policies(sim.log, {"p": pol}, estimators=[IPS(), SNIPS()], bootstrap=600, cluster_col="user_id")
    for e in res.estimates:
        if e.details["quantity"] == "value" and e.details["policy"] == "p":
            width = e.details["bootstrap_ci_high"] - e.details["bootstrap_ci_low"]
            assert width == pytest.approx(e.ci_high - e.ci_low, rel=0.15)


def test_policy_constructors():
    log = tiny_log()
    top = policies.top_k(log, "pred_q", 1)
    assert top.probs[:, 0].tolist() == [1.0, 0.0, 0.0, 1.0]
    eps = policies.epsilon_greedy(log, top, 0.2)
    assert eps.probs[:, 0].tolist() == pytest.approx([0.9, 0.1, 0.1, 0.9])
    log.candidates["target_p"] = [0.7, 0.3, 0.1, 0.9]
    assert policies.from_column(log, "target_p").probs[:, 0].tolist() == [0.7, 0.3, 0.1, 0.9]
    got = policies.from_callable(log, lambda part: np.full(part.n_candidates, 0.5), batch_requests=1)
    assert got.probs[:, 0].tolist() == [0.5] * 4


def test_result_frame_repr_html(sim):
    res = evaluate_policies(sim.log, {"u": policies.uniform(sim.log, 1)}, estimators=[IPS(), SNIPS()])
    frame = res.to_frame()
    assert {"policy", "reward", "estimator", "quantity"} <= set(frame.columns)
    assert "support" in repr(res) and "<table" in res._repr_html_()


def test_reads_from_file_and_evaluates(tmp_path, sim):
    from recsys_causal import write_decision_log

    path = write_decision_log(sim.log, tmp_path / "log.parquet")
    log, _ = read_decision_log(path, require_propensity=True)
    res = evaluate_policies(log, {"u": policies.uniform(log, 1)}, estimators=[IPS()])
    direct = evaluate_policies(sim.log, {"u": policies.uniform(sim.log, 1)}, estimators=[IPS()])
    assert res.estimates[1].value == pytest.approx(direct.estimates[1].value, rel=1e-12)


def test_hand_worked_slate_estimators():
    from recsys_causal.ope import CascadeIPS, PseudoInverse
    from recsys_causal.ope.slate import SlateComponents

    # two requests, slates of 2; position weights (1, 0.5)
    w = np.array([[2.0, 0.5], [1.0, 4.0]])
    y = np.array([[1.0, 1.0], [0.0, 1.0]])
    c = SlateComponents(w=w, y=y, alpha=np.array([1.0, 0.5]), slate_w=np.array([3.0, 0.0]),
                        requests=np.arange(2), n_excluded=0)
    assert PositionIPS().contributions(c)[0] == pytest.approx(((2 + 0.25) + (0 + 2.0)) / 2)
    sn = (2.0 * 1 + 1.0 * 0) / 3.0 + 0.5 * (0.5 * 1 + 4.0 * 1) / 4.5
    assert SNPositionIPS().contributions(c)[0] == pytest.approx(sn)
    # cascade: weight at position 2 is the product of the ratios up to it
    assert CascadeIPS().contributions(c)[0] == pytest.approx(((2 * 1 + 0.5 * 2 * 0.5) + (0 + 0.5 * 4 * 1)) / 2)
    # slate rewards 1.5 and 0.5; pseudo-inverse weights 2 + 0.5 - 1 = 1.5 and 1 + 4 - 1 = 4
    assert PseudoInverse().contributions(c)[0] == pytest.approx((1.5 * 1.5 + 4 * 0.5) / 2)
    assert PseudoInverse(normalise=True).contributions(c)[0] == pytest.approx((1.5 * 1.5 + 4 * 0.5) / 5.5)
    assert StandardSlateIPS().contributions(c)[0] == pytest.approx((3.0 * 1.5 + 0) / 2)
    assert StandardSlateIPS(normalise=True).contributions(c)[0] == pytest.approx(1.5)


def test_pseudo_inverse_is_unbiased_under_a_factorised_logging_policy():
    """Positions logged independently (uniform over m items each) and additive rewards: PI is unbiased and its
    interval covers the exact value."""
    from recsys_causal.ope import PseudoInverse
    from recsys_causal.ope.slate import SlateComponents

    rng = np.random.default_rng(0)
    m, K, n = 5, 3, 4000
    rho = rng.uniform(0.05, 0.5, size=(m, K))  # E[reward | item i at position k]
    target = rng.dirichlet(np.ones(m), size=K).T  # pi(i, k), each position a distribution over items
    truth = float((target * rho).sum())
    z, hits = [], 0
    for _ in range(200):
        s = rng.integers(0, m, size=(n, K))
        y = (rng.random((n, K)) < rho[s, np.arange(K)]).astype(float)
        w = target[s, np.arange(K)] / (1 / m)
        c = SlateComponents(w=w, y=y, alpha=np.ones(K), slate_w=np.full(n, np.nan), requests=np.arange(n),
                            n_excluded=0)
        value, psi = PseudoInverse().contributions(c)
        se = psi.std(ddof=1) / np.sqrt(n)
        z.append((value - truth) / se)
        hits += abs(value - truth) <= 1.96 * se
    z = np.array(z)
    assert abs(z.mean()) < 3 * z.std(ddof=1) / np.sqrt(z.size)
    assert 0.91 <= hits / 200 <= 0.99


def test_bootstrap_interval_coverage_over_200_logs():
    from recsys_causal.ope import bootstrap_interval

    world = make_world(seed=4)
    hits = {"IPS": 0, "SNIPS": 0}
    for s in range(200):
        sim = simulate_decision_log(n_requests=1000, n_candidates=6, slate_size=1, epsilon=0.3, world=world,
                                    seed=5000 + s)
        pol = policies.softmax(sim.log, "pred_new", 1, temperature=0.5)
        truth = sim.true_value(pol.probs, "click")
        c = components(sim.log, pol.probs, sim.log.reward("click"), None)
        for est in (IPS(), SNIPS()):
            lo, hi = bootstrap_interval(est, c, 400, seed=s)
            hits[est.name] += lo <= truth <= hi
    for k, v in hits.items():
        assert 0.91 <= v / 200 <= 0.99, (k, v / 200)
