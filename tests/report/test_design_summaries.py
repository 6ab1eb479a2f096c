"""Holdout and switchback pages: the holdout share checked against the planned share (a sample-ratio test), every
holdout interval given a value or a reason, and the switchback summary naming its metric and unit and warning
when the estimate at another carryover order disagrees."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from report_tables import ROOT, parse_tables
from scipy import stats

from recsys_causal.estimate import Estimate
from recsys_causal.report import build_report
from recsys_causal.report.sections.switchback import carryover_checks, carryover_note

EXAMPLES = ROOT / "reports" / "examples"


def _build(tmp_path, design: str, edit=None):
    cfg = yaml.safe_load((EXAMPLES / f"{design}.yaml").read_text())
    for k, v in cfg["data"].items():
        if isinstance(v, str) and v.startswith(".."):
            cfg["data"][k] = str(EXAMPLES / v)
    if edit:
        edit(cfg)
    path = tmp_path / f"{design}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    html, js, _ = build_report(path, tmp_path / "r.html", tmp_path / "r.json")
    return html.read_text(), json.loads(js.read_text())


def test_holdout_share_is_tested_against_the_planned_share(tmp_path):
    html, data = _build(tmp_path, "holdout")
    units = pd.read_parquet(ROOT / "decision_logs" / "sample_holdout_units.parquet")
    counts = units["group"].value_counts()
    n_t, n_h = int(counts["treated"]), int(counts["holdout"])
    chi2, p = stats.chisquare([n_t, n_h], [0.9 * (n_t + n_h), 0.1 * (n_t + n_h)])
    srm = data["data_quality"]["srm"]
    assert srm["observed"] == {"treated": n_t, "holdout": n_h}
    assert srm["chi2"] == pytest.approx(chi2, rel=1e-12) and srm["p_value"] == pytest.approx(p, rel=1e-12)
    assert srm["observed_share"] == n_h / (n_t + n_h) and not srm["flagged"]
    assert any(r.startswith(f"Holdout share {100 * n_h / (n_t + n_h):.2f}% against the planned 10.00%")
               for r in data["decision"]["reasons"])
    row = parse_tables(html)["srm"][2]
    assert row[:3] == ["observed share (planned)", f"{100 * (n_t / (n_t + n_h)):.2f}% (90.00%)",
                       f"{100 * (n_h / (n_t + n_h)):.2f}% (10.00%)"]


def test_a_holdout_split_off_plan_blocks(tmp_path):
    def planned_20(cfg):
        cfg["holdout"]["planned_share"] = 0.2

    _, data = _build(tmp_path, "holdout", planned_20)
    assert data["data_quality"]["srm"]["flagged"] and data["decision"]["verdict"] == "do not ship"
    assert "not split as planned" in data["decision"]["reasons"][0]


def test_every_holdout_interval_has_a_value_or_a_reason(tmp_path):
    """The over-credit ratio's Fieller interval is unbounded exactly when the incremental conversions are not
    distinguishable from 0 (their interval holds 0); the page says so instead of an unexplained [—, —]."""
    html, data = _build(tmp_path, "holdout")
    rows = parse_tables(html)["holdout-table"][1:]
    est = {e["name"]: e for e in data["holdout"]["estimates"]}
    inc = est["incremental conversions (treated population)"]
    assert inc["ci_low"] < 0 < inc["ci_high"]
    assert all("—" not in r[2] for r in rows), [r[2] for r in rows]
    cell = next(r[2] for r in rows if r[0].startswith("attribution over-credit"))
    assert cell.startswith("unbounded: incremental conversions are not distinguishable from 0")


def test_switchback_summary_names_metric_unit_and_carryover_disagreement(tmp_path):
    html, data = _build(tmp_path, "switchback")
    sb = data["switchback"]
    assert sb["summary"] == "event value (mean of value per region block of 1 h)"
    reason = data["decision"]["reasons"][0]
    assert reason.startswith("Effect on event value (mean of value per region block of 1 h): ")
    # from the carryover table itself: m=1 is used (significant, positive); m=2's interval holds 0
    rows = {e["name"]: e for e in sb["carryover"]}
    m2 = rows["effect (m=2)"]
    assert m2["ci_low"] < 0 < m2["ci_high"] and rows["effect (m=1)"]["ci_low"] > 0 and rows["effect (m=0)"]["ci_low"] > 0
    assert [c["carryover_order"] for c in sb["carryover_check"] if not c["agrees"]] == [2]
    assert f"m=2: {m2['value']:.3g} [{m2['ci_low']:.3g}, {m2['ci_high']:.3g}], not significant" in reason
    assert "Caution: the estimate depends on the assumed carryover order" in html.split('id="switchback-summary"')[1]


def _e(m: int, value: float, lo: float, hi: float) -> Estimate:
    return Estimate(f"effect (m={m})", value, 1.0, lo, hi, 100, "Hajek", details={"carryover_order": m,
                                                                                  "windows_treated": 10})


def test_carryover_checks_flag_sign_and_significance():
    chosen = _e(1, 0.4, 0.1, 0.7)
    checks = carryover_checks(chosen, [_e(0, 0.3, 0.05, 0.5), chosen, _e(2, -0.2, -0.5, -0.01)], 0.05)
    assert [(c["carryover_order"], c["same_sign"], c["significant"], c["agrees"]) for c in checks] == [
        (0, True, True, True), (2, False, True, False)]
    assert "m=2: -0.2 [-0.5, -0.01], opposite sign" in carryover_note(checks, 1)
    assert carryover_note(checks[:1], 1) is None
