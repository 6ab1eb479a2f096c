"""Readable tables: percentages for relative quantities, four significant digits without scientific notation
for ordinary magnitudes, durations in words, readable headers, narrow estimate tables — checked against
strings written out by hand. ``to_frame()`` and ``to_dict()`` stay numeric and unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_causal.display import cell, duration, header, number, p_text, percent, timestamp
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.results import ResultProtocol


@pytest.mark.parametrize(("value", "text"), [
    (0.0436, "0.0436"), (0.002904, "0.002904"), (-0.1359, "-0.1359"), (1234.5678, "1235"), (100.0, "100"),
    (12345.678, "12,346"), (3000, "3,000"), (np.int64(42), "42"), (0.000022, "0.000022"), (2.5e-07, "2.500e-07"),
    (1e16, "1.000e+16"), (float("nan"), ""), (0.0, "0"), (None, ""), (float("inf"), "inf"),
])
def test_numbers_have_four_significant_digits_and_no_scientific_notation_when_ordinary(value, text):
    assert number(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.0436, "4.36%"), (-0.1359, "-13.59%"), (1.009, "100.9%"), (0.5, "50%"), (float("nan"), ""), (None, ""),
])
def test_percentages(value, text):
    assert percent(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (3.2e-09, "<0.0001"), (0.04567, "0.0457"), (1.0, "1"), (0.0001, "0.0001"), (None, ""), (float("nan"), ""),
])
def test_p_values(value, text):
    assert p_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (pd.Timedelta("7 days"), "7 days"), (pd.Timedelta(hours=30), "1 day 6 hours"), (pd.Timedelta("1D"), "1 day"),
    (pd.Timedelta(minutes=45), "45 minutes"), (pd.Timedelta(seconds=1.5), "1.5 seconds"),
    (pd.Timedelta(0), "0 seconds"), (pd.Timedelta(hours=-2), "-2 hours"),
    (np.timedelta64(90, "m"), "1 hour 30 minutes"),
])
def test_durations_in_words(value, text):
    assert duration(value) == text
    assert cell(value) == text


def test_times_and_cells_by_column():
    assert timestamp(pd.Timestamp("2024-01-01", tz="UTC")) == "2024-01-01"
    assert timestamp(pd.Timestamp("2024-01-01 12:30", tz="UTC")) == "2024-01-01 12:30 UTC"
    assert cell(0.25, "holdout_share") == "25%" and cell(0.031, "variance_reduction") == "3.1%"
    assert cell(0.0003, "p_value") == "0.0003" and cell(3, "n_control") == "3"
    assert header("p_value") == "p" and header("n_control") == "n control" and header("ci_low") == "lower"
    assert cell((0.93998, 1.0568), "mean_weight_ci") == "[0.94, 1.057]"
    assert cell((0.0123, 0.0456), "relative_lift_ci") == "[1.23%, 4.56%]"


def _lifts() -> EstimateTable:
    """An absolute lift of 0.00012 (se 0.00005) and a relative lift of 4.36% (se 1.23%), normal reference.

    By hand, with z = 1.959964: absolute [0.00012 ∓ 0.000098] = [0.000022, 0.000218], p = 2·Φ(−2.4) = 0.0164;
    relative [0.0436 ∓ 0.024107] = [1.949%, 6.771%], p = 2·Φ(−3.5447) = 0.000393.
    """
    rows = [Estimate.from_normal(name="ctr abs", value=0.00012, se=0.00005, n=5000, method="welch",
                                 details={"quantity": "lift"}),
            Estimate.from_normal(name="ctr rel", value=0.0436, se=0.0123, n=5000, method="welch",
                                 details={"quantity": "relative lift", "p_adjusted": 0.000786})]
    return EstimateTable(rows, title="Lifts")


def test_markdown_shows_relative_lifts_as_percentages_in_few_columns():
    assert _lifts().to_markdown() == (
        "**Lifts — intervals: 95% interval (two-sided)**\n\n"
        "| name | value | se | interval | p | p (adjusted) | n |\n"
        "|---|---|---|---|---|---|---|\n"
        "| ctr abs | 0.00012 | 0.00005 | [0.000022, 0.000218] | 0.0164 |  | 5,000 |\n"
        "| ctr rel | 4.36% | 1.23% | [1.949%, 6.771%] | 0.000393 | 0.000786 | 5,000 |\n")


def test_summary_and_repr_use_the_same_units():
    lines = _lifts().summary().splitlines()
    rel = next(x for x in lines if x.startswith("ctr rel")).split()
    assert rel == ["ctr", "rel", "4.36%", "1.23%", "[", "1.949%,", "6.771%]", "0.000393", "5,000"]
    absolute = next(x for x in lines if x.startswith("ctr abs")).split()
    assert absolute == ["ctr", "abs", "0.00012", "0.00005", "[", "0.000022,", "0.000218]", "0.0164", "5,000"]
    assert repr(_lifts()["ctr rel"]) == ("Estimate(ctr rel: 4.36% ± 1.23% se, 95% CI [1.949%, 6.771%], n=5,000, "
                                          "welch, p=0.000393)")
    assert "e-0" not in "\n".join(lines)
    empty = Estimate(name="m=2", value=float("nan"), se=float("nan"), ci_low=float("nan"), ci_high=float("nan"),
                     n=0, method="design")
    row = next(x for x in EstimateTable([empty]).summary().splitlines() if x.startswith("m=2"))
    assert row.split() == ["m=2", "0"] and "[" not in row


def test_html_is_narrow_and_to_frame_stays_numeric():
    table = _lifts()
    page = table._repr_html_()
    assert "<th>method</th>" not in page and "<th>ci_low</th>" not in page and "<td>4.36%</td>" in page
    frame = table.to_frame()
    assert {"method", "ci_low", "ci_high", "p_value", "quantity"} <= set(frame.columns)
    assert frame["value"].tolist() == [0.00012, 0.0436] and frame["n"].dtype.kind == "i"
    assert json.loads(json.dumps(table.to_dict()))["estimates"][1]["value"] == 0.0436


class _Readout(ResultProtocol):
    """A result with a table section and a key/value section, as readouts have."""

    def _sections(self):
        srm = pd.DataFrame({"scope": ["overall"], "n_control": [1526], "n_treatment": [1474],
                            "observed_share": [0.50867], "p_value": [0.3424], "reasons": [None]})
        return [("Sample ratio", srm), ("Design", {"burn_in": pd.Timedelta("7 days"), "holdout_share": 0.1,
                                                  "blocks": 96})]

    def _title(self):
        return "readout"


def test_frame_and_mapping_sections_read_as_text():
    r = _Readout()
    md = r.to_markdown()
    assert ("| scope | n control | n treatment | observed share | p |\n|---|---|---|---|---|\n"
            "| overall | 1,526 | 1,474 | 50.87% | 0.342 |") in md
    assert "| burn_in | 7 days |" in md and "| holdout_share | 10% |" in md and "| blocks | 96 |" in md
    text = r.summary()
    assert "7 days" in text and "00:00:00" not in text and "50.87%" in text
    assert "reasons" not in md and "reasons" not in text  # empty in every row: left out of the shown table
    assert "reasons" in r.to_dict()["sections"]["Sample ratio"][0]
    html = r.to_html()
    assert "<td>7 days</td>" in html and "<td>50.87%</td>" in html and "<th>p</th>" in html
    assert r.to_dict()["sections"]["Design"]["holdout_share"] == 0.1  # data untouched
