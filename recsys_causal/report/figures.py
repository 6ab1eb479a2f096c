"""The report's figures live in :mod:`recsys_causal.plotting` (one room for every plot); these names stay
importable from here.

>>> svg = figure_svg(bar_intervals(["a"], [0.1], [0.0], [0.2], title="t", xlabel="x"))
>>> svg.startswith("<svg")
True
"""

from recsys_causal.plotting import bar_intervals, effect_by_day_figure, figure_svg

__all__ = ["bar_intervals", "effect_by_day_figure", "figure_svg"]
