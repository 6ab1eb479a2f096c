"""Report figures: matplotlib drawings returned as inline SVG text (no files, no network).

Every label is drawn literally (no mathtext, no TeX: :func:`recsys_causal.plotting.literal_text`); ``interval``
names the level and sidedness of the drawn intervals (e.g. ``interval_label(alpha)``) in the legend.

>>> svg = figure_svg(bar_intervals(["a"], [0.1], [0.0], [0.2], title="t", xlabel="x"))
>>> svg.startswith("<svg")
True
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence


def bar_intervals(labels: Sequence[str], values, lows, highs, *, title: str, xlabel: str,
                  marks: Sequence[float] | None = None, interval: str | None = None):
    """Point estimates with intervals, one row per label; optional per-row marks (e.g. margins)."""
    from matplotlib.figure import Figure

    from recsys_causal.plotting import interval_plot, literal_text

    labels = list(labels)
    fig = Figure(figsize=(7, 0.5 * len(labels) + 1.4))
    ax = fig.subplots()
    interval_plot(ax, values, lows, highs, labels=labels, capsize=4, label=interval)
    if marks is not None:
        ax.scatter(list(marks), list(range(len(labels)))[::-1], marker="|", s=300, color="#b22222", label="margin")
    if marks is not None or interval:
        ax.legend(loc="best", frameon=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    literal_text(fig)
    fig.tight_layout()
    return fig


def effect_by_day_figure(daily, curve=None, metric: str = "metric", interval: str | None = None,
                         curve_label: str = "fitted decay"):
    """Daily effects with intervals by days since first exposure, and the fitted curve (``curve_label``)."""
    from matplotlib.figure import Figure

    from recsys_causal.plotting import ZERO_LINE, interval_plot, literal_text

    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    interval_plot(ax, daily["effect"], daily["ci_low"], daily["ci_high"], at=daily["days_since_exposure"], zero=None,
                  capsize=3, label=f"daily effect ({interval})" if interval else "daily effect")
    if curve is not None:
        ax.plot(curve[0], curve[1], color="#b22222", label=curve_label)
    ax.axhline(0, **ZERO_LINE)
    ax.set_xlabel("days since first exposure")
    ax.set_ylabel(f"effect on {metric}")
    ax.set_title(f"{metric}: effect by days since first exposure")
    ax.legend(frameon=False)
    literal_text(fig)
    fig.tight_layout()
    return fig


def figure_svg(fig) -> str:
    """The figure as an ``<svg>`` element (matplotlib escapes all text it writes into the SVG)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "recsys-causal", "svg.fonttype": "none"}):  # global rc untouched
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)  # RDF licence block: not needed
    return text[text.index("<svg"):]
