"""Reward ranges (typed errors with count and example ids) and the influential-observation report."""

from types import SimpleNamespace

import numpy as np
import pytest

from recsys_causal import ConfigError, DataValidationError, simulate_decision_log
from recsys_causal.ope import IPS, SNIPS, evaluate_policies, policies
from recsys_causal.ope.rewards import contribution_share


@pytest.fixture()
def sim():
    return simulate_decision_log(n_requests=2000, n_candidates=5, slate_size=1, epsilon=0.3, seed=21)


def _corrupt(sim, value=1e12):
    """Put ``value`` on the first clicked shown candidate; return its request id."""
    log = sim.log
    row = int(np.nonzero(log.shown & (log.column("click") == 1))[0][0])
    log.candidates.loc[row, "click"] = value
    return str(log.request_ids[log.request_index[row]])


def test_extreme_click_is_a_typed_error_with_count_and_example(sim):
    rid = _corrupt(sim)
    pol = {"soft": policies.softmax(sim.log, "pred_new", 1)}
    with pytest.raises(DataValidationError) as err:
        evaluate_policies(sim.log, pol, rewards=["click"], estimators=[IPS()])
    e = err.value
    assert e.count == 1 and e.examples == [rid] and e.column == "click"
    assert "presumed binary" in str(e) and "1e+12" in str(e) and "reward_ranges" in e.fix
    # explicit declaration of [0, 1]: same error, said to be declared
    with pytest.raises(DataValidationError, match=r"outside its declared range \[0, 1\]"):
        evaluate_policies(sim.log, pol, rewards=["click"], estimators=[IPS()], reward_ranges={"click": (0, 1)})
    # a composite reward checks each component
    with pytest.raises(DataValidationError, match="'click'"):
        evaluate_policies(sim.log, pol, rewards=[{"click": 1, "purchase": 5}], estimators=[IPS()])


def test_gate_screen_refuses_the_extreme_click(sim):
    from recsys_causal.gate.screen import screen

    rid = _corrupt(sim)
    with pytest.raises(DataValidationError) as err:
        screen(sim.log, {"soft": policies.softmax(sim.log, "pred_new", 1)}, primary="click", estimator="IPS",
               cross_check=())
    assert err.value.count == 1 and err.value.examples == [rid]


def test_declared_wide_range_passes_and_the_influential_request_is_reported(sim):
    rid = _corrupt(sim)
    pol = {"soft": policies.softmax(sim.log, "pred_new", 1)}
    res = evaluate_policies(sim.log, pol, rewards=["click"], estimators=[IPS(), SNIPS()],
                            reward_ranges={"click": (0, 1e12)})
    rep = res.support[("soft", "click")]
    # one request carries |w · 1e12| against at most 2,000 · max w ≈ 1e4 for all the others
    assert rep.max_contribution_share > 0.999 and rep.influential_requests[0] == rid
    assert rep.verdict == "weak" and any("influential" in r for r in rep.reasons)
    assert rid in res.support_frame()["influential_requests"].iloc[0]
    # the same declaration through the log's metadata
    sim.log.metadata["reward_ranges"] = {"click": (0, 1e12)}
    again = evaluate_policies(sim.log, pol, rewards=["click"], estimators=[IPS()])
    assert again.support[("soft", "click")].influential_requests[0] == rid


def test_clean_log_has_small_contribution_shares(sim):
    res = evaluate_policies(sim.log, {"soft": policies.softmax(sim.log, "pred_new", 1)}, estimators=[IPS()])
    rep = res.support[("soft", "click")]
    assert rep.verdict == "supported" and rep.max_contribution_share < 0.01
    # hand check: largest |w · y| over the sum, from the components
    from recsys_causal.ope.single_slot import components

    c = components(sim.log, policies.softmax(sim.log, "pred_new", 1).probs, sim.log.reward("click"), None)
    a = np.abs(c.w * c.y)
    assert rep.max_contribution_share == pytest.approx(a.max() / a.sum(), rel=1e-12)


def test_non_binary_columns_infinite_values_and_bad_declarations(sim):
    log = sim.log
    shown = np.nonzero(log.shown)[0]
    log.candidates["revenue"] = np.nan
    log.candidates.loc[shown, "revenue"] = np.where(np.arange(shown.size) % 50 == 0, 37.5, 0.0)
    log.reward_columns = (*log.reward_columns, "revenue")
    pol = {"u": policies.uniform(log, 1)}
    evaluate_policies(log, pol, rewards=["revenue"], estimators=[IPS()])  # 2% non-binary values: no presumed range
    with pytest.raises(DataValidationError, match=r"declared range \[0, 10\]") as err:
        evaluate_policies(log, pol, rewards=["revenue"], estimators=[IPS()], reward_ranges={"revenue": (0, 10)})
    assert err.value.count == int((np.arange(shown.size) % 50 == 0).sum())
    log.candidates.loc[shown[1], "revenue"] = np.inf
    with pytest.raises(DataValidationError, match="infinite"):
        evaluate_policies(log, pol, rewards=["revenue"], estimators=[IPS()])
    with pytest.raises(ConfigError, match="not an interval"):
        evaluate_policies(log, pol, rewards=["click"], estimators=[IPS()], reward_ranges={"click": (1, 0)})


def test_contribution_share_by_hand():
    share, ids = contribution_share(np.array([0.0, -2.0, 1.0, 1.0]), np.array(["a", "b", "c", "d"]), top=3)
    assert share == pytest.approx(0.5) and ids == ["b", "c", "d"]
    assert contribution_share(np.zeros(3), np.array(["a", "b", "c"])) == (0.0, [])


def test_duckdb_path_checks_ranges_and_reports_the_same_contribution_share(sim, tmp_path):
    from recsys_causal.scale import DuckDBEngine, Softmax

    rid = _corrupt(sim)
    frame = sim.log.to_long_frame()
    with pytest.raises(DataValidationError) as err:
        evaluate_policies(DuckDBEngine.from_frame(frame), {"soft": Softmax("pred_new")}, rewards=["click"])
    assert err.value.count == 1 and err.value.examples == [rid] and "presumed binary" in str(err.value)
    wide = {"click": (0, 1e12)}
    sql = evaluate_policies(DuckDBEngine.from_frame(frame), {"soft": Softmax("pred_new")}, rewards=["click"],
                                reward_ranges=wide).support[("soft", "click")]
    local = evaluate_policies(sim.log, {"soft": policies.softmax(sim.log, "pred_new", 1)}, rewards=["click"],
                              estimators=[IPS(), SNIPS()], reward_ranges=wide).support[("soft", "click")]
    assert sql.max_contribution_share == pytest.approx(local.max_contribution_share, rel=1e-9)
    assert sql.verdict == local.verdict == "weak" and sql.reasons == local.reasons


def test_binary_presumption_counts_only_finite_values():
    """The presumed-binary share is taken over finite values: NaN (unobserved) and ±inf are neither counted as
    observed nor as 0/1 — worked by hand on 1,000 values."""
    from recsys_causal.ope.rewards import reward_range

    log = SimpleNamespace(metadata={})
    ones = np.r_[np.zeros(600), np.ones(399)]
    assert reward_range(log, "y", np.r_[ones[1:], 0.5, 0.25, np.full(50, np.nan), np.inf], None)[1] == "none"  # 998/1000
    assert reward_range(log, "y", np.r_[ones, 1.0, np.full(50, np.nan), np.inf], None)[1] == "presumed binary"
    assert reward_range(log, "y", np.full(5, np.nan), None)[1] == "none"  # nothing observed
