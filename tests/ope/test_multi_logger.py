"""Several logging-policy versions: stratified-by-version estimators and the balance heuristic, by hand and
against naive pooling with per-row propensities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DecisionLog, simulate_decision_log
from recsys_causal.errors import ConfigError
from recsys_causal.ope import evaluate_policies, policies
from recsys_causal.ope.policies import TargetPolicy

VERSIONS = {"v1": {"share": 0.5, "temperature": 1.0, "epsilon": 0.2},
            "v2": {"share": 0.5, "temperature": 0.35, "epsilon": 0.05}}


def _hand_log(with_all_propensities=True):
    """Four single-slot requests, candidates A, B; target π(A) = .9, π(B) = .1. v1: r1 shows A (click 1),
    r2 shows B (click 1), both with propensity .5; v2 (p(A) = .8, p(B) = .2): r3, r4 show A (click 0, 1)."""
    shown = {"r1": ("A", 1.0), "r2": ("B", 1.0), "r3": ("A", 0.0), "r4": ("A", 1.0)}
    p = {"v1": {"A": 0.5, "B": 0.5}, "v2": {"A": 0.8, "B": 0.2}}
    version = {"r1": "v1", "r2": "v1", "r3": "v2", "r4": "v2"}
    rows = []
    for rid, (item, y) in shown.items():
        for cand in ("A", "B"):
            on = cand == item
            rows.append({"request_id": rid, "item_id": cand, "shown": on, "position": 1.0 if on else np.nan,
                         "propensity": p[version[rid]][cand] if on else np.nan, "click": y if on else np.nan,
                         "propensity_v1": p["v1"][cand] if on else np.nan,
                         "propensity_v2": p["v2"][cand] if on else np.nan})
    cand = pd.DataFrame(rows)
    if not with_all_propensities:
        cand = cand.drop(columns=["propensity_v1", "propensity_v2"])
    req = pd.DataFrame({"request_id": list(shown), "decision_time": pd.Timestamp("2026-06-01", tz="UTC"),
                        "ranking_policy_version": list(version.values())})
    log = DecisionLog.from_frames(req, cand, reward_columns=("click",))
    return log, TargetPolicy("t", np.tile([[0.9], [0.1]], (4, 1)))


def _values(res):
    return {e.details["estimator"]: e for e in res.estimates if e.details["quantity"] == "value"}


def test_stratified_by_hand():
    log, pol = _hand_log()
    res = evaluate_policies(log, {"t": pol}, estimators=["IPS", "SNIPS"], multi_logger="stratified")
    v = _values(res)
    # weights: v1 .9/.5, .1/.5; v2 .9/.8, .9/.8. SNIPS per stratum: v1 (1.8 + .2)/2 = 1, v2 1.125/2.25 = .5
    snips = v["SNIPS (stratified by version)"]
    assert snips.value == pytest.approx(0.5 * 1.0 + 0.5 * 0.5, abs=1e-12)
    # stratified variance Σ_v s_v² Var_v / n_v with Var_v = mean of ψ² within the stratum, ψ = (wy − v_v w)/mean_v(w);
    # v1: ψ = 0, 0; v2: ψ = ∓.5 (mean w = 1.125, (0 − .5·1.125)/1.125, (1.125 − .5625)/1.125); times n/(n − 1)
    var = 0.5**2 * 0.0 / 2 + 0.5**2 * np.mean([0.25, 0.25]) / 2
    assert snips.se == pytest.approx(np.sqrt(var * 4 / 3), abs=1e-12)
    ips = v["IPS (stratified by version)"]
    assert ips.value == pytest.approx((1.8 + 0.2 + 0.0 + 1.125) / 4, abs=1e-12)  # = pooled IPS
    assert {e.details["multi_logger"] for e in res.estimates} == {"stratified"}
    groups = res.support[("t", "click")].breakdown
    assert groups["group"].tolist() == ["v1", "v2"] and groups["n"].tolist() == [2, 2]
    assert groups["max_weight_share"].tolist() == pytest.approx([0.9, 0.5])


def test_balance_heuristic_by_hand_and_needs_every_propensity():
    log, pol = _hand_log()
    res = evaluate_policies(log, {"t": pol}, estimators=["IPS"], multi_logger="balance")
    p_a, p_b = 0.5 * 0.5 + 0.5 * 0.8, 0.5 * 0.5 + 0.5 * 0.2  # Σ_j (n_j/n) p_j
    ips = _values(res)["IPS (balance heuristic)"]
    wy = np.array([0.9 / p_a, 0.1 / p_b, 0.0, 0.9 / p_a])
    assert ips.value == pytest.approx(wy.mean(), abs=1e-12)
    assert ips.se == pytest.approx(wy.std(ddof=1) / 2, abs=1e-12)
    bare, _ = _hand_log(with_all_propensities=False)
    with pytest.raises(ConfigError, match="stratified"):
        evaluate_policies(bare, {"t": pol}, estimators=["IPS"], multi_logger="balance")
    with pytest.raises(ConfigError, match="not in the request table"):
        evaluate_policies(bare, {"t": pol}, estimators=["IPS"], multi_logger="stratified", version_col="policy_v")
    with pytest.raises(ConfigError, match="ranking"):
        evaluate_policies(bare, {"t": pol}, mode="ranking", multi_logger="stratified")


def test_naive_pooling_is_the_same_or_worse():
    """Stratified IPS equals naive pooled IPS exactly (same estimate); the balance heuristic has a smaller mean
    squared error than naive pooling against the exact truth over 30 simulated two-version logs."""
    err_naive, err_balance = [], []
    for s in range(30):
        sim = simulate_decision_log(n_requests=1500, n_candidates=6, slate_size=1, policy_versions=VERSIONS,
                                    seed=500 + s)
        pol = policies.softmax(sim.log, "pred_new", 1)
        truth = sim.true_value(pol.probs, "click")
        naive = _values(evaluate_policies(sim.log, {"t": pol}, estimators=["IPS"]))["IPS"]
        strat = _values(evaluate_policies(sim.log, {"t": pol}, estimators=["IPS"], multi_logger="stratified"))
        assert strat["IPS (stratified by version)"].value == pytest.approx(naive.value, rel=1e-12)
        bal = _values(evaluate_policies(sim.log, {"t": pol}, estimators=["IPS"], multi_logger="balance"))
        err_naive.append(naive.value - truth)
        err_balance.append(bal["IPS (balance heuristic)"].value - truth)
    mse_naive, mse_balance = np.mean(np.square(err_naive)), np.mean(np.square(err_balance))
    assert mse_balance < 0.8 * mse_naive
