"""The time view: the cumulative effect by calendar day of first exposure (checked against statsmodels' Welch
interval and the delta method on each day's units) and the sequential readout of those daily looks under the
configured monitoring plan (checked against the confidence-sequence closed form)."""

from __future__ import annotations

import json
import math

import pytest
from closed_forms import delta_ratio_difference
from report_tables import ROOT, parse_tables
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from recsys_causal.report import build_report


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    from recsys_causal.report.ab_units import ab_units
    from recsys_causal.report.config import load_config
    from recsys_causal.report.context import ReportContext

    out = tmp_path_factory.mktemp("timeline")
    html, js, _ = build_report(ROOT / "reports" / "examples" / "ab.yaml", out / "ab.html", out / "ab.json")
    cfg, base = load_config(ROOT / "reports" / "examples" / "ab.yaml")
    units = ab_units(ReportContext(cfg, base)).units
    units = units.assign(day=units["first_exposure"].dt.strftime("%Y-%m-%d"))
    return html.read_text(), json.loads(js.read_text()), units


def _metric(data, name):
    return next(m for m in data["timeline"]["metrics"] if m["metric"] == name)


def test_cumulative_mean_effect_is_welch_on_the_units_enrolled_so_far(ab):
    _, data, units = ab
    rows = _metric(data, "click")["by_day"]
    assert [r["day"] for r in rows] == sorted(units["day"].unique())
    for r in rows:
        sub = units[units["day"] <= r["day"]]
        t, c = (sub.loc[sub["variant"] == v, "click"].to_numpy() for v in ("treatment", "control"))
        cm = CompareMeans(DescrStatsW(t), DescrStatsW(c))
        low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
        assert (r["n_treatment"], r["n_control"]) == (len(t), len(c))
        assert r["value"] == pytest.approx(t.mean() - c.mean(), rel=1e-10)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    # the last day holds every analysed unit: the unadjusted difference of the whole experiment
    assert rows[-1]["n_treatment"] + rows[-1]["n_control"] == len(units)


def test_cumulative_ratio_effect_is_the_delta_method(ab):
    _, data, units = ab
    for r in _metric(data, "ctr")["by_day"][::3]:
        sub = units[units["day"] <= r["day"]]
        diff, se, df = delta_ratio_difference(sub)
        half = stats.t.ppf(0.975, df) * se
        assert r["value"] == pytest.approx(diff, rel=1e-10)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((diff - half, diff + half), rel=1e-9)


def test_monitoring_readout_of_the_daily_looks(ab):
    """Under the plan (16,000 units), the first look's confidence sequence is the normal-mixture boundary
    value ± se·sqrt(v log(v/α²)/(v − 1)), v = 1 + t(−2 log α + log(−2 log α + 1)), t = n / 16,000; later looks
    are the running intersection; nothing rejects while the fixed-horizon intervals all hold 0."""
    html, data, _ = ab
    assert data["timeline"]["plan"] == {"planned_n": 16000.0, "final_se": None}
    by_day, looks = _metric(data, "click")["by_day"], _metric(data, "click")["monitoring"]
    assert [lk["day"] for lk in looks] == [r["day"] for r in by_day]
    a = 0.05
    lows, highs = [], []
    for r, lk in zip(by_day, looks, strict=True):
        n = r["n_treatment"] + r["n_control"]
        t = n / 16000
        v = 1 + t * (-2 * math.log(a) + math.log(-2 * math.log(a) + 1))
        rad = r["se"] * math.sqrt(v * math.log(v / a**2) / (v - 1))
        lows.append(max([r["value"] - rad, *lows[-1:]]))
        highs.append(min([r["value"] + rad, *highs[-1:]]))
        assert lk["n"] == n and lk["information_fraction"] == pytest.approx(t, rel=1e-12)
        assert (lk["cs_low"], lk["cs_high"]) == pytest.approx((lows[-1], highs[-1]), rel=1e-9)
        assert lk["z"] == pytest.approx(r["value"] / r["se"], rel=1e-12)
        assert lk["gs_bound"] > 2.5 and not lk["cs_reject"] and not lk["gs_reject"]  # early looks: strict bounds
    rows = parse_tables(html)["monitoring-2"][1:]
    assert [row[0] for row in rows] == [lk["day"] for lk in looks] and {row[-1] for row in rows} == {"continue"}
    assert "not significant yet: keep monitoring to the planned end" in html
