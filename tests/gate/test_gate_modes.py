"""Evaluation modes of the gate: ranking against position-based IPS worked by hand in numpy, estimator kinds
checked per mode with typed errors, support per position against its closed form, data accounting per mode,
and logged_position through evaluate_policies (skipped until evaluate_policies takes ``mode``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

from recsys_causal.config_io import validate_config
from recsys_causal.errors import ConfigError
from recsys_causal.gate import main, screen
from recsys_causal.gate.config import GateConfig
from recsys_causal.gate.modes import position_support
from recsys_causal.ope import policies
from recsys_causal.schemas import load_schema
from recsys_causal.simulate import simulate_decision_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def slate_log():
    return simulate_decision_log(n_requests=3000, n_candidates=8, slate_size=3, epsilon=0.3, seed=11).log


def _hand_pi_ips(log, probs, K):
    """Per request: Σ_k π(a_k, k) / p_k · y_k and the logged slate reward Σ_k y_k (positions 1..K)."""
    y = log.reward("click")
    rows = np.nonzero(log.shown & (log.position <= K))[0]
    req, pos = log.request_index[rows], log.position[rows].astype(int) - 1
    v = np.bincount(req, weights=probs[rows, pos] / log.propensity[rows] * y[rows], minlength=log.n_requests)
    r = np.bincount(req, weights=y[rows], minlength=log.n_requests)
    return v, r


def test_ranking_lift_is_position_based_ips_by_hand(slate_log):
    pol = policies.softmax(slate_log, "pred_new", 3, name="slate")
    res = screen(slate_log, {"slate": pol}, primary="click", relative=False, mode="ranking", cross_check=[])
    v, r = _hand_pi_ips(slate_log, pol.probs, 3)
    d = v - r
    prim = res.candidates[0].primary
    assert prim.value == pytest.approx(d.mean(), rel=1e-10)
    assert prim.se == pytest.approx(d.std(ddof=1) / np.sqrt(d.size), rel=1e-10)
    assert prim.details["mode"] == "ranking" and res.candidates[0].mode == "ranking"
    assert res.settings["estimator"] == "PI-IPS"


def test_ranking_relative_lift_by_delta_method_by_hand(slate_log):
    pol = policies.softmax(slate_log, "pred_new", 3, name="slate")
    res = screen(slate_log, {"slate": pol}, primary="click", mode="ranking", cross_check=[])
    v, r = _hand_pi_ips(slate_log, pol.probs, 3)
    mv, mr = v.mean(), r.mean()
    psi = (v - mv) / mr - mv * (r - mr) / mr**2
    prim = res.candidates[0].primary
    assert prim.value == pytest.approx(mv / mr - 1, rel=1e-10)
    assert prim.se == pytest.approx(psi.std(ddof=1) / np.sqrt(v.size), rel=1e-9)


def test_ranking_default_cross_checks_add_slate_ips_only_where_defined(slate_log):
    soft = policies.softmax(slate_log, "pred_new", 3, name="soft")  # stochastic: no standard slate IPS
    res = screen(slate_log, {"soft": soft}, primary="click", mode="ranking")
    assert [e.details["estimator"] for e in res.candidates[0].cross_checks] == ["SN-PI-IPS"]
    with pytest.raises(Exception, match="slate_propensity"):  # named explicitly, the estimator's error stands
        screen(slate_log, {"soft": soft}, primary="click", mode="ranking", cross_check=["slate IPS"])


def test_mode_rejects_estimators_of_the_other_kind_with_the_valid_names(slate_log):
    pol = {"p": policies.softmax(slate_log, "pred_new", 3)}
    with pytest.raises(ConfigError, match="PI-IPS") as exc:
        screen(slate_log, pol, primary="click", mode="ranking", estimator="DR")
    assert exc.value.column == "estimator"
    with pytest.raises(ConfigError, match="did you mean 'ranking'"):
        screen(slate_log, pol, primary="click", mode="rankng")
    base = {"name": "x", "log": {"path": "l.parquet"}, "primary": {"reward": "click"}}
    with pytest.raises(ConfigError, match=r"candidates\[0\]\.estimator.*SN-PI-IPS"):
        _config({**base, "candidates": [{"name": "a", "score": "pred_new", "mode": "ranking", "estimator": "DR"}]})
    with pytest.raises(ConfigError, match=r"cross_check.*PI-IPS"):
        _config({**base, "estimator": "PI-IPS", "cross_check": ["IPS"],
                 "candidates": [{"name": "a", "score": "pred_new", "mode": "ranking"}]})


def _config(data):
    return validate_config(GateConfig, data, source="screen.yaml", fix="see the README")


def test_position_support_against_closed_form():
    rows, reasons = position_support(np.array([1.0, 1.0, 50.0, 1.0]), np.array([1, 1, 2, 2]))
    assert rows[1]["ess"] == pytest.approx(51**2 / (50**2 + 1), rel=1e-12)
    assert rows[1]["max_weight_share"] == pytest.approx(50 / 51, rel=1e-12)
    assert rows[0]["ess"] == pytest.approx(2.0) and rows[0]["max_weight_share"] == pytest.approx(0.5)
    assert any(r.startswith("position 2: one impression carries 98.0%") for r in reasons)


def test_one_extreme_weight_at_position_2_makes_the_ranking_screen_inconclusive(slate_log):
    log = slate_log.select_requests(np.ones(slate_log.n_requests, dtype=bool))
    pol = policies.softmax(log, "pred_new", 3, name="slate")
    rows = np.nonzero(log.shown & (log.position == 2))[0]
    at = rows[np.argmax(pol.probs[rows, 1])]
    log.candidates.loc[log.candidates.index[at], "propensity"] = 1e-6
    log = log.select_requests(np.ones(log.n_requests, dtype=bool))
    res = screen(log, {"slate": pol}, primary="click", mode="ranking", cross_check=[])
    c = res.candidates[0]
    assert c.verdict == "inconclusive"
    assert any("position 2: one impression carries" in r for r in c.support.reasons)
    assert [p["position"] for p in c.positions] == [1, 2, 3]


def test_ranking_accounting_counts_immature_slates_and_reconciles(slate_log):
    log = slate_log.select_requests(np.ones(slate_log.n_requests, dtype=bool))
    y = log.candidates["click"].to_numpy().copy()
    at3 = np.nonzero(log.shown & (log.position == 3))[0][:7]  # 7 requests lose their position-3 label
    y[at3] = np.nan
    log.candidates["click"] = y
    log = log.select_requests(np.ones(log.n_requests, dtype=bool))
    pol = policies.softmax(log, "pred_new", 3, name="slate")
    res = screen(log, {"slate": pol, "top": policies.softmax(log, "pred_new", 1, name="top")}, primary="click",
                 mode="ranking", per_candidate={"top": {"mode": "top_slot"}}, cross_check=[])
    q = res.data_quality
    assert q.rewards[0].excluded == {"missing_reward": 7} and q.rewards[0].used == log.n_requests - 7
    assert q.reconciles()
    top = next(c for c in res.candidates if c.name == "top")
    assert top.data_quality.rewards[0].used == log.n_requests  # position 1 is labelled everywhere
    doc = json.loads(res.to_json())
    assert next(c for c in doc["candidates"] if c["name"] == "top")["data_quality"]["requests_read"] == log.n_requests
    assert doc["data_quality"]["rewards"][0]["excluded"] == {"missing_reward": 7}
    md = res.to_markdown()  # the top-slot candidate's own accounting is listed under it
    assert f"- data quality (top_slot), click: used {log.n_requests} of {log.n_requests}; excluded none" in md


def test_ranking_example_runs_from_the_yaml(tmp_path):
    for d in ("reports/examples", "decision_logs"):
        shutil.copytree(ROOT / d, tmp_path / d)
    cfg = tmp_path / "reports" / "examples" / "screen_ranking.yaml"
    code = main([str(cfg), "--json", str(tmp_path / "g.json"), "--html", str(tmp_path / "g.html")])
    doc = json.loads((tmp_path / "g.json").read_text())
    slate = next(c for c in doc["candidates"] if c["name"] == "new-top3")
    assert code in (0, 1, 3) and slate["mode"] == "ranking"
    assert slate["primary"]["method"] == "PI-IPS, paired"
    assert [e["method"] for e in slate["cross_checks"]] == ["SN-PI-IPS, paired", "slate IPS, paired"]
    assert [p["position"] for p in slate["support"]["positions"]] == [1, 2, 3]
    assert yaml.safe_load(cfg.read_text())["mode"] == "top_slot"
    jsonschema.validate(doc, load_schema("gate"))
    top = next(c for c in doc["candidates"] if c["name"] == "new-softmax")
    assert top["mode"] == "top_slot" and "data_quality" not in top and "positions" not in top["support"]


def _one_per_request(seed=3, n=3000):
    """A log showing one item per request at a logged position 1..3 (the layout of public bandit data)."""
    log = simulate_decision_log(n_requests=n, n_candidates=6, slate_size=3, epsilon=0.3, seed=seed).log
    keep_pos = np.random.default_rng(seed).integers(1, 4, log.n_requests)[log.request_index]
    log.candidates["shown"] = log.shown & (log.position == keep_pos)
    log.candidates.loc[~log.candidates["shown"], "position"] = np.nan
    return log.select_requests(np.ones(log.n_requests, dtype=bool))


def test_logged_position_uses_every_request():
    log = _one_per_request()
    res = screen(log, {"p": policies.softmax(log, "pred_new", 3)}, primary="click", mode="logged_position")
    q = res.data_quality
    assert q.rewards[0].used == log.n_requests and q.rewards[0].excluded == {} and q.reconciles()
    assert res.candidates[0].mode == "logged_position"
    assert [p["position"] for p in res.candidates[0].positions] == [1, 2, 3]


def test_logged_position_extreme_weight_at_position_2_is_inconclusive():
    log = _one_per_request()
    pol = policies.softmax(log, "pred_new", 3)
    rows = np.nonzero(log.shown & (log.position == 2))[0]
    at = rows[np.argmax(pol.probs[rows, 1])]
    log.candidates.loc[log.candidates.index[at], "propensity"] = 1e-6
    log = log.select_requests(np.ones(log.n_requests, dtype=bool))
    c = screen(log, {"p": pol}, primary="click", mode="logged_position").candidates[0]
    assert c.verdict == "inconclusive"
    assert any(r.startswith("position 2") for r in c.support.reasons)
    # one reason per finding: the library's support per position, not a second copy worded by the gate
    assert sum("one impression carries" in r for r in c.support.reasons) == 1


def test_logged_position_ips_lift_by_hand():
    """One impression per request: the IPS lift is mean(π(a at k) / p · y − y) with the i.i.d. standard error."""
    log = _one_per_request(seed=8)
    pol = policies.softmax(log, "pred_new", 3, name="p")
    res = screen(log, {"p": pol}, primary="click", relative=False, mode="logged_position", estimator="IPS",
                 cross_check=[])
    y = log.reward("click")
    rows = np.nonzero(log.shown)[0]
    k = log.position[rows].astype(int) - 1
    d = pol.probs[rows, k] / log.propensity[rows] * y[rows] - y[rows]
    prim = res.candidates[0].primary
    assert rows.size == log.n_requests
    assert prim.value == pytest.approx(d.mean(), rel=1e-10)
    assert prim.se == pytest.approx(d.std(ddof=1) / np.sqrt(d.size), rel=1e-9)
    assert prim.details["mode"] == "logged_position"


def test_cascade_dr_with_a_zero_reward_model_is_cascade_ips(slate_log):
    """With predictions 0 every model part of cascade-DR vanishes: its lift is the cascade (RIPS) lift exactly
    (runs where the library has cascade-DR)."""
    pytest.importorskip("recsys_causal.ope.cascade_dr")
    log = slate_log.select_requests(np.ones(slate_log.n_requests, dtype=bool))
    log.candidates["pred_zero"] = 0.0
    pol = {"t": policies.top_k(log, "pred_new", 3, name="t")}
    kw = {"primary": "click", "mode": "ranking", "cross_check": [], "relative": False}
    dr = screen(log, pol, estimator="cascade-DR", reward_model="pred_zero", **kw).candidates[0].primary
    ips = screen(log, pol, estimator="RIPS (cascade)", **kw).candidates[0].primary
    assert dr.value == pytest.approx(ips.value, rel=1e-12) and dr.se == pytest.approx(ips.se, rel=1e-10)
    fitted = screen(log, pol, estimator="cascade-DR", **kw).candidates[0].primary  # a fitted per-position model
    assert np.isfinite(fitted.value) and fitted.value != pytest.approx(ips.value, rel=1e-9)


def test_ranking_assumption_warnings_reach_the_reasons():
    """The estimators' own caveats and the disagreement check against standard slate IPS (ope.slate_checks)
    are listed with the candidate's reasons in ranking mode."""
    log = simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=3, epsilon=0.3, seed=2,
                                click_model="cascade").log
    c = screen(log, {"t": policies.top_k(log, "pred_new", 3)}, primary="click", mode="ranking",
               estimator="RIPS (cascade)").candidates[0]
    warned = [r for r in c.reasons if r.startswith("warning (")]
    assert any("marginal propensities" in r for r in warned)
    assert warned == [f"warning ({e.details['estimator']}): {w}" for e in [c.primary, *c.cross_checks]
                      for w in e.warnings]


