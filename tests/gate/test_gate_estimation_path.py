"""The gate on the estimation path of evaluate_policies: reward-model prediction columns, a baseline policy,
cluster-robust intervals and deprecated argument names, each checked against numpy closed forms."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml

from recsys_causal.errors import DataValidationError, EstimationError, SchemaError
from recsys_causal.gate import main, screen
from recsys_causal.logs import write_partitioned_log
from recsys_causal.ope import policies
from recsys_causal.simulate import simulate_decision_log


@pytest.fixture(scope="module")
def log():
    lg = simulate_decision_log(n_requests=3000, n_candidates=5, slate_size=1, epsilon=0.3, seed=5).log
    lg.candidates["pred_q"] = 1 / (1 + np.exp(-lg.candidates["pred_new"].to_numpy()))
    return lg


def _top(log, probs):
    y = log.reward("click")
    rows = np.nonzero(log.shown & (log.position == 1) & np.isfinite(y))[0]
    return rows, probs[rows, 0] / log.propensity[rows], y[rows]


def _dr(log, probs, q):
    """DR value and influence at position 1 with predictions ``q`` per candidate (closed form)."""
    rows, w, y = _top(log, probs)
    dm = np.bincount(log.request_index, weights=probs[:, 0] * q, minlength=log.n_requests)[log.request_index[rows]]
    a = dm + w * (y - q[rows])
    return a.mean(), a - a.mean(), y, rows


def test_reward_model_column_gives_dr_by_hand(log):
    pol = policies.softmax(log, "pred_new", 1, name="new")
    res = screen(log, {"new": pol}, primary="click", reward_model="pred_q", cross_check=[])
    v, psi_v, y, _ = _dr(log, pol.probs, log.column("pred_q"))
    base = y.mean()
    psi = psi_v / base - v * (y - base) / base**2
    prim = res.candidates[0].primary
    assert prim.value == pytest.approx(v / base - 1, rel=1e-10)
    assert prim.se == pytest.approx(np.std(psi, ddof=1) / np.sqrt(y.size), rel=1e-10)
    assert res.settings["reward_model"] == "pred_q"


def test_missing_or_broken_prediction_column_is_a_typed_error(log):
    pol = {"new": policies.softmax(log, "pred_new", 1)}
    with pytest.raises(SchemaError, match="pred_x"):  # was a raw AttributeError
        screen(log, pol, primary="click", reward_model="pred_x")
    broken = log.select_requests(np.ones(log.n_requests, dtype=bool))
    q = broken.candidates["pred_q"].to_numpy().copy()
    q[[3, 7]] = np.nan
    broken.candidates["pred_q"] = q
    with pytest.raises(DataValidationError, match="not finite for 2 candidates"):
        screen(broken, {"new": policies.softmax(broken, "pred_new", 1)}, primary="click", reward_model="pred_q")


def test_lift_over_a_baseline_policy_by_hand(log):
    new = policies.softmax(log, "pred_new", 1, name="new")
    old = policies.softmax(log, "pred_bold", 1, temperature=2.0, name="old")
    res = screen(log, {"new": new}, primary="click", baseline=old, estimator="IPS", cross_check=[], relative=False)
    _, w1, y = _top(log, new.probs)
    _, w0, _ = _top(log, old.probs)
    d = w1 * y - w0 * y  # paired: the same requests
    prim = res.candidates[0].primary
    assert prim.value == pytest.approx(d.mean(), rel=1e-10)
    assert prim.se == pytest.approx(np.std(d, ddof=1) / np.sqrt(d.size), rel=1e-10)
    assert res.settings["baseline"] == "old"


def test_cluster_col_gives_cluster_robust_se_by_hand(log):
    pol = policies.softmax(log, "pred_new", 1, name="new")
    res = screen(log, {"new": pol}, primary="click", estimator="IPS", cross_check=[], relative=False,
                 cluster_col="user_id")
    rows, w, y = _top(log, pol.probs)
    psi = (w * y - (w * y).mean()) - (y - y.mean())
    users = log.request_column("user_id")[log.request_index[rows]]
    _, codes = np.unique(users, return_inverse=True)
    s = np.bincount(codes, weights=psi)
    g = s.size
    prim = res.candidates[0].primary
    assert g < y.size and prim.n == g
    assert prim.se == pytest.approx(np.sqrt(g / (g - 1) * np.sum(s**2)) / y.size, rel=1e-10)
    unclustered = screen(log, {"new": pol}, primary="click", estimator="IPS", cross_check=[], relative=False)
    assert unclustered.candidates[0].primary.value == pytest.approx(prim.value, rel=1e-12)


def test_zero_baseline_in_a_segment_is_a_typed_error(log):
    zeroed = log.select_requests(np.ones(log.n_requests, dtype=bool))
    surface = zeroed.request_column("surface")[zeroed.request_index]
    click = zeroed.candidates["click"].to_numpy().copy()
    click[(surface == "search") & np.isfinite(click)] = 0.0
    zeroed.candidates["click"] = click
    with pytest.raises(EstimationError, match="protected segment surface=search"):  # was ZeroDivisionError
        screen(zeroed, {"new": policies.softmax(zeroed, "pred_new", 1)}, primary="click",
               protected_segments=[("surface", ["search"])])


def test_deprecated_argument_names_warn_and_agree(log):
    pol = {"new": policies.softmax(log, "pred_new", 1)}
    new = screen(log, pol, primary="click", estimator="IPS", cross_check=[], cluster_col="user_id").to_dict(False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = screen(log=log, candidates=pol, primary="click", estimator="IPS", cross_check=[],
                     cluster_by="user_id").to_dict(False)
    assert {str(w.message).split("'")[1] for w in caught if w.category is DeprecationWarning} == {"log", "cluster_by"}
    assert json.dumps(old) == json.dumps(new)


def test_yaml_reward_model_and_cluster_col(log, tmp_path):
    path = write_partitioned_log(log.to_long_frame(), tmp_path / "log")
    cfg = {"name": "x", "log": {"path": str(path)}, "candidates": [{"name": "new", "score": "pred_new"}],
           "primary": {"reward": "click"}, "reward_model": "pred_q", "cluster_col": "user_id"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(cfg))
    main([str(tmp_path / "s.yaml"), "--json", str(tmp_path / "o.json"), "--markdown", str(tmp_path / "o.md")])
    out = json.loads((tmp_path / "o.json").read_text())
    api = screen(log, {"new": policies.softmax(log, "pred_new", 1, name="new")}, primary="click",
                 reward_model="pred_q", cluster_col="user_id")
    assert out["candidates"][0]["primary"]["se"] == pytest.approx(api.candidates[0].primary.se, rel=1e-10)
    assert out["settings"]["cluster_col"] == "user_id"
    cfg["reward_model"] = "pred_qq"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    assert main([str(tmp_path / "bad.yaml")]) == 2
