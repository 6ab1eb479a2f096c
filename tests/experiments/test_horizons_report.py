"""The long-term section of causal-report: its numbers are the API's, its YAML errors name the key, and the
shipped long-term sample is the simulator's output."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys_causal import ConfigError, read_decision_log
from recsys_causal.experiments import Metric, analyze_horizons
from recsys_causal.report import build_report
from recsys_causal.simulate.visits import SAMPLE_FILES, simulate_visits, write_visits_sample

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def plan(project):
    path = project / "reports" / "examples" / "longterm.yaml"
    return path, yaml.safe_load(path.read_text())


def _write(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_longterm_section_equals_the_api_on_the_shipped_log(plan, tmp_path):
    path, cfg = plan
    _, json_path, _ = build_report(path, tmp_path / "r.html", tmp_path / "r.json")
    section = json.loads(json_path.read_text())["longterm"]
    data = path.parent / cfg["data"]["decision_log"]
    log, _ = read_decision_log(data, outcome_events=path.parent / cfg["data"]["outcome_events"],
                               labels=cfg["data"]["labels"], as_of=cfg["data"]["as_of"])
    lt = cfg["longterm"]
    r = analyze_horizons(log, metrics=[Metric.from_spec(m["name"], m["kind"], role="primary") for m in lt["metrics"]],
                         horizons=lt["horizons"], as_of=cfg["data"]["as_of"], outcomes=lt["outcomes"],
                         events=pd.read_parquet(path.parent / cfg["data"]["outcome_events"]),
                         flags=pd.read_csv(path.parent / lt["flags"]), expected_split=cfg["variants"]["expected_split"])
    assert [e["name"] for e in section["lifts"]] == [e.name for e in r.estimates]
    got = np.array([[e["value"], e["ci_low"], e["ci_high"]] for e in section["lifts"]], dtype=float)
    want = np.array([[e.value, e.ci_low, e.ci_high] for e in r.estimates])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert [u["units_used"] for u in section["units"]] == r.counts["units_used"].tolist()
    flags = pd.read_csv(path.parent / lt["flags"])
    assert sum(v for k, v in section["units"][0].items() if k.startswith("units_excluded_") and "unknown" not in k) \
        == flags["user_id"].nunique()  # every flagged user of the sample has a closed 7-day window


def _no_events(cfg: dict) -> None:
    del cfg["data"]["outcome_events"], cfg["data"]["labels"]
    cfg["metrics"]["secondary"] = [m for m in cfg["metrics"]["secondary"] if m["name"] != "purchase"]


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["longterm"].update(horizons=[0, 7]), "longterm"),
    (lambda c: c["longterm"].update(outcomes=["retention within 7d after exposure"]), "longterm"),
    (lambda c: c["longterm"].update(outcomes=["return after purchase"]), "longterm"),
    (lambda c: c["longterm"].update(metrics=[]), "longterm.metrics"),
    (lambda c: c["longterm"].update(metrics=[{"name": "nps", "kind": "mean"}]), "longterm.metrics[0]"),
    (lambda c: c["experiment"].update(design="holdout") or c["data"].update(units="x.parquet"), "longterm"),
    (lambda c: _no_events(c), "longterm.outcomes"),
])
def test_bad_longterm_plans_are_config_errors_naming_the_key(plan, tmp_path, edit, key):
    path, cfg = plan
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        build_report(_write(path, cfg), tmp_path / "r.html", tmp_path / "r.json")
    assert key in str(err.value)


def test_shipped_longterm_sample_is_the_simulators_output(tmp_path):
    write_visits_sample(tmp_path)
    for name in SAMPLE_FILES:
        read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
        pd.testing.assert_frame_equal(read(tmp_path / name), read(ROOT / "decision_logs" / name))


def test_simulated_truth_is_the_closed_form_worked_by_hand():
    sim = simulate_visits(n_users=10, seed=0)
    t = sim.truth(7)
    # control: rate 0.15/day, shape 1.5 -> 1 - (1 + 0.15 * 7 / 1.5) ** -1.5 = 1 - 1.7 ** -1.5
    assert t["retention"]["control"] == pytest.approx(1 - 1.7 ** -1.5, rel=1e-12)
    # treatment: rate 0.15 * 1.3 = 0.195; clicks 4 slots * 0.05 * 1.06 * (1 + 0.195 * 7)
    assert t["retention"]["treatment"] == pytest.approx(1 - (1 + 0.195 * 7 / 1.5) ** -1.5, rel=1e-12)
    assert t["click"]["treatment"] == pytest.approx(4 * 0.053 * 2.365, rel=1e-12)
    big = simulate_visits(n_users=10_000, seed=3)
    first = big.requests.groupby("user_id").agg(t0=("decision_time", "min"), variant=("variant", "first"))
    req = big.requests.merge(first["t0"].reset_index())
    later = req.loc[(req["decision_time"] > req["t0"]) & (req["decision_time"] <= req["t0"] + pd.Timedelta(days=7))]
    retained = first.index.isin(later["user_id"])
    for arm in ("control", "treatment"):  # every 7-day window closes by day 40; MC SE about 0.007
        share = retained[first["variant"] == arm].mean()
        se = np.sqrt(share * (1 - share) / (first["variant"] == arm).sum())
        assert abs(share - t["retention"][arm]) < 4 * se


def test_the_surrogate_history_is_worked_from_the_simulated_requests_by_hand():
    """history_table's 7-day surrogates and 30-day retention equal a per-user count over the simulated requests
    (retained: another request within 30 days of the first)."""
    from recsys_causal.simulate.visits import VisitsDesign, history_table

    table = history_table(n_users=300, seed=5).set_index("user_id")
    sim = simulate_visits(300, design=VisitsDesign(as_of_days=60.0, follow_days=60.0), seed=5)
    r = sim.requests.assign(user_id="h" + sim.requests["user_id"])
    since = r["decision_time"] - r.groupby("user_id")["decision_time"].transform("min")
    week = r[since < pd.Timedelta(days=7)].groupby("user_id").size()
    month = r[since < pd.Timedelta(days=30)].groupby("user_id").size()
    assert (table["n_requests"] == week.reindex(table.index)).all()
    assert (table["impressions"] == 4 * week.reindex(table.index)).all()
    assert (table["retained_30d"] == (month.reindex(table.index) > 1).astype(float)).all()
    assert len(table) == r["user_id"].nunique()
