"""Reward declaration and the reward model in the gate YAML: declared rewards are the only outcomes, a
cross-fitted model is chosen by learner and features (the same model as the API's RewardModel), and every wrong
key or value is a typed error naming the key and the nearest valid choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from sklearn.linear_model import Ridge

from recsys_causal.config_io import validate_config
from recsys_causal.errors import ConfigError
from recsys_causal.gate import main, screen
from recsys_causal.gate.cli import build_policy
from recsys_causal.gate.config import GateConfig
from recsys_causal.logs import read_decision_log
from recsys_causal.ope.reward_model import RewardModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def write(tmp_path):
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "screen.yaml").read_text())
    cfg["log"]["path"] = "decision_logs/sample_decision_log.parquet"
    cfg["log"]["outcome_events"] = "decision_logs/sample_outcome_events.parquet"
    cfg.pop("output")
    cfg["protected_segments"] = []
    cfg["candidates"] = [c for c in cfg["candidates"] if "mode" not in c]  # the top-slot candidates

    def _write(**changes) -> Path:
        path = tmp_path / "screen.yaml"
        path.write_text(yaml.safe_dump({**cfg, **changes}))
        return path
    _write.cfg = cfg
    return _write


def _json(path, tmp_path) -> dict:
    out = tmp_path / "g.json"
    assert main([str(path), "--json", str(out)]) in (0, 1, 3)
    return json.loads(out.read_text())


def test_declared_rewards_are_the_only_outcomes(write, capsys):
    log = {**write.cfg["log"], "rewards": ["click", "hide"]}
    assert main([str(write(log=log, primary={"reward": "purchase"}))]) == 2
    err = capsys.readouterr().err
    assert "purchase" in err and "'click'" in err and "Traceback" not in err
    assert main([str(write(log={**log, "rewards": ["click", "hide", "purchase"]},
                           primary={"reward": "purchase"}))]) in (0, 1, 3)


def test_yaml_learner_is_the_api_reward_model(write, tmp_path):
    spec = {"learner": "ridge", "features": ["pred_new", "feature_quality"], "folds": 3}
    doc = _json(write(reward_model=spec), tmp_path)
    log, report = read_decision_log(tmp_path / "decision_logs" / "sample_decision_log.parquet",
                                    require_propensity=True,
                                    outcome_events=tmp_path / "decision_logs" / "sample_outcome_events.parquet",
                                    labels=write.cfg["log"]["labels"], as_of=write.cfg["log"]["as_of"])
    cfg = validate_config(GateConfig, write.cfg, source="x", fix="x")
    model = RewardModel(estimator=Ridge(alpha=1.0), features=("pred_new", "feature_quality"), folds=3, seed=7)
    res = screen(log, {c.name: build_policy(log, c) for c in cfg.candidates}, primary="click",
                 guardrails=[], reward_model=model, seed=7, validation=report)
    by_name = {c.name: c for c in res.candidates}
    for c in doc["candidates"]:
        assert c["primary"]["value"] == pytest.approx(by_name[c["name"]].primary.value, rel=1e-12)
    assert "Ridge" in doc["settings"]["reward_model"] and "pred_new" in doc["settings"]["reward_model"]


def test_learner_moves_dr_but_not_ips(write, tmp_path):
    hgb = _json(write(reward_model={"learner": "hgb"}), tmp_path)
    lin = _json(write(reward_model={"learner": "linear", "features": ["pred_new"]}), tmp_path)
    for a, b in zip(hgb["candidates"], lin["candidates"], strict=True):
        assert a["cross_checks"][0]["method"].startswith("IPS")
        assert a["cross_checks"][0]["value"] == pytest.approx(b["cross_checks"][0]["value"], rel=1e-12)
    assert hgb["candidates"][0]["primary"]["value"] != pytest.approx(lin["candidates"][0]["primary"]["value"],
                                                                     rel=1e-6)


def test_default_hgb_spec_equals_the_default_model(write, tmp_path):
    default, hgb = _json(write(), tmp_path), _json(write(reward_model={"learner": "hgb"}), tmp_path)
    assert [c["primary"]["value"] for c in default["candidates"]] == [c["primary"]["value"] for c in
                                                                      hgb["candidates"]]


@pytest.mark.parametrize("model, key, hint", [
    ({"learner": "rige"}, "learner", "did you mean 'ridge'"),
    ({"learner": "ridge", "featurs": ["pred_new"]}, "featurs", "did you mean 'features'"),
    ({"learner": "ridge", "folds": 1}, "folds", "2"),
])
def test_bad_model_spec_is_a_typed_error(write, model, key, hint):
    with pytest.raises(ConfigError) as exc:
        validate_config(GateConfig, {**write.cfg, "reward_model": model}, source="screen.yaml", fix="x")
    assert key in str(exc.value) and hint in str(exc.value)


@pytest.mark.parametrize("model, key", [
    ({"learner": "ridge", "features": ["pred_nwe"]}, "reward_model.features[0]"),
    ({"clik": "pred_new"}, "reward_model.clik"),
])
def test_model_columns_and_rewards_are_checked_against_the_log(write, capsys, model, key):
    assert main([str(write(reward_model=model))]) == 2
    err = capsys.readouterr().err
    assert key in err and "did you mean" in err and "Traceback" not in err
