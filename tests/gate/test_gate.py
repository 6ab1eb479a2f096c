"""Screening scenarios on simulated logs, the CLI's exit codes and outputs, and malformed inputs."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from recsys_causal.gate import Guardrail, main, screen
from recsys_causal.ope import TargetPolicy, policies
from recsys_causal.simulate import simulate_decision_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    s = simulate_decision_log(n_requests=40_000, n_candidates=8, slate_size=1, epsilon=0.3, seed=11)
    annoyance = s.world.item_annoyance[s.log.candidates["item_id"].str[1:].astype(int).to_numpy()]
    # a "clickbait" ranker: more clicks, and far more hides
    s.log.candidates["pred_clickbait"] = 3 * s.log.candidates["pred_new"] + 6 * annoyance
    return s


def verdict_of(result, name):
    return next(c for c in result.candidates if c.name == name)


def test_scenarios(sim):
    log = sim.log
    surface = log.request_column("surface")[log.request_index]
    harm_search = np.where((surface == "search")[:, None],
                           policies.softmax(log, "pred_bold", 1, temperature=10.0).probs,
                           policies.softmax(log, "pred_new", 1).probs)
    cands = {"better": policies.softmax(log, "pred_new", 1),
             "worse": policies.softmax(log, "pred_bold", 1, temperature=2.0),
             "clickbait": policies.softmax(log, "pred_clickbait", 1),
             "harms_search": TargetPolicy("harms_search", harm_search)}
    res = screen(log, cands, primary="click", guardrails=[Guardrail("hide", "increase_is_bad", 0.05)],
                 protected_segments=[("surface", None)], seed=3)
    better = verdict_of(res, "better")
    assert better.verdict == "pass" and better.lower_bound > 0
    # the exact truth agrees: the better policy's relative click lift over logging is positive
    truth = sim.true_value(cands["better"].probs, "click") / sim.true_value(sim.logging_position_probs[:, :1],
                                                                            "click") - 1
    assert better.primary.ci_low <= truth <= better.primary.ci_high
    worse = verdict_of(res, "worse")
    assert worse.verdict == "fail" and "confidently below" in worse.reasons[0]
    bait = verdict_of(res, "clickbait")
    assert bait.primary.value > 0 and bait.verdict == "fail"
    assert any(r.startswith("guardrail hide is worse than its margin") for r in bait.reasons)
    seg = verdict_of(res, "harms_search")
    assert seg.verdict == "fail" and any("protected segment surface=search is harmed" in r for r in seg.reasons)
    assert not any("surface=home" in r for r in seg.reasons)
    # ranked by lower confidence bound
    assert [c.lower_bound for c in res.candidates] == sorted((c.lower_bound for c in res.candidates), reverse=True)
    assert res.exit_code == 1


def test_far_policy_is_inconclusive_with_the_support_reason():
    s = simulate_decision_log(n_requests=5000, n_candidates=20, slate_size=1, epsilon=0.01, temperature=0.5, seed=3)
    res = screen(s.log, {"far": policies.top_k(s.log, "pred_bold", 1)}, primary="click")
    far = res.candidates[0]
    assert far.verdict == "inconclusive" and far.reasons[0].startswith("support is")
    assert "effective sample size" in far.reasons[0] and res.exit_code == 3


def test_same_inputs_same_json_apart_from_timestamp(sim):
    cands = {"better": policies.softmax(sim.log, "pred_new", 1)}
    a = screen(sim.log, cands, primary="click", seed=5).to_dict()
    b = screen(sim.log, cands, primary="click", seed=5).to_dict()
    a.pop("generated_at"), b.pop("generated_at")
    assert json.dumps(a) == json.dumps(b)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "reports" / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "reports" / "examples" / "screen.yaml", tmp_path / "reports" / "examples" / "screen.yaml")
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    return tmp_path / "reports" / "examples"


def test_example_config_runs_with_outputs_and_exit_code(workdir, capsys):
    code = main([str(workdir / "screen.yaml")])
    out = capsys.readouterr().out
    data = json.loads((workdir.parent / "out" / "screen.json").read_text())
    assert code == data["exit_code"] and code in (0, 1, 3)
    assert data["schema_version"] == 1 and {c["name"] for c in data["candidates"]} == {
        "new-softmax", "bold-top1", "new-top3"}
    import jsonschema

    jsonschema.validate(data, json.loads((ROOT / "recsys_causal" / "schemas" / "gate.schema.json").read_text()))
    dq = data["data_quality"]  # the reader's report reaches the screen: read = used + quarantined + excluded
    assert dq["validated"] and dq["requests_read"] == 4000 and dq["reconciles"]
    assert all(dq["requests_read"] == r["used"] + dq["quarantined_total"] + r["excluded_total"] for r in dq["rewards"])
    assert data["intervals"]["primary"] == "90% interval (two-sided)" and "| requests |" in out
    assert "## OPE screen" in out and (workdir.parent / "out" / "screen.md").read_text() == out.rstrip("\n") + "\n"
    page = (workdir.parent / "out" / "screen.html").read_text()
    assert "<script" not in page and "new-softmax" in page


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.update(threshold=3), "unknown key 'threshold'"),
        (lambda c: c["candidates"][0].pop("score"), "needs 'score'"),
        (lambda c: c.update(estimator="magic"), "estimator"),
        (lambda c: c["log"].update(path="nowhere.parquet"), "log.path: file 'nowhere.parquet' does not exist"),
        (lambda c: c["primary"].update(reward="revenue"), "primary.reward: 'revenue' is not one of the outcome columns"),
        (lambda c: c["candidates"][0].update(score="pred_missing"), "candidates[0].score: 'pred_missing' is not one of the score columns"),
    ],
)
def test_malformed_configs_exit_2(workdir, capsys, mutate, message):
    cfg = yaml.safe_load((workdir / "screen.yaml").read_text())
    mutate(cfg)
    path = workdir / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_malformed_log_exits_2(workdir, capsys):
    import pandas as pd

    data = workdir.parent.parent / "decision_logs" / "sample_decision_log.parquet"
    pd.read_parquet(data).drop(columns=["propensity"]).to_parquet(data)
    assert main([str(workdir / "screen.yaml")]) == 2
    err = capsys.readouterr().err
    assert "missing required column(s) ['propensity']" in err and "Traceback" not in err


def test_hostile_names_are_escaped_in_markdown_and_html(sim):
    res = screen(sim.log, {"<img src=x>|*bold*": policies.softmax(sim.log, "pred_new", 1)}, primary="click")
    md, page = res.to_markdown(), res.to_html()
    assert "<img" not in md and "&lt;img src=x&gt;\\|\\*bold\\*" in md
    assert "<img" not in page and "&lt;img src=x&gt;" in page
