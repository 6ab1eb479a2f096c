"""The results protocol (recsys_causal.results): serialisation, escaping, summaries, intervals and lookup,
checked against scipy's t / normal quantiles worked by hand and against the estimates' own fields."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal import Estimate, EstimateTable, RecsysCausalError
from recsys_causal.experiments.novelty import fit_decay
from recsys_causal.experiments.srm import srm_test
from recsys_causal.hte import segment_effects
from recsys_causal.incrementality import analyze_holdout
from recsys_causal.logs.report import ValidationReport
from recsys_causal.results import IntervalError, ResultProtocol, jsonable, md_escape
from recsys_causal.simulate import simulate_holdout, simulate_switchback
from recsys_causal.switchback import analyze_switchback

HOSTILE = "a|b\n`x` <script>&\\"


@pytest.fixture(scope="module")
def holdout():
    h = simulate_holdout(n_units=5_000, seed=3)
    return analyze_holdout(h.units, attributed_col="attributed", revenue_col="revenue", cost_col="cost")


@pytest.fixture(scope="module")
def switchback():
    sb = simulate_switchback(n_clusters=2, n_blocks=48, direct_effect=0.5, seed=4)
    return analyze_switchback(sb.schedule, sb.events, carryover_order=0, n_draws=200)


@pytest.fixture(scope="module")
def segments():
    rng = np.random.default_rng(0)
    n = 2000
    units = pd.DataFrame({"variant": rng.choice(["control", "treatment"], n),
                          "seg": rng.choice(["plain", HOSTILE], n)})
    units["y"] = rng.normal(size=n) + 0.3 * (units.variant == "treatment")
    return segment_effects(units, metrics=["y"], segments=["seg"])


def every_result(holdout, switchback, segments):
    t = np.arange(10.0)
    report = ValidationReport(source="log.csv", n_requests_read=3, n_requests_used=2)
    report.add("duplicate_candidate", "quarantine", 1, ["r2"], "duplicate", "drop repeats")
    report.quarantine_counts = {"duplicate_candidate": 1}
    srm = srm_test(pd.DataFrame({"variant": ["a"] * 60 + ["b"] * 40}), expected_split={"a": 0.5, "b": 0.5})
    return [holdout, holdout.estimates, holdout.estimates[2], switchback, switchback.randomization, segments, srm,
            fit_decay(t, 0.02 + 0.08 * np.exp(-t / 3), np.full(10, 0.01)), report]


def test_every_result_derives_the_protocol_and_serialises_to_strict_json(holdout, switchback, segments):
    for r in every_result(holdout, switchback, segments):
        assert isinstance(r, ResultProtocol)
        text = json.dumps(r.to_dict(), allow_nan=False)  # no NaN, no numpy scalar survives
        assert json.loads(text) == r.to_dict()
        assert r.to_html() == r._repr_html_()
        assert isinstance(r.summary(), str) and isinstance(r.to_markdown(), str)


def test_jsonable_turns_numpy_nan_and_times_into_json():
    data = {"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, 1.5], "d": pd.Timestamp("2026-01-02"),
            "e": np.array([1, 2]), 7: None, "f": pd.DataFrame({"x": [np.nan, 1.0]})}
    assert jsonable(data) == {"a": None, "b": 3, "c": [None, 1.5], "d": "2026-01-02T00:00:00", "e": [1, 2],
                              "7": None, "f": [{"x": None}, {"x": 1.0}]}
    assert type(jsonable(data)["b"]) is int


def test_estimate_to_dict_is_its_row_made_json_ready():
    e = Estimate.from_normal(name="x", value=np.float64(1.5), se=0.5, n=10, method="m", null=None,
                             details={"metric": "ctr", "quantity": "lift"})
    d = e.to_dict()
    assert d["p_value"] is None and d["value"] == 1.5 and d["metric"] == "ctr" and d["quantity"] == "lift"
    assert "df" not in d and list(e.to_frame().columns) == list(d)


def test_conf_int_at_the_computed_alpha_is_exactly_the_stored_interval(holdout, segments):
    for r in (holdout, segments, holdout.estimates):
        ci = r.conf_int()
        for e in r._estimates():
            assert ci.loc[e.name, "lower"] == e.ci_low and ci.loc[e.name, "upper"] == e.ci_high
        assert (r.conf_int(0.05).to_numpy() == ci.to_numpy()).all()


def test_conf_int_at_another_alpha_uses_the_reference_distribution():
    normal = Estimate.from_normal(name="z", value=1.2, se=0.4, n=100, method="m")
    student = Estimate.from_normal(name="t", value=-0.3, se=0.2, n=8, method="m", df=7)
    by_details = Estimate(name="d", value=2.0, se=0.5, ci_low=2.0 - stats.t.ppf(0.975, 5) * 0.5,
                          ci_high=2.0 + stats.t.ppf(0.975, 5) * 0.5, n=6, method="m", details={"df": 5})
    ci = EstimateTable([normal, student, by_details]).conf_int(0.1)
    assert ci.loc["z"].tolist() == pytest.approx([1.2 - 1.6448536269514722 * 0.4, 1.2 + 1.6448536269514722 * 0.4],
                                                 rel=1e-12)
    t7 = stats.t.ppf(0.95, 7)
    assert ci.loc["t"].tolist() == pytest.approx([-0.3 - t7 * 0.2, -0.3 + t7 * 0.2], rel=1e-12)
    t5 = stats.t.ppf(0.95, 5)
    assert ci.loc["d"].tolist() == pytest.approx([2.0 - t5 * 0.5, 2.0 + t5 * 0.5], rel=1e-12)
    assert t7 > 1.7 and not math.isclose(t7, 1.6448536269514722, rel_tol=1e-3)  # t and normal differ here


def test_switchback_conf_int_recomputes_the_student_t_interval(switchback):
    e = switchback.estimates[0]
    q = stats.t.ppf(0.995, e.details["df"])
    assert switchback.conf_int(0.01).loc[e.name].tolist() == pytest.approx(
        [e.value - q * e.se, e.value + q * e.se], rel=1e-12)


def test_conf_int_refuses_to_recompute_a_fieller_interval(holdout):
    with pytest.raises(IntervalError, match="ITT lift \\(relative\\)") as err:
        holdout.conf_int(0.1)
    assert isinstance(err.value, RecsysCausalError) and "Fix:" in str(err.value)
    rows = [e for e in holdout.estimates if e.name.startswith(("ITT lift (absolute)", "effect on exposed"))]
    wald = EstimateTable(rows).conf_int(0.1)
    z = stats.norm.ppf(0.95)
    assert wald["upper"].tolist() == pytest.approx([e.value + z * e.se for e in rows], rel=1e-12)


def test_conf_int_of_a_result_without_estimates_is_a_typed_error(switchback):
    with pytest.raises(IntervalError):
        switchback.randomization.conf_int()


def _cells(line: str) -> list[str]:
    """Split a markdown table row on pipes that are not escaped."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_escapes_hostile_labels(segments):
    text = segments.to_markdown()
    tables = [b for b in text.split("\n\n") if b.startswith("|")]
    assert tables
    for block in tables:
        rows = block.splitlines()
        widths = {len(_cells(r)) for r in rows}
        assert len(widths) == 1, block  # no label adds a column or breaks a row
    assert "<script>" not in text and "&lt;script&gt;" in text and "\\`x\\`" in text
    hostile_rows = [r for r in text.splitlines() if "script" in r]
    assert hostile_rows and all("a\\|b<br>" in r for r in hostile_rows)
    assert md_escape("x\r\ny") == "x<br>y" and md_escape("x\u202ey") == "x\ufffdy"


