"""The at-a-glance metric table: one row per metric with its relative lift, its interval as an inline bar on one
axis shared by every row, the adjusted p-value and what the row feeds into the decision."""

from __future__ import annotations

import json
import re

import pytest
from report_tables import ROOT, parse_tables

from recsys_causal.report import build_report
from recsys_causal.report.inline_bars import WIDTH, glance_groups
from recsys_causal.report.render import fmt, pct


@pytest.fixture(scope="module")
def ab_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("glance")
    html, js, _ = build_report(ROOT / "reports" / "examples" / "ab.yaml", out / "ab.html", out / "ab.json")
    return html.read_text(), json.loads(js.read_text())


def _bars(html: str) -> list[dict[str, float]]:
    table = re.search(r'<table class="glance" id="metrics-glance">(.*?)</table>', html, re.S).group(1)
    out = []
    for svg in re.findall(r'<svg class="ibar".*?</svg>', table, re.S):
        zero = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
        x1, x2 = (float(v) for v in re.search(r'class="ci" x1="([\d.]+)" x2="([\d.]+)"', svg).groups())
        cx = float(re.search(r'cx="([\d.]+)"', svg).group(1))
        out.append({"zero": zero, "low": x1, "high": x2, "est": cx})
    return out


def test_each_metric_row_has_its_relative_lift_adjusted_p_and_decision_role(ab_page):
    html, data = ab_page
    rows = parse_tables(html)["metrics-glance"][1:]
    rel = [m for m in data["metrics"] if m["lift"] == "relative"]
    assert len(rows) == len(rel) == 3
    assert [r[0] for r in rows] == [m["metric"] for m in rel]
    assert [r[3] for r in rows] == [f"{100 * m['value']:.2f}%" for m in rel]
    assert [r[4] for r in rows] == [f"[{100 * m['ci_low']:.2f}%, {100 * m['ci_high']:.2f}%]" for m in rel]
    assert [r[6] for r in rows] == [fmt(m["p_adjusted"]) for m in rel]
    # every primary here is inconclusive in the decision, and the secondary does not decide
    reasons = " ".join(data["decision"]["reasons"])
    for r, m in zip(rows, rel, strict=True):
        if m["role"] == "primary":
            assert f"Primary metric {m['metric']} ({m['variant']}): {pct(m['value'])}" in reasons
            assert "not distinguishable from 0" in reasons and r[7] == "leaves it inconclusive"
        else:
            assert r[7] == "informs only (secondary)"


def test_bars_share_one_axis_and_sit_at_the_numbers(ab_page):
    """Pixel positions are one affine map of the values for every row (a shared axis): the offset from the zero
    tick divided by the value is the same scale for every estimate and interval end."""
    html, data = ab_page
    rel = [m for m in data["metrics"] if m["lift"] == "relative"]
    bars = _bars(html)
    assert len(bars) == len(rel)
    assert len({b["zero"] for b in bars}) == 1
    scales = [(b[k] - b["zero"]) / m[v] for b, m in zip(bars, rel, strict=True)
              for k, v in (("est", "value"), ("low", "ci_low"), ("high", "ci_high"))]
    assert max(scales) - min(scales) < 0.02 * abs(scales[0]) + 1e-9, scales  # rounding to 0.01 px only
    assert all(0 <= b[k] <= WIDTH for b in bars for k in ("low", "high", "est"))
    # the widest interval (purchase, 15% [-1.8%, 35.5%]) spans the most pixels
    widths = [b["high"] - b["low"] for b in bars]
    assert widths.index(max(widths)) == [m["metric"] for m in rel].index("purchase")


def test_significant_rows_are_dark_and_open_ends_reach_the_axis_edge():
    rows = [{"lift": "relative", "value": 0.1, "ci_low": 0.05, "ci_high": 0.15, "p_adjusted": 0.001},
            {"lift": "relative", "value": 0.02, "ci_low": None, "ci_high": None, "p_adjusted": 0.4},
            {"lift": "absolute", "value": 3.0, "ci_low": 1.0, "ci_high": 5.0, "p_adjusted": 0.001},
            {"lift": None, "value": 3.0, "ci_low": 1.0, "ci_high": 5.0, "p_adjusted": 0.001}]
    groups = glance_groups(rows, 0.05)
    assert [g["percent"] for g in groups] == [True, False]
    assert [len(g["rows"]) for g in groups] == [2, 1]  # the absolute lift of a metric is not repeated
    sig, open_row = (str(bar) for _, bar in groups[0]["rows"])
    assert "#1f4e79" in sig and "#7a93ad" in open_row
    x1, x2 = (float(v) for v in re.search(r'class="ci" x1="([\d.]+)" x2="([\d.]+)"', open_row).groups())
    assert (x1, x2) == (6.0, WIDTH - 6.0)  # an unbounded interval is drawn to both edges


def test_guardrail_legend_sits_outside_the_axes():
    """The margin's legend symbol must not sit on the data where it reads as a second margin mark."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from recsys_causal.plotting import bar_intervals

    fig = bar_intervals(["hide", "dwell"], [0.01, 0.02], [-0.05, 0.0], [0.07, 0.1], title="t", xlabel="harm",
                        marks=[0.25, 0.1], interval="95% bounds (one-sided)")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    legends = fig.legends + [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert len(legends) == 1
    box, axes_box = legends[0].get_window_extent(renderer), fig.axes[0].get_window_extent(renderer)
    assert box.y1 <= axes_box.y0 or box.y0 >= axes_box.y1, (box, axes_box)
    assert [t.get_text() for t in legends[0].get_texts()] == ["margin", "95% bounds (one-sided)"]
