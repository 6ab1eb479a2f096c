"""Segments for ratio metrics: per-segment ratio differences with delta-method standard errors, checked against
the delta method worked out directly on the sums; a ratio-only primary no longer drops the segments section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from closed_forms import delta_ratio_difference
from report_tables import ROOT, parse_tables
from scipy import stats

from recsys_causal.report import build_report
from recsys_causal.report.config import ReportConfig
from recsys_causal.report.ratio_segments import ratio_segment_effects


def _units(seed: int = 3, n: int = 1200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.45, 0.05])
    treated = rng.random(n) < 0.5
    imp = rng.poisson(6, n) + 1.0
    clicks = rng.binomial(imp.astype(int), np.where(treated, 0.16, 0.14)).astype(float)
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "variant": np.where(treated, "treatment", "control"),
                         "region": region, "impressions": imp, "click": clicks})


def _cfg(merge_small: bool = False, min_units: int = 30) -> ReportConfig:
    return ReportConfig.model_validate({
        "experiment": {"name": "x", "design": "ab"}, "data": {"units": "u.parquet"},
        "metrics": {"primary": [{"name": "ctr", "kind": "ratio", "numerator": "click", "denominator": "impressions"}]},
        "segments": {"columns": ["region"], "min_units": min_units, "merge_small": merge_small}})


def test_segment_effects_equal_the_delta_method_on_the_sums():
    u = _units()
    (r,) = ratio_segment_effects(u, _cfg().metrics.primary[0], _cfg(min_units=20), "treatment")
    effects = {e.details["segment"]: e for e in r.effects}
    assert set(effects) == {"north", "south", "east"}
    for seg, e in effects.items():
        value, se, df = delta_ratio_difference(u[u["region"] == seg])
        assert e.value == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert e.se == pytest.approx(se, rel=1e-9)
        half = stats.t.ppf(0.975, df) * se  # Welch t interval with the delta-method standard error
        assert (e.ci_low, e.ci_high) == pytest.approx((value - half, value + half), rel=1e-9)


def test_small_segments_are_merged_before_the_ratios_are_taken():
    u = _units()
    cfg = _cfg(merge_small=True, min_units=40)  # east has about 30 units per arm
    (r,) = ratio_segment_effects(u, cfg.metrics.primary[0], cfg, "treatment")
    effects = {e.details["segment"]: e for e in r.effects}
    assert set(effects) == {"north", "south", "other (small segments)"}
    value, se, _ = delta_ratio_difference(u[u["region"] == "east"])
    e = effects["other (small segments)"]
    assert e.value == pytest.approx(value, rel=1e-12) and e.se == pytest.approx(se, rel=1e-9)


def test_a_ratio_only_primary_keeps_the_segments_section(tmp_path):
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "ab.yaml").read_text())
    cfg["metrics"]["primary"] = [m for m in cfg["metrics"]["primary"] if m["kind"] == "ratio"]
    for key in ("novelty", "ope_screen"):
        cfg.pop(key)
    for k in ("decision_log", "covariates_table"):
        cfg["data"][k] = str(ROOT / "reports" / "examples" / cfg["data"][k])
    path = tmp_path / "ab.yaml"
    path.write_text(yaml.safe_dump(cfg))
    html, _, result = build_report(path, tmp_path / "a.html", tmp_path / "a.json")
    seg = result["segments"]
    assert seg is not None and seg["ratio_metrics"] == ["ctr"]
    assert {e["metric"] for e in seg["effects"]} == {"ctr"} and "forest_ctr" in result["figures"]
    assert [h["dimension"] for h in seg["heterogeneity"]] == ["region", "lifecycle"]
    rows = parse_tables(html.read_text())["segments-table"][1:]
    assert [r[0] for r in rows] == ["ctr"] * len(seg["effects"])
    assert any("linearised ratio" in m for m in result["methods"])