def test_html_escapes_hostile_labels(segments):
    page = segments.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_summary_lists_every_estimate_its_level_and_the_warnings():
    rows = [Estimate.from_normal(name=f"metric {i}", value=0.1 * i, se=0.05, n=100 + i, method="m", alpha=0.1)
            for i in range(4)]
    rows[1] = rows[1].with_warning("few units")
    text = EstimateTable(rows, title="Lifts").summary()
    lines = text.splitlines()
    for e in rows:
        line = next(x for x in lines if x.startswith(e.name))
        assert f"{e.ci_low:.4g}" in line and f"{e.ci_high:.4g}" in line and str(e.n) in line
    assert "[90% interval]" in text and "Lifts" in lines[1]
    assert lines.index("Warnings:") > max(i for i, x in enumerate(lines) if x.startswith("metric"))
    assert "metric 1: few units" in text


def test_summary_of_a_readout_names_mixed_levels_per_row():
    rows = [Estimate.from_normal(name=n, value=1.0, se=0.1, n=10, method="m", alpha=a)
            for n, a in (("x", 0.1), ("y", 0.05))]
    text = EstimateTable(rows).summary()
    assert "(90%)" in text and "(95%)" in text


def test_lookup_names_the_choices_and_the_nearest(holdout):
    assert holdout["iROAS"].name == "iROAS"
    with pytest.raises(KeyError) as err:
        holdout["iROSA"]
    msg = str(err.value)
    assert "did you mean 'iROAS'" in msg and "ITT lift (absolute)" in msg
    with pytest.raises(KeyError, match="names"):
        holdout.estimates["nothing like it at all"]
    assert holdout.estimates[0].name == "exposure rate (treated)"  # integer position still works


