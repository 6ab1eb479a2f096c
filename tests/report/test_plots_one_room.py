"""Plots live in one room: every figure with point estimates and intervals is drawn by recsys_causal.plotting's
one helper; the old import paths still work; the SVG is the same bytes on every run."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

import recsys_causal
from recsys_causal import plotting
from recsys_causal.estimate import interval_label

PACKAGE = Path(recsys_causal.__file__).parent
FRAME = pd.DataFrame({"segment": ["new", "casual", "power"], "value": [0.1, -0.2, 0.05],
                      "ci_low": [0.0, -0.5, -0.1], "ci_high": [0.2, 0.1, 0.2], "alpha": [0.1] * 3})


def test_old_names_are_the_plotting_functions():
    from recsys_causal.hte import forest_plot as hte_forest
    from recsys_causal.hte.plots import forest_plot
    from recsys_causal.report.figures import bar_intervals, effect_by_day_figure, figure_svg

    assert forest_plot is hte_forest is plotting.forest_plot
    assert (bar_intervals, effect_by_day_figure, figure_svg) == (
        plotting.bar_intervals, plotting.effect_by_day_figure, plotting.figure_svg)


def test_forest_plot_is_the_interval_rows_figure():
    """A forest plot of segments is the report's interval-rows figure of the same rows (same SVG bytes)."""
    forest = plotting.figure_svg(plotting.forest_plot(FRAME, title="click"))
    rows = plotting.figure_svg(plotting.bar_intervals(
        ["new", "casual", "power"], [0.1, -0.2, 0.05], [0.0, -0.5, -0.1], [0.2, 0.1, 0.2], title="click",
        xlabel="effect (treatment − control)", interval=interval_label(0.1)))
    assert forest == rows
    assert forest == plotting.figure_svg(plotting.forest_plot(FRAME, title="click"))  # deterministic
    assert "90% interval (two-sided)" in forest


def test_forest_rows_draw_the_given_intervals_top_down():
    ax = plotting.forest_plot(FRAME).axes[0]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    got = np.array(bars.get_segments())
    np.testing.assert_allclose(got, [[[0.0, 2], [0.2, 2]], [[-0.5, 1], [0.1, 1]], [[-0.1, 0], [0.2, 0]]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["new", "casual", "power"]


def _calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}


def test_only_the_plotting_module_draws_error_bars():
    """No module but recsys_causal/plotting.py draws intervals itself (errorbar, hlines/vlines, bar charts)."""
    drawing = {"errorbar", "hlines", "vlines", "barh", "fill_betweenx"}
    found = {str(p.relative_to(PACKAGE)): sorted(_calls(p) & drawing) for p in PACKAGE.rglob("*.py")}
    assert {k: v for k, v in found.items() if v} == {"plotting.py": ["errorbar"]}