def test_ranking_more_positions_than_logged_is_a_typed_error(slate_log):
    with pytest.raises(ConfigError, match="ranks 5 positions but the log shows at most 3") as exc:
        screen(slate_log, {"t": policies.top_k(slate_log, "pred_new", 5)}, primary="click", mode="ranking")
    assert exc.value.column == "slate_size" and "at most 3" in str(exc.value)


def test_logged_position_from_the_yaml(tmp_path):
    for d in ("reports/examples", "decision_logs"):
        shutil.copytree(ROOT / d, tmp_path / d)
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "screen.yaml").read_text())
    cfg.update(mode="logged_position", protected_segments=[],
               candidates=[c for c in cfg["candidates"] if "mode" not in c])  # the single-slot candidates
    cfg.pop("output")
    path = tmp_path / "reports" / "examples" / "lp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main([str(path), "--json", str(tmp_path / "g.json")]) in (0, 1, 3)
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["settings"]["mode"] == "logged_position" and doc["data_quality"]["reconciles"]
    for c in doc["candidates"]:
        assert c["mode"] == "logged_position" and [p["position"] for p in c["support"]["positions"]] == [1, 2, 3]


def test_example_screen_ranking_candidate_is_position_based_ips_by_hand(tmp_path):
    """The shipped example's ranking candidate (new-top3): its relative lift and SE equal PI-IPS worked in pandas
    from the log's columns (the top-3 of pred_new among eligible candidates, ties in logged order)."""
    from recsys_causal.logs import read_decision_log

    for d in ("reports/examples", "decision_logs"):
        shutil.copytree(ROOT / d, tmp_path / d)
    examples = tmp_path / "reports" / "examples"
    cfg = yaml.safe_load((examples / "screen.yaml").read_text())
    assert main([str(examples / "screen.yaml"), "--json", str(tmp_path / "g.json")]) in (0, 1, 3)
    slate = next(c for c in json.loads((tmp_path / "g.json").read_text())["candidates"] if c["name"] == "new-top3")
    log, _ = read_decision_log(examples / cfg["log"]["path"], require_propensity=True,
                               outcome_events=examples / cfg["log"]["outcome_events"], labels=cfg["log"]["labels"],
                               as_of=cfg["log"]["as_of"])
    frame = log.candidates.assign(request=log.request_index, click=log.reward("click"))
    score = frame["pred_new"].where(frame["eligible"].astype(bool))
    frame["rank"] = score.groupby(frame["request"]).rank(ascending=False, method="first")
    shown = frame[frame["shown"].astype(bool) & (frame["position"] <= 3)]
    weight = (shown["rank"] == shown["position"]).astype(float) / shown["propensity"]
    v = (weight * shown["click"]).groupby(shown["request"]).sum().reindex(range(log.n_requests), fill_value=0.0)
    r = shown["click"].groupby(shown["request"]).sum().reindex(range(log.n_requests), fill_value=0.0)
    mv, mr = v.mean(), r.mean()
    psi = (v - mv) / mr - mv * (r - mr) / mr**2
    assert slate["primary"]["value"] == pytest.approx(mv / mr - 1, rel=1e-10)
    assert slate["primary"]["se"] == pytest.approx(psi.std(ddof=1) / np.sqrt(log.n_requests), rel=1e-9)
    # the deterministic target logs its own slate where every shown item sits at its rank: π(s_i) = 1, else 0
    same = (shown["rank"] == shown["position"]).groupby(shown["request"]).all() & (
        shown.groupby("request").size() == 3)
    never = log.n_requests - int(same.sum())
    assert slate["support"]["slates_never_logged"] == never
    assert slate["support"]["unlogged_slate_mass"] == pytest.approx(never / log.n_requests, rel=1e-12)