def test_estimate_table_html_keeps_its_look():
    """Name, value, se, one interval column, n (no p-value without a null, no empty warnings column)."""
    e = Estimate.from_normal(name="ctr", value=0.5, se=0.25, n=4, method="m", null=None, alpha=0.1)
    html = EstimateTable([e], title="T").to_html()
    lo, hi = 0.5 - stats.norm.ppf(0.95) * 0.25, 0.5 + stats.norm.ppf(0.95) * 0.25  # 0.08879, 0.9112
    assert (round(lo, 5), round(hi, 4)) == (0.08879, 0.9112)
    assert html == (
        "<table class='recsys-causal'><caption>T — intervals: 90% interval (two-sided)</caption><thead><tr>"
        "<th>name</th><th>value</th><th>se</th><th>interval</th><th>n</th></tr></thead><tbody><tr><td>ctr</td>"
        "<td>0.5</td><td>0.25</td><td>[0.08879, 0.9112]</td><td>4</td></tr></tbody></table>")


class Readout(ResultProtocol):
    """A readout holding several estimate tables (as ABReadout does): only the hooks are written."""

    def __init__(self, metrics, guardrails, warnings=()):
        self.metrics, self.guardrails, self.warnings = metrics, guardrails, list(warnings)

    def _sections(self):
        return [("metrics", self.metrics), ("guardrails", self.guardrails), ("notes", ["a note"])]

    def _title(self):
        return "readout"


def test_a_readout_with_several_tables_adopts_the_protocol_from_hooks_alone():
    lift = Estimate.from_normal(name="ctr lift", value=0.02, se=0.01, n=100, method="welch")
    guard = Estimate.from_normal(name="hides", value=-0.01, se=0.02, n=100, method="welch", df=30)
    r = Readout(EstimateTable([lift], title="Metric lifts"), EstimateTable([guard], title="Guardrails"),
                warnings=["SRM ok"])
    assert r["hides"] is guard and r[0] is lift
    assert r.to_frame()["name"].tolist() == ["ctr lift", "hides"]
    d = json.loads(json.dumps(r.to_dict()))
    assert list(d["sections"]) == ["metrics", "guardrails", "notes"] and d["warnings"] == ["SRM ok"]
    assert d["sections"]["guardrails"]["estimates"][0]["value"] == -0.01
    md = r.to_markdown()
    assert md.index("**Metric lifts") < md.index("**Guardrails") < md.index("- a note") < md.index("- SRM ok")
    ci = r.conf_int(0.2)
    t = stats.t.ppf(0.9, 30)
    assert ci.loc["hides"].tolist() == pytest.approx([-0.01 - t * 0.02, -0.01 + t * 0.02], rel=1e-12)
    assert ci.loc["ctr lift", "upper"] == pytest.approx(0.02 + stats.norm.ppf(0.9) * 0.01, rel=1e-12)
    text = r.summary()
    assert "Metric lifts" in text and "Guardrails" in text and text.rstrip("-\n").endswith("SRM ok")
