"""A quantile that falls in a point mass (p95 of a mostly-zero metric) is flagged, and not shown as a precise
``0 [0, 0]`` when both arms are degenerate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_causal.experiments import Metric, analyze_ab
from recsys_causal.experiments.quantiles import arm_quantile, quantile_lift


def _mostly_zero(n_zero: int, n: int = 1000) -> np.ndarray:
    return np.r_[np.zeros(n_zero), np.arange(1.0, n - n_zero + 1.0)]


def test_degenerate_rule_worked_by_hand():
    """970 zeros of 1,000: the rank interval of p95 is 0.95 ± 1.96·sqrt(0.97·0.03/1000) = [0.939, 0.961], inside
    the point mass [0, 0.97] → zero width; for p96.5 it is [0.954, 0.976], which leaves the mass → positive."""
    y = _mostly_zero(970)
    sigma = np.sqrt(0.97 * 0.03 / 1000)
    assert 0.95 + 1.96 * sigma < 0.97 < 0.965 + 1.96 * sigma
    assert arm_quantile(y, 0.95).var_mean == 0
    assert arm_quantile(y, 0.965).var_mean > 0
    e = quantile_lift(y, y.copy(), q=0.95)
    assert e.value == 0 and np.isnan(e.se) and np.isnan(e.ci_low) and np.isnan(e.ci_high)
    assert e.p_value is None or np.isnan(e.p_value)
    assert "not estimable" in e.warnings[0] and "97.0% of units equal to 0" in e.warnings[0]
    ok = quantile_lift(y, y.copy(), q=0.965)
    assert not ok.warnings and ok.ci_low < 0 < ok.ci_high


def test_one_degenerate_arm_is_flagged_but_estimated():
    rng = np.random.default_rng(3)
    e = quantile_lift(rng.exponential(1, 2000), _mostly_zero(1900, 2000), q=0.5)
    assert np.isfinite(e.ci_low) and e.ci_low < e.value < e.ci_high
    assert "one arm" in e.warnings[0] and "control" in e.warnings[0]


def test_continuous_metric_is_untouched():
    rng = np.random.default_rng(4)
    e = quantile_lift(rng.normal(1, 1, 3000), rng.normal(0, 1, 3000), q=0.95)
    assert not e.warnings and "degenerate" not in e.details and e.se > 0


def _units(seed: int = 5, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.random(n) < 0.5
    spend = np.where(rng.random(n) < 0.97, 0.0, rng.exponential(10, n))
    return pd.DataFrame({"unit_id": np.arange(n), "variant": np.where(t, "treatment", "control"), "spend": spend})


def test_readout_flags_a_degenerate_quantile_metric():
    r = analyze_ab(_units(), metrics=["spend", Metric.quantile("spend", 0.95)], unit_col="unit_id",
                   expected_split={"control": 0.5, "treatment": 0.5})
    e = r.lift("spend_p95", relative=False)
    assert np.isnan(e.ci_low) and np.isnan(e.ci_high) and "not estimable" in e.details["degenerate"]
    assert any("not estimable" in w for w in e.warnings)
    assert any(w.startswith("metric 'spend_p95' (treatment): p95 is not estimable") for w in r.warnings)
    assert r.lift("spend", relative=False).se > 0  # the mean of the same metric is estimable


def test_report_shows_the_quantile_as_not_estimable(tmp_path):
    from recsys_causal.report.cli import main

    _units().to_parquet(tmp_path / "units.parquet")
    (tmp_path / "q.yaml").write_text(
        "experiment: {name: q, design: ab, unit: unit_id}\ndata: {units: units.parquet}\n"
        "metrics: {primary: [{name: spend, kind: mean}], secondary: [{name: spend_p95, kind: quantile, "
        "column: spend, q: 0.95}]}\n")
    code = main([str(tmp_path / "q.yaml"), "--quiet", "--out", str(tmp_path / "r.html"),
                 "--json", str(tmp_path / "r.json")])
    assert code in (0, 1, 3)
    rows = [m for m in json.loads((tmp_path / "r.json").read_text())["metrics"] if m["metric"] == "spend_p95"]
    assert rows and all(m["ci_low"] is None and "not estimable" in m["degenerate"] for m in rows)
    page = (tmp_path / "r.html").read_text()
    assert "Warning: metric &#39;spend_p95&#39; (treatment): p95 is not estimable" in page
    assert "[0, 0]" not in page


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_quantile_inside_the_mass_of_both_arms_never_reports_a_zero_width_interval(q):
    rng = np.random.default_rng(6)
    for _ in range(20):
        a, b = (np.where(rng.random(1500) < 0.98, 0.0, rng.exponential(1, 1500)) for _ in range(2))
        e = quantile_lift(a, b, q=q)
        assert np.isnan(e.ci_low) or e.ci_high > e.ci_low
