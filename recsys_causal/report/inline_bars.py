"""Inline interval bars for table rows: one small SVG per row, every row of a table on one shared axis (so the
bars compare at a glance), with a tick at 0. No text, no script: only numbers go into the markup.

>>> axis = shared_axis([(-0.04, 0.13), (-0.005, 0.14)])
>>> axis.lo < -0.04 and axis.hi > 0.14
True
>>> svg = interval_bar(0.044, -0.036, 0.130, axis)
>>> svg.startswith('<svg class="ibar"') and svg.count("<line") == 2 and "<circle" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 160, 16
PAD = 6  # pixels left free at each end


@dataclass(frozen=True)
class Axis:
    """The value range ``[lo, hi]`` the bars of one table share (always containing 0)."""

    lo: float
    hi: float

    def x(self, value: float) -> float:
        """The pixel position of ``value`` (clipped to the drawing area)."""
        span = self.hi - self.lo
        frac = 0.5 if span <= 0 else (min(max(value, self.lo), self.hi) - self.lo) / span
        return round(PAD + frac * (WIDTH - 2 * PAD), 2)


def shared_axis(intervals: Iterable[tuple[float | None, float | None]], margin: float = 0.05) -> Axis:
    """The smallest range holding 0 and every finite interval end, widened by ``margin`` of its span each side."""
    ends = [float(v) for pair in intervals for v in pair if v is not None and math.isfinite(v)]
    lo, hi = min([0.0, *ends]), max([0.0, *ends])
    span = (hi - lo) or 1.0
    return Axis(lo - margin * span, hi + margin * span)


def interval_bar(value: float | None, low: float | None, high: float | None, axis: Axis,
                 significant: bool = False) -> Markup:
    """The bar of one row: the interval as a line (an open end drawn to the axis edge), the estimate as a dot,
    a tick at 0; darker when ``significant``. An empty string when the row has no finite estimate."""
    if value is None or not math.isfinite(value):
        return Markup("")
    lo = axis.lo if low is None or not math.isfinite(low) else low
    hi = axis.hi if high is None or not math.isfinite(high) else high
    colour = "#1f4e79" if significant else "#7a93ad"
    mid = HEIGHT / 2
    return Markup(
        f'<svg class="ibar" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f'<line x1="{axis.x(0.0)}" x2="{axis.x(0.0)}" y1="1" y2="{HEIGHT - 1}" stroke="#999" stroke-width="1"/>'
        f'<line class="ci" x1="{axis.x(lo)}" x2="{axis.x(hi)}" y1="{mid}" y2="{mid}" stroke="{colour}" '
        f'stroke-width="3"/>'
        f'<circle class="est" cx="{axis.x(value)}" cy="{mid}" r="3.5" fill="{colour}"/></svg>')


def axis_caption(axis: Axis, percent: bool) -> str:
    """The range of a shared axis in words, e.g. ``axis −5.9% to 15.3%; tick at 0``."""
    show = (lambda v: f"{100 * v:.1f}%") if percent else (lambda v: f"{v:.3g}")
    return f"axis {show(axis.lo)} to {show(axis.hi)}; tick at 0"


def glance_groups(rows: list[dict], alpha: float) -> list[dict]:
    """The metric rows of the at-a-glance table, one per metric and variant (its relative lift, else its only
    estimate), grouped by scale: relative lifts share one percent axis, every other kind of estimate one axis of
    its own. Each group: ``percent``, ``caption`` and ``rows`` as ``(row, bar)`` pairs; a bar is dark when the
    row's adjusted p is below ``alpha``."""
    groups = []
    for percent in (True, False):
        chosen = [r for r in rows if (r.get("lift") == "relative") == percent and r.get("lift") != "absolute"]
        if not chosen:
            continue
        axis = shared_axis([(r.get("ci_low"), r.get("ci_high")) for r in chosen])
        bars = [(r, interval_bar(r.get("value"), r.get("ci_low"), r.get("ci_high"), axis,
                                 _below(r.get("p_adjusted", r.get("p_value")), alpha))) for r in chosen]
        groups.append({"percent": percent, "caption": axis_caption(axis, percent), "rows": bars})
    return groups


def _below(p: float | None, alpha: float) -> bool:
    return p is not None and math.isfinite(p) and p < alpha
