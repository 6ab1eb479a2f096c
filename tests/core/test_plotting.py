"""The one interval-plot helper draws the given intervals where they belong; figures leave global matplotlib
state alone."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from recsys_causal.plotting import interval_plot


def _bars(ax) -> np.ndarray:
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    return np.array([seg for seg in bars.get_segments()])


def test_horizontal_rows_top_down_with_intervals_and_labels():
    ax = Figure().subplots()
    interval_plot(ax, [0.1, -0.2, 0.5], [0.0, -0.4, 0.3], [0.2, 0.0, 0.9], labels=["a", "b", "$c$"])
    # first estimate at the top row (2), each bar from its low to its high at its row
    expected = np.array([[[0.0, 2], [0.2, 2]], [[-0.4, 1], [0.0, 1]], [[0.3, 0], [0.9, 0]]])
    np.testing.assert_allclose(_bars(ax), expected)
    assert dict(zip(ax.get_yticks().tolist(), [t.get_text() for t in ax.get_yticklabels()], strict=True)) == {
        2: "a", 1: "b", 0: "$c$"}
    (zero,) = [ln for ln in ax.lines if list(ln.get_xdata()) == [0, 0]]
    assert zero.get_linestyle() == "--"


def test_vertical_bars_at_positions_without_zero_line():
    ax = Figure().subplots()
    interval_plot(ax, pd.Series([0.3, 0.1]), pd.Series([0.1, -0.1]), pd.Series([0.4, 0.2]), at=[0, 7], zero=None)
    np.testing.assert_allclose(_bars(ax), [[[0, 0.1], [0, 0.4]], [[7, -0.1], [7, 0.2]]])
    assert len(ax.lines) == 1  # the markers only: no reference line was asked for


def test_figures_leave_global_rcparams_alone():
    from recsys_causal.hte import forest_plot
    from recsys_causal.report.figures import bar_intervals, figure_svg

    frame = pd.DataFrame({"segment": ["a"], "value": [0.1], "ci_low": [0.0], "ci_high": [0.2]})
    with matplotlib.rc_context({"svg.hashsalt": "caller", "svg.fonttype": "path"}):
        before = dict(matplotlib.rcParams)
        svg = figure_svg(forest_plot(frame)) + figure_svg(bar_intervals(["a"], [0.1], [0.0], [0.2], title="t",
                                                                          xlabel="x"))
        assert dict(matplotlib.rcParams) == before
    assert svg.count("<svg") == 2 and "<text" in svg  # the report's SVG still writes text as text
