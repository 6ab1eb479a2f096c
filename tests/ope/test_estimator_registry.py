"""A new off-policy estimator is one class: defined here, with no edit to the package, it works in memory, on
DuckDB over Parquet, in the gate (API and ``causal-gate`` YAML) and in the report's OPE screen section.

The estimator is self-normalised IPS with the importance weights capped at ``cap``:
``V̂ = Σ min(w, cap) y / Σ min(w, cap)``, influence ``ψ = min(w, cap) (y − V̂) / mean(min(w, cap))``; every
check below recomputes value and standard error from that closed form with numpy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys_causal.errors import ConfigError
from recsys_causal.logs import DecisionLog, read_decision_log, write_partitioned_log
from recsys_causal.ope import Estimator, available_estimators, evaluate_policies, get_estimator, policies
from recsys_causal.ope.single_slot import SwitchDR
from recsys_causal.scale import Softmax
from recsys_causal.simulate import simulate_decision_log

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CappedSNIPS(Estimator):
    """Self-normalised IPS with weights capped at ``cap`` (a test fixture)."""

    cap: float = 2.5
    name = "capped-SNIPS"

    def terms(self, c):
        m = np.minimum(c.w, self.cap)
        return [(m * c.y, m)]

    def sql_terms(self, sql):
        m = f"LEAST(w, {sql.number(self.cap)})"
        return [(f"{m} * y", m)]


def capped_snips(w: np.ndarray, y: np.ndarray, cap: float) -> tuple[float, float, np.ndarray]:
    """Closed form: value, standard error and influence values of capped SNIPS."""
    m = np.minimum(w, cap)
    v = float(np.sum(m * y) / np.sum(m))
    psi = m * (y - v) / m.mean()
    return v, float(np.sqrt(np.sum(psi**2) / (y.size - 1) / y.size)), psi


def top_slot(log: DecisionLog, probs: np.ndarray, reward: str = "click") -> tuple[np.ndarray, np.ndarray]:
    """Importance weights and rewards of the item shown at position 1 (requests with an observed reward)."""
    y = log.reward(reward)
    rows = np.nonzero(log.shown & (log.position == 1) & np.isfinite(y))[0]
    return probs[rows, 0] / log.propensity[rows], y[rows]


def small_log() -> tuple[DecisionLog, np.ndarray]:
    """Five requests, two candidates each; the first is shown at position 1."""
    req = pd.DataFrame({"request_id": [f"r{i}" for i in range(5)],
                        "decision_time": pd.to_datetime(["2026-01-01"] * 5, utc=True)})
    p = [0.25, 0.3, 0.4, 0.2, 0.5]
    cand = pd.DataFrame({"request_id": np.repeat(req["request_id"], 2).to_numpy(), "item_id": ["a", "b"] * 5,
                         "shown": [True, False] * 5, "position": [1.0, np.nan] * 5,
                         "propensity": np.ravel([[pi, 1 - pi] for pi in p]),
                         "click": [1.0, np.nan, 0.0, np.nan, 1.0, np.nan, 1.0, np.nan, 0.0, np.nan]})
    pi = np.array([0.5, 0.9, 0.2, 0.8, 0.1])  # target probability of the shown item: w = 2, 3, 0.5, 4, 0.2
    return DecisionLog.from_frames(req, cand), np.ravel([[x, 1 - x] for x in pi])[:, None]


def test_registered_by_name_with_parameters():
    assert "capped-SNIPS" in available_estimators(slate=False)
    assert "capped-SNIPS" not in available_estimators(slate=True)
    assert get_estimator("Capped-snips", cap=4.0) == CappedSNIPS(cap=4.0)
    assert isinstance(get_estimator("SwitchDR", tau=4.0), SwitchDR)  # aliases
    with pytest.raises(ConfigError, match="did you mean 'capped-SNIPS'"):
        get_estimator("capped-SNIP")
    with pytest.raises(ConfigError, match="does not take parameters"):
        get_estimator("capped-SNIPS", tau=3)
    with pytest.raises(ConfigError, match="already registered"):
        type("Other", (Estimator,), {"name": "capped-snips"})


def test_in_memory_value_and_se_by_hand():
    log, probs = small_log()
    res = evaluate_policies(log, {"t": probs}, estimators=["capped-SNIPS"])  # cap 2.5
    # by hand: min(w, 2.5) = 2, 2.5, 0.5, 2.5, 0.2; Σ m y = 5, Σ m = 7.7, so V̂ = 50/77
    m, y = np.array([2, 2.5, 0.5, 2.5, 0.2]), np.array([1.0, 0, 1, 1, 0])
    psi = m * (y - 50 / 77) / (7.7 / 5)
    se = np.sqrt(np.sum(psi**2) / (5 * 4))
    value = next(e for e in res.estimates if e.details["quantity"] == "value" and e.details["policy"] == "t")
    assert value.name == "t | click | capped-SNIPS"
    assert value.value == pytest.approx(50 / 77, rel=1e-12) and value.se == pytest.approx(se, rel=1e-12)
    lift = next(e for e in res.estimates if e.details["quantity"] == "lift")
    psi_lift = psi - (y - 0.6)  # the logging value is the mean click 3/5
    assert lift.value == pytest.approx(50 / 77 - 0.6, rel=1e-12)
    assert lift.se == pytest.approx(np.std(psi_lift, ddof=1) / np.sqrt(5), rel=1e-12)


@pytest.fixture(scope="module")
def parquet_log(tmp_path_factory):
    frame = simulate_decision_log(n_requests=3000, n_candidates=5, slate_size=1, epsilon=0.3, seed=21).log \
        .to_long_frame()
    return write_partitioned_log(frame, tmp_path_factory.mktemp("capped") / "log")


def test_duckdb_engine_equals_in_memory(parquet_log):
    log = read_decision_log(parquet_log).log
    pol = {"soft": Softmax("pred_new", temperature=0.5)}
    local = evaluate_policies(log, pol, estimators=[{"name": "capped-SNIPS", "cap": 3.0}]).to_frame()
    sql = evaluate_policies(parquet_log, pol, estimators=[CappedSNIPS(cap=3.0)]).to_frame()
    assert list(sql["name"]) == list(local["name"]) and "soft | click | capped-SNIPS" in set(sql["name"])
    for col in ("value", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(sql[col].to_numpy(float), local[col].to_numpy(float), rtol=1e-9, atol=1e-13)
    w, y = top_slot(log, Softmax("pred_new", temperature=0.5).to_local(log).probs)
    v, se, _ = capped_snips(w, y, 3.0)
    row = sql[sql["name"] == "soft | click | capped-SNIPS"].iloc[0]
    assert row["value"] == pytest.approx(v, rel=1e-10) and row["se"] == pytest.approx(se, rel=1e-10)


def _relative_lift_by_hand(log: DecisionLog, probs: np.ndarray, cap: float) -> tuple[float, float]:
    w, y = top_slot(log, probs)
    v, _, psi_v = capped_snips(w, y, cap)
    base = y.mean()
    psi = psi_v / base - v * (y - base) / base**2
    return v / base - 1, float(np.std(psi, ddof=1) / np.sqrt(y.size))


def test_gate_api_by_name_and_instance(parquet_log):
    from recsys_causal.gate import screen

    log = read_decision_log(parquet_log).log
    cand = {"new": policies.softmax(log, "pred_new", 1, name="new")}
    value, se = _relative_lift_by_hand(log, cand["new"].probs, 3.0)
    by_name = screen(log, cand, primary="click", estimator={"name": "capped-SNIPS", "cap": 3.0},
                     cross_check=[CappedSNIPS(cap=1.5)])
    prim = by_name.candidates[0].primary
    assert prim.name == "new: relative lift in click (capped-SNIPS)" and prim.alpha == 0.1
    assert prim.value == pytest.approx(value, rel=1e-10) and prim.se == pytest.approx(se, rel=1e-10)
    check = by_name.candidates[0].cross_checks[0]
    assert check.value == pytest.approx(_relative_lift_by_hand(log, cand["new"].probs, 1.5)[0], rel=1e-10)
    assert by_name.settings["estimator"] == "capped-SNIPS"


def _gate_yaml(path: Path, log_path: str, estimator) -> Path:
    cfg = {"name": "capped", "log": {"path": log_path},
           "candidates": [{"name": "new", "score": "pred_new", "kind": "softmax"}],
           "primary": {"reward": "click"}, "estimator": estimator, "cross_check": ["IPS"]}
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_gate_cli_yaml_names_it(parquet_log, tmp_path):
    from recsys_causal.gate import main

    cfg = _gate_yaml(tmp_path / "screen.yaml", str(parquet_log), {"name": "capped-SNIPS", "cap": 3.0})
    code = main([str(cfg), "--json", str(tmp_path / "out.json"), "--markdown", str(tmp_path / "out.md")])
    out = json.loads((tmp_path / "out.json").read_text())
    assert code == out["exit_code"] and out["settings"]["estimator"] == "capped-SNIPS"
    log = read_decision_log(parquet_log).log
    value, se = _relative_lift_by_hand(log, policies.softmax(log, "pred_new", 1).probs, 3.0)
    prim = out["candidates"][0]["primary"]
    assert prim["value"] == pytest.approx(value, rel=1e-10) and prim["se"] == pytest.approx(se, rel=1e-10)
    bad = _gate_yaml(tmp_path / "bad.yaml", str(parquet_log), "capped-SNIP")
    assert main([str(bad)]) == 2


def test_report_ope_screen_section_names_it(tmp_path):
    from recsys_causal.gate import main
    from recsys_causal.report import build_report

    shutil.copytree(ROOT / "reports" / "examples", tmp_path / "reports" / "examples")
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    examples = tmp_path / "reports" / "examples"
    screen_cfg = yaml.safe_load((examples / "screen.yaml").read_text())
    screen_cfg.update(estimator={"name": "capped-SNIPS", "cap": 3.0}, cross_check=["capped-SNIPS", "IPS"],
                      candidates=[c for c in screen_cfg["candidates"] if c.get("mode", "top_slot") == "top_slot"])
    (examples / "capped_screen.yaml").write_text(yaml.safe_dump(screen_cfg))
    ab = yaml.safe_load((examples / "ab.yaml").read_text())
    ab["ope_screen"] = "capped_screen.yaml"
    (examples / "ab_capped.yaml").write_text(yaml.safe_dump(ab))
    _, json_path, _ = build_report(examples / "ab_capped.yaml", tmp_path / "r.html", tmp_path / "r.json")
    report = json.loads(json_path.read_text())
    main([str(examples / "capped_screen.yaml"), "--json", str(tmp_path / "gate.json"), "--markdown",
          str(tmp_path / "gate.md")])
    gate = json.loads((tmp_path / "gate.json").read_text())
    assert report["ope"]["settings"]["estimator"] == "capped-SNIPS"
    for got, want in zip(report["ope"]["candidates"], gate["candidates"], strict=True):
        assert got["primary"]["name"].endswith("(capped-SNIPS)") and got["primary"] == want["primary"]
        assert [c["name"] for c in got["cross_checks"]] == [c["name"] for c in want["cross_checks"]]
    assert any("capped-SNIPS estimates" in m for m in report["methods"])


def test_every_builtin_estimator_is_registered_with_its_formula():
    from recsys_causal.ope.estimators import estimator_class

    builtin = {"DM", "IPS", "SNIPS", "DR", "SNDR", "Switch-DR", "DRos", "PI-IPS", "SN-PI-IPS", "RIPS (cascade)",
               "slate IPS", "PI (pseudo-inverse)"}
    assert builtin <= set(available_estimators())
    for name in builtin:
        cls = estimator_class(name)
        assert "V̂" in (cls.__doc__ or ""), name  # each class states its formula
        assert cls.slate == (name in {"PI-IPS", "SN-PI-IPS", "RIPS (cascade)", "slate IPS", "PI (pseudo-inverse)"})
