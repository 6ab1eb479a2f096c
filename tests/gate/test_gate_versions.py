"""Support per logging-policy version in the gate: per-version ESS and weight share against a hand computation
from the log in numpy, the per_version requirement naming the weak version, the multiple-logger estimate
(stratified IPS equals pooled IPS exactly for a mean-type estimator; balance-heuristic IPS against its formula
worked in numpy), the YAML keys, and a single-version log left unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_causal.config_io import validate_config
from recsys_causal.errors import ConfigError
from recsys_causal.gate import screen
from recsys_causal.gate.config import GateConfig
from recsys_causal.gate.versions import version_support
from recsys_causal.ope import policies
from recsys_causal.simulate import simulate_decision_log

VERSIONS = {"v1": {"share": 0.9, "temperature": 1.0, "epsilon": 0.1},
            "v2": {"share": 0.1, "temperature": 0.2, "epsilon": 0.01}}  # v2: near-greedy, barely supports the target


@pytest.fixture(scope="module")
def mixed():
    log = simulate_decision_log(n_requests=6000, n_candidates=5, slate_size=1, seed=3, policy_versions=VERSIONS).log
    return log, policies.softmax(log, "pred_new", temperature=0.5, name="new")


def _hand_weights(log, pol):
    """Per request with an item at position 1: the weight π(a)/p and its version, from the raw columns."""
    rows = np.nonzero(log.shown & (log.position == 1))[0]
    w = pol.probs[rows, 0] / log.propensity[rows]
    return w, log.requests["ranking_policy_version"].to_numpy()[log.request_index[rows]], rows


def test_support_per_version_matches_hand_computation(mixed):
    log, pol = mixed
    c = screen(log, {"new": pol}, primary="click", reward_model="pred_new", min_lift=-1.0).candidates[0]
    w, ver, _ = _hand_weights(log, pol)
    assert [v["version"] for v in c.versions] == ["v1", "v2"]
    for row in c.versions:
        wv = w[ver == row["version"]]
        assert row["n"] == wv.size
        assert row["ess"] == pytest.approx(wv.sum() ** 2 / (wv**2).sum(), rel=1e-12)
        assert row["max_weight_share"] == pytest.approx(wv.max() / wv.sum(), rel=1e-12)
    assert c.to_dict()["support"]["versions"][1]["version"] == "v2"


def test_per_version_makes_a_weak_version_inconclusive(mixed):
    log, pol = mixed
    kw = {"primary": "click", "reward_model": "pred_new", "min_lift": -1.0}
    default = screen(log, {"new": pol}, **kw)
    required = screen(log, {"new": pol}, per_version=True, **kw)
    assert default.candidates[0].verdict == "pass" and default.candidates[0].support.verdict == "supported"
    c = required.candidates[0]
    assert c.verdict == "inconclusive" and c.support.verdict == "weak"
    assert any(r.startswith("support is weak: version v2:") for r in c.reasons)
    assert not any("version v1" in r for r in c.support.reasons)
    assert c.primary.value == default.candidates[0].primary.value  # the estimate itself is unchanged
    md, html = required.to_markdown(), required.to_html()
    assert md.count("- support per version: v1 ESS") == 1 and 'class="support-versions"' in html


def test_a_version_without_support_is_named():
    log = simulate_decision_log(n_requests=2000, n_candidates=5, slate_size=1, seed=5, policy_versions=VERSIONS).log
    at_top = log.shown & (log.position == 1)
    v2_req = log.requests["ranking_policy_version"].to_numpy() == "v2"
    # v1 requests: the logged item (weight 1/p); v2 requests: an item never shown at position 1 (weight 0)
    other = pd.Series(np.where(~at_top, np.arange(log.n_candidates), -1)).groupby(log.request_index).max()
    probs = np.where(v2_req[log.request_index], 0.0, at_top.astype(float))[:, None]
    probs[other.to_numpy()[v2_req], 0] = 1.0
    target = policies.TargetPolicy("blind", probs, deterministic=True)
    c = screen(log, {"blind": target}, primary="click", per_version=True, reward_model="pred_new",
               estimator="IPS", cross_check=[]).candidates[0]
    assert c.verdict == "inconclusive"
    assert any("version v2: the target puts no weight on its" in r for r in c.support.reasons)
    assert [v["ess"] for v in c.versions if v["version"] == "v2"] == [0.0]


def test_stratified_ips_equals_pooled_and_balance_matches_its_formula(mixed):
    log, pol = mixed
    kw = {"primary": "click", "relative": False, "estimator": "IPS", "cross_check": [], "min_lift": -1.0}
    pooled = screen(log, {"new": pol}, **kw).candidates[0].primary
    strat = screen(log, {"new": pol}, multi_logger="stratified", **kw).candidates[0].primary
    assert "stratified" in strat.name and strat.value == pytest.approx(pooled.value, rel=1e-12, abs=1e-15)
    bal = screen(log, {"new": pol}, multi_logger="balance", **kw).candidates[0].primary
    _, ver, rows = _hand_weights(log, pol)
    y = log.reward("click")[rows]
    share = {v: np.mean(ver == v) for v in VERSIONS}
    p_mix = sum(share[v] * log.candidates[f"propensity_{v}"].to_numpy()[rows] for v in VERSIONS)
    assert "balance" in bal.name
    assert bal.value == pytest.approx(np.mean(pol.probs[rows, 0] / p_mix * y) - np.mean(y), rel=1e-10)


def test_yaml_keys_and_ranking_refusal(mixed):
    base = {"name": "x", "log": {"path": "log.parquet"}, "candidates": [{"name": "new", "score": "pred_new"}],
            "primary": {"reward": "click"}}
    cfg = validate_config(GateConfig, {**base, "support": {"per_version": True}, "multi_logger": "balance"},
                          source="screen.yaml", fix="see the README")
    assert cfg.support.per_version and cfg.multi_logger == "balance" and cfg.version_col == "ranking_policy_version"
    with pytest.raises(ConfigError, match="multi_logger"):
        validate_config(GateConfig, {**base, "multi_logger": "pooled"}, source="screen.yaml", fix="see the README")
    log = simulate_decision_log(n_requests=500, n_candidates=5, slate_size=2, seed=1, policy_versions=VERSIONS).log
    with pytest.raises(ConfigError, match="multi_logger"):
        screen(log, {"r": policies.top_k(log, "pred_new", 2, name="r")}, primary="click", mode="ranking",
               multi_logger="stratified")


def test_version_support_closed_form():
    rows, reasons = version_support(np.array([4.0, 1.0, 1.0, 2.0, 2.0]), np.array(["a", "a", "a", "b", "b"]))
    assert rows[0]["ess"] == pytest.approx(36 / 18) and rows[0]["max_weight_share"] == pytest.approx(4 / 6)
    assert rows[1]["ess_ratio"] == pytest.approx(1.0)
    assert reasons == ["version a: one request carries 66.7% of the weight (at most 5.0%)",
                       "version b: one request carries 50.0% of the weight (at most 5.0%)"]


def test_json_with_versions_follows_the_schema(mixed):
    import jsonschema

    from recsys_causal.schemas import load_schema

    log, pol = mixed
    doc = screen(log, {"new": pol}, primary="click", reward_model="pred_new", per_version=True).to_dict()
    jsonschema.validate(doc, load_schema("gate"))
    assert doc["settings"]["per_version"] is True and len(doc["candidates"][0]["support"]["versions"]) == 2


def test_yaml_per_version_and_multi_logger_run_from_causal_gate(mixed, tmp_path):
    import json

    import yaml

    from recsys_causal.gate import main
    from recsys_causal.logs.writers import write_decision_log

    write_decision_log(mixed[0], tmp_path / "log.parquet")
    cfg = {"name": "versions", "log": {"path": "log.parquet", "rewards": ["click"]},
           "candidates": [{"name": "new", "score": "pred_new", "temperature": 0.5}],
           "primary": {"reward": "click", "min_lift": -1.0}, "reward_model": "pred_new",
           "support": {"per_version": True}, "multi_logger": "stratified"}
    (tmp_path / "screen.yaml").write_text(yaml.safe_dump(cfg))
    assert main([str(tmp_path / "screen.yaml"), "--json", str(tmp_path / "g.json")]) == 3  # inconclusive
    c = json.loads((tmp_path / "g.json").read_text())["candidates"][0]
    assert c["primary"]["method"] == "DR (stratified by version), paired"
    assert any(r.startswith("version v2:") for r in c["support"]["reasons"])


def test_logged_position_mode_reports_versions_and_stratifies():
    log = simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=3, seed=2, policy_versions=VERSIONS,
                                logged_positions=(0.5, 0.3, 0.2)).log
    pol = policies.softmax(log, "pred_new", 3, name="lp")
    kw = {"primary": "click", "mode": "logged_position", "estimator": "IPS", "cross_check": [], "per_version": True}
    pooled = screen(log, {"lp": pol}, **kw).candidates[0]
    strat = screen(log, {"lp": pol}, multi_logger="stratified", **kw).candidates[0]
    counts = log.requests["ranking_policy_version"].value_counts()
    assert [(v["version"], v["n"]) for v in pooled.versions] == [("v1", counts["v1"]), ("v2", counts["v2"])]
    assert "stratified" in strat.primary.name
    assert strat.primary.value == pytest.approx(pooled.primary.value, rel=1e-12)  # IPS: Σ_v (n_v/n)·mean_v = mean
    assert pooled.verdict == "inconclusive" and any(r.startswith("version v2:") for r in pooled.support.reasons)
