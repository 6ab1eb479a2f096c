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

    from recsys_causal.plotting import literal_text
    from recsys_causal.textsafe import visible_text

    labels = [visible_text(str(x)) for x in labels]  # tick labels are redrawn from this list
    n = len(labels)
    fig = Figure(figsize=(7, 0.5 * n + 1.4))
    ax = fig.subplots()
    ys = list(range(n))[::-1]
    vals = [float(v) for v in values]
    lo = [v - float(a) for v, a in zip(vals, lows, strict=True)]
    hi = [float(b) - v for v, b in zip(vals, highs, strict=True)]
    ax.errorbar(vals, ys, xerr=[lo, hi], fmt="o", color="#1f4e79", ecolor="#7f9cbf", capsize=4, label=interval)
    if marks is not None:
        ax.scatter(list(marks), ys, marker="|", s=300, color="#b22222", label="margin")
    if marks is not None or interval:
        ax.legend(loc="best", frameon=False)
    ax.axvline(0, color="#888888", lw=1, ls="--")
    ax.set_yticks(ys)
    ax.set_yticklabels(labels)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    literal_text(fig)
    fig.tight_layout()
    return fig


def effect_by_day_figure(daily, curve=None, metric: str = "metric", interval: str | None = None,
                         curve_label: str = "fitted decay"):
    """Daily effects with intervals by days since first exposure, and the fitted curve (``curve_label``)."""
    from matplotlib.figure import Figure

    from recsys_causal.plotting import literal_text

    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    x = daily["days_since_exposure"].to_numpy(float)
    y = daily["effect"].to_numpy(float)
    ax.errorbar(x, y, yerr=[y - daily["ci_low"].to_numpy(float), daily["ci_high"].to_numpy(float) - y], fmt="o",
                color="#1f4e79", ecolor="#7f9cbf", capsize=3, label=f"daily effect ({interval})" if interval else "daily effect")
    if curve is not None:
        ax.plot(curve[0], curve[1], color="#b22222", label=curve_label)
    ax.axhline(0, color="#888888", lw=1, ls="--")
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

    matplotlib.rcParams["svg.hashsalt"] = "recsys-causal"
    matplotlib.rcParams["svg.fonttype"] = "none"
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)  # RDF licence block: not needed
    return text[text.index("<svg"):]
