"""The sample-size section of an inconclusive A/B: the MDE at the current sample (80% power, the report's
alpha, the readout's standard error) and the units and days the planned power still needs, checked against
statsmodels' power functions and the closed form."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml
from report_tables import ROOT, parse_tables
from statsmodels.stats.power import NormalIndPower, normal_power

from recsys_causal.report import build_report
from recsys_causal.report.power import daily_rate, mde, units_needed


def test_mde_has_the_planned_power_by_statsmodels_and_the_closed_form():
    # closed form by hand: z(0.975) + z(0.8) = 1.959964 + 0.841621 = 2.801585
    assert mde(0.01, alpha=0.05, power=0.8) == pytest.approx(0.02801585, abs=1e-8)
    for se, alpha, power in [(0.01, 0.05, 0.8), (0.3, 0.1, 0.9), (2.0, 0.01, 0.8)]:
        m = mde(se, alpha=alpha, power=power)
        # statsmodels' two-sided power of a z test with this standard error (both tails counted)
        assert normal_power(m, nobs=1, alpha=alpha, sigma=se) == pytest.approx(power, abs=1e-5)


def test_units_needed_match_statsmodels_sample_size_for_two_equal_arms():
    """Two equal arms of unit variance: se = sqrt(2 / n_arm); statsmodels solves n_arm for the effect."""
    for n_arm, effect, alpha in [(500, 0.1, 0.05), (2000, 0.05, 0.05), (800, 0.2, 0.1)]:
        se = math.sqrt(2 / n_arm)
        need = units_needed(n=2 * n_arm, se=se, effect=effect, alpha=alpha, power=0.8)
        sm = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=0.8, ratio=1.0)
        assert abs(need - 2 * sm) <= 1.01, (need, 2 * sm)  # ceil and the far tail only


def test_daily_rate_is_units_over_the_days_spanned():
    t = pd.Series(pd.to_datetime(["2026-06-01 00:00", "2026-06-01 12:00", "2026-06-03 00:00"], utc=True))
    assert daily_rate(t) == pytest.approx(3 / 2)
    assert daily_rate(t.iloc[:2]) is None  # half a day: no rate


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    out = tmp_path_factory.mktemp("power")
    html, js, _ = build_report(ROOT / "reports" / "examples" / "ab.yaml", out / "ab.html", out / "ab.json")
    return html.read_text(), json.loads(js.read_text())


def test_report_gives_mde_units_and_days_for_each_open_primary(ab):

    html, data = ab
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "ab.yaml").read_text())
    rows = data["power"]["rows"]
    rel = {m["metric"]: m for m in data["metrics"] if m["lift"] == "relative" and m["role"] == "primary"}
    assert sorted(r["metric"] for r in rows) == sorted(rel)  # both primaries are inconclusive
    z = 1.959963984540054 + 0.8416212335729143
    for r in rows:
        m = rel[r["metric"]]
        assert r["se"] == m["se"] and r["n"] == m["n"] == m["n_treatment"] + m["n_control"]
        assert r["mde"] == pytest.approx(z * m["se"], rel=1e-12)
        # units for the planned 5% with 80% power: n (mde / 0.05)^2, rounded up
        assert r["planned_effect"] == cfg["power"]["mde"] == 0.05
        assert r["units_needed"] == math.ceil(m["n"] * (z * m["se"] / 0.05) ** 2)
        assert r["more_units"] == r["units_needed"] - m["n"]
        assert r["more_days"] == math.ceil(r["more_units"] / r["units_per_day"])
        reason = next(x for x in data["decision"]["reasons"] if x.startswith(f"{r['metric']} ("))
        assert f"keep running for about {r['more_days']} more days" in reason
        assert reason.endswith("plus the metric window (7 days) for the last units).")  # a human duration
        assert f"{100 * r['mde']:.2f}%" in reason
    assert "Unit metrics over 7 days after first exposure" in html  # not "7 days 00:00:00"
    table = parse_tables(html)["power-table"]
    assert [row[4] for row in table[1:]] == [f"{100 * r['mde']:.2f}%" for r in rows]
    assert [row[9] for row in table[1:]] == [str(r["more_days"]) for r in rows]


def test_units_per_day_is_read_from_first_exposures(ab):
    """The enrolment rate of the example: analysed units over the days from first to last first exposure."""
    from recsys_causal.report.ab_units import ab_units
    from recsys_causal.report.config import load_config
    from recsys_causal.report.context import ReportContext

    _, data = ab
    cfg, base = load_config(ROOT / "reports" / "examples" / "ab.yaml")
    t = ab_units(ReportContext(cfg, base)).units["first_exposure"]
    days = (t.max() - t.min()).total_seconds() / 86400
    assert data["power"]["rows"][0]["units_per_day"] == pytest.approx(len(t) / days, rel=1e-12)


def test_without_a_planned_effect_only_the_mde_is_given(tmp_path):
    cfg = yaml.safe_load((ROOT / "reports" / "examples" / "ab.yaml").read_text())
    for key in ("power", "segments", "novelty", "ope_screen"):
        cfg.pop(key, None)
    for k in ("decision_log", "covariates_table"):
        cfg["data"][k] = str(ROOT / "reports" / "examples" / cfg["data"][k])
    path = tmp_path / "ab.yaml"
    path.write_text(yaml.safe_dump(cfg))
    _, _, result = build_report(path, tmp_path / "a.html", tmp_path / "a.json")
    rows = result["power"]["rows"]
    assert rows and all(r["units_needed"] is None and r["more_days"] is None and r["mde"] > 0 for r in rows)
    assert any("set power.mde in the YAML" in x for x in result["decision"]["reasons"])


def test_the_json_schema_describes_the_new_parts(ab):
    import copy

    import jsonschema

    from recsys_causal.schemas import load_schema

    _, data = ab
    schema = load_schema("report")
    jsonschema.validate(data, schema)
    for path, value in ((("power", "rows", 0, "n"), "many"), (("timeline", "metrics", 0, "by_day"), None)):
        bad = copy.deepcopy(data)
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
