"""Every figure of the package in one place: one interval-plot helper (:func:`interval_plot`) drawing point
estimates with their intervals, the figures built on it (:func:`bar_intervals` rows, :func:`forest_plot` of
segment effects, :func:`effect_by_day_figure`), literal text (:func:`literal_text`) and deterministic inline SVG
(:func:`figure_svg`).

Data-derived labels are drawn as written, never as mathtext or TeX.

A metric called ``$\\alpha$`` or a segment value ``a $ b`` would otherwise be typeset as mathematics (or make
drawing fail on unbalanced ``$``); with ``text.usetex`` set in a matplotlibrc, ``&`` or ``%`` would break TeX.
:func:`literal_text` turns both interpretations off for the titles, axis labels, legend entries, annotations
and categorical tick labels of a figure (numeric tick labels keep the formatter's own markup), and shows
control, zero-width and bidirectional characters as U+FFFD (:func:`recsys_causal.textsafe.visible_text`).

>>> from matplotlib.figure import Figure
>>> fig = Figure()
>>> ax = fig.subplots()
>>> _ = ax.set_title("$\\\\alpha$ & <b>")
>>> _ = literal_text(fig)
>>> ax.title._preprocess_math(ax.title.get_text())
('$\\\\alpha$ & <b>', False)
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

HOUSE_STYLE: Mapping[str, object] = {"fmt": "o", "color": "#1f4e79", "ecolor": "#7f9cbf"}
ZERO_LINE: Mapping[str, object] = {"color": "#888888", "lw": 1, "ls": "--"}


def new_figure(**kwargs: Any):
    """A new matplotlib :class:`~matplotlib.figure.Figure` (of the class ``InlineFigure``), the base of every
    figure of the package: built without pyplot, so no global backend, rcParams or figure list is touched, and
    shown as PNG when it is the last value of a Jupyter cell (``_repr_png_``, drawn on a private Agg canvas).

    >>> fig = new_figure(figsize=(2, 1))
    >>> _ = fig.subplots().plot([0, 1])
    >>> fig._repr_png_()[:4]
    b'\\x89PNG'
    """
    return _inline_figure_class()(**kwargs)


@functools.cache
def _inline_figure_class() -> type:
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        """A Figure that shows itself in a notebook as PNG (``_repr_png_``), with or without pyplot."""

        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png", bbox_inches="tight")
            return buf.getvalue()

    InlineFigure.__module__, InlineFigure.__qualname__ = __name__, "InlineFigure"
    return InlineFigure


def __getattr__(name: str):
    if name == "InlineFigure":  # made on first use: importing the package does not import matplotlib
        return _inline_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def interval_plot(ax, values: Sequence[float], lows: Sequence[float], highs: Sequence[float], *,
                  labels: Sequence[object] | None = None, at: Sequence[float] | None = None,
                  zero: Mapping[str, object] | None = ZERO_LINE, style: Mapping[str, object] = HOUSE_STYLE,
                  **errorbar_kw) -> None:
    """Point estimates with their intervals ``[lows, highs]`` as error bars on ``ax``, and a line at zero.

    With ``labels``: one row per estimate, first at the top, horizontal bars, the rows tick-labelled by
    ``labels`` (drawn literally). With ``at``: vertical bars at those x positions (e.g. days). ``zero`` styles the
    reference line at 0 (``None``: no line); ``style`` and ``errorbar_kw`` (``label``, ``capsize``, ...) go to
    :meth:`~matplotlib.axes.Axes.errorbar`.

    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> interval_plot(ax, [0.1, -0.2], [0.0, -0.4], [0.2, 0.0], labels=["a", "$b$"])
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_yticks().tolist()
    (['a', '$b$'], [1, 0])
    """
    from recsys_causal.textsafe import visible_text

    vals = np.asarray(values, dtype=float)
    err = [vals - np.asarray(lows, dtype=float), np.asarray(highs, dtype=float) - vals]
    if labels is None:
        ax.errorbar(np.asarray(at, dtype=float), vals, yerr=err, **style, **errorbar_kw)
        if zero is not None:
            ax.axhline(0, **zero)
        return
    rows = list(range(len(vals)))[::-1]
    ax.errorbar(vals, rows, xerr=err, **style, **errorbar_kw)
    if zero is not None:
        ax.axvline(0, **zero)
    ax.set_yticks(rows)
    ax.set_yticklabels([visible_text(str(x)) for x in labels])  # tick labels are redrawn from this list


def literal_text(fig):
    """Disable mathtext parsing and TeX for every caller-supplied text of ``fig``; returns ``fig``."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.legend import Legend
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    from recsys_causal.textsafe import visible_text

    categorical = (FixedFormatter, FuncFormatter, StrCategoryFormatter)  # set_ticklabels / string data

    texts = list(fig.texts)
    if getattr(fig, "_suptitle", None) is not None:
        texts.append(fig._suptitle)
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), categorical):
                for tick in axis.get_major_ticks():
                    texts += [tick.label1, tick.label2]
    for legend in fig.findobj(Legend):
        texts += [*legend.get_texts(), legend.get_title()]
    for text in texts:
        text.set_text(visible_text(text.get_text()))
        text.set_usetex(False)
        text.set_parse_math(False)
    return fig


def bar_intervals(labels: Sequence[object], values: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                  *, title: str, xlabel: str, marks: Sequence[float] | None = None, interval: str | None = None):
    """A figure of point estimates with intervals, one row per label (first at the top), a line at zero and
    optional per-row ``marks`` (e.g. guardrail margins); ``interval`` names the intervals in the legend, which
    sits below the axes so none of its symbols reads as a mark on the data.

    >>> fig = bar_intervals(["a", "b"], [0.1, -0.2], [0.0, -0.4], [0.2, 0.0], title="t", xlabel="x",
    ...                     interval="95% interval (two-sided)")
    >>> [t.get_text() for t in fig.legends[0].get_texts()]
    ['95% interval (two-sided)']
    """

    labels = list(labels)
    legend = marks is not None or bool(interval)
    fig = new_figure(figsize=(7, 0.5 * len(labels) + 1.4 + 0.3 * legend), layout="constrained")
    ax = fig.subplots()
    interval_plot(ax, values, lows, highs, labels=labels, capsize=4, label=interval)
    if marks is not None:
        ax.scatter(list(marks), list(range(len(labels)))[::-1], marker="|", s=300, color="#b22222", label="margin")
    if legend:
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    literal_text(fig)
    return fig


def forest_plot(frame: pd.DataFrame, title: str = "Effect by segment", label_col: str = "segment",
                interval: str | None = None):
    """Segment effects (a frame with ``value``, ``ci_low``, ``ci_high`` and ``label_col``) as
    :func:`bar_intervals` rows; ``interval`` by default from the frame's ``alpha`` column when it holds one level.

    >>> import pandas as pd
    >>> fig = forest_plot(pd.DataFrame({"segment": ["a"], "value": [0.1], "ci_low": [0.0], "ci_high": [0.2],
    ...                                 "alpha": [0.1]}))
    >>> fig.legends[0].get_texts()[0].get_text()
    '90% interval (two-sided)'
    """
    from recsys_causal.estimate import interval_label

    if interval is None and "alpha" in frame.columns and frame["alpha"].nunique() == 1:
        interval = interval_label(float(frame["alpha"].iloc[0]))
    return bar_intervals(frame[label_col].tolist(), frame["value"], frame["ci_low"], frame["ci_high"], title=title,
                         xlabel="effect (treatment − control)", interval=interval)


def effect_by_day_figure(daily: pd.DataFrame, curve: tuple[Sequence[float], Sequence[float]] | None = None,
                         metric: str = "metric", interval: str | None = None, curve_label: str = "fitted decay"):
    """Daily effects (``effect``, ``ci_low``, ``ci_high`` by ``days_since_exposure``) with their intervals, and
    an optional ``curve`` ``(days, effects)`` labelled ``curve_label``."""
    fig = new_figure(figsize=(7, 3.2))
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


def plot_effect_by_day(table: pd.DataFrame, *, by: str = "days_since_exposure", title: str | None = None,
                       fit: Any = None):
    """Matplotlib Figure of per-day effects with intervals (and the fitted curve of a
    :class:`~recsys_causal.experiments.novelty.DecayFit` when given).

    >>> import pandas as pd
    >>> tab = pd.DataFrame({"days_since_exposure": [0, 1], "effect": [0.2, 0.1], "ci_low": [0.1, 0.0],
    ...                     "ci_high": [0.3, 0.2]})
    >>> plot_effect_by_day(tab).savefig(__import__("io").BytesIO(), format="png")
    """
    fig = new_figure(figsize=(7, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    interval_plot(ax, table["effect"], table["ci_low"], table["ci_high"], at=table[by], style={"fmt": "o", "ms": 3},
                  zero={"color": "grey", "lw": 0.8}, capsize=2, label="daily effect")
    if fit is not None:
        grid = np.linspace(float(np.min(fit.days)), float(np.max(fit.days)), 200)
        ax.plot(grid, fit.predict(grid), color="C1", label=f"fit ({fit.label})")
        e = fit.effect
        ax.axhspan(e.ci_low, e.ci_high, color="C1", alpha=0.15,
                   label="long-run CI" if fit.identified else "constant-effect CI (decay not identified)")
    ax.set_xlabel(by.replace("_", " "))
    ax.set_ylabel("effect (treatment − control)")
    ax.set_title(title or f"Effect by {by.replace('_', ' ')}")
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_decay(fit: Any, table: pd.DataFrame, *, by: str = "days_since_exposure"):
    """Figure of the cohort-aligned effects with the fitted decay curve (a ``DecayFit``) and the long-run
    interval."""
    return plot_effect_by_day(table, by=by, fit=fit, title=repr(fit)[9:-1][:80])


def figure_svg(fig) -> str:
    """The figure as an ``<svg>`` element, the same bytes on every run (fixed hash salt, no date, no metadata
    block; text kept as text, which matplotlib escapes). Global matplotlib settings are left alone.

    >>> svg = figure_svg(bar_intervals(["a"], [0.1], [0.0], [0.2], title="t", xlabel="x"))
    >>> svg.startswith("<svg"), svg == figure_svg(bar_intervals(["a"], [0.1], [0.0], [0.2], title="t", xlabel="x"))
    (True, True)
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "recsys-causal", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)  # RDF licence block: not needed
    return text[text.index("<svg"):]


@dataclass(frozen=True)
class Rows:
    """One panel of :func:`rows_figure`: a row per label with its point value and interval, the panel's title
    and axis label, the interval's name for the legend and optional per-row ``marks`` (e.g. guardrail margins)."""

    labels: Sequence[object]
    values: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    title: str = ""
    xlabel: str = ""
    interval: str | None = None
    marks: Sequence[float] | None = None

    @classmethod
    def of(cls, estimates: Sequence[Any], labels: Sequence[object] | None = None, **kw: Any) -> Rows:
        """Rows of :class:`~recsys_causal.estimate.Estimate` s, labelled by ``labels`` (default: their names);
        the legend names the interval of the first (its ``alpha``, two-sided) unless ``interval=`` is given."""
        from recsys_causal.estimate import interval_label

        es = list(estimates)
        kw.setdefault("interval", interval_label(es[0].alpha) if es else None)
        return cls([e.name for e in es] if labels is None else list(labels), [e.value for e in es],
                   [e.ci_low for e in es], [e.ci_high for e in es], **kw)


def rows_figure(*panels: Rows, title: str | None = None, what: str = "estimates of this kind"):
    """Stacked panels of interval rows (one per :class:`Rows`, empty ones left out), each drawn by
    :func:`interval_plot`. A row without a finite value is labelled ``(not estimable)``; a NaN bound ``(no
    interval)`` and an infinite one ``(interval unbounded)``, and that side of its bar is not drawn. No rows at
    all: an :class:`~recsys_causal.errors.EstimationError` naming ``what`` is missing.

    >>> fig = rows_figure(Rows(["a", "b"], [0.1, 0.2], [0.0, -np.inf], [0.2, 0.3], title="t", xlabel="x"))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b (interval unbounded)']
    """
    from recsys_causal.errors import EstimationError

    panels = tuple(p for p in panels if len(p.labels))
    if not panels:
        raise EstimationError(f"nothing to plot: the result holds no {what}",
                              fix="check the result's to_frame() for the rows it has")
    heights = [0.42 * len(p.labels) + 1.3 for p in panels]
    fig = new_figure(figsize=(8, sum(heights) + (0.4 if title else 0.0)), layout="constrained")
    for ax, panel in zip(fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0], panels,
                         strict=True):
        vals, lows, highs = (np.asarray(x, dtype=float) for x in (panel.values, panel.lows, panel.highs))
        bounds = np.stack([lows, highs])
        note = np.select([~np.isfinite(vals), np.isnan(bounds).any(0), np.isinf(bounds).any(0)],
                         [" (not estimable)", " (no interval)", " (interval unbounded)"], "")
        interval_plot(ax, vals, np.where(np.isfinite(lows), lows, vals), np.where(np.isfinite(highs), highs, vals),
                      labels=[f"{x}{n}" for x, n in zip(panel.labels, note, strict=True)], capsize=4,
                      label=panel.interval)
        if panel.marks is not None:
            ax.scatter(list(panel.marks), list(range(len(vals)))[::-1], marker="|", s=300, color="#b22222",
                       label="margin")
        if panel.marks is not None or panel.interval:  # beside the axes: no legend symbol reads as a data mark
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        ax.set(title=panel.title, xlabel=panel.xlabel)
    if title:
        fig.suptitle(title)
    return literal_text(fig)


def plot_cumulative(table: pd.DataFrame, *, x: str | None = None, alpha: float = 0.05, metric: str = "metric"):
    """The cumulative effect at each look of a :func:`~recsys_causal.experiments.cumulative_looks` or
    :func:`~recsys_causal.experiments.monitoring_table` frame with its fixed-horizon interval (``ci_low`` /
    ``ci_high``, else ``value ± z·se`` at ``alpha``) and, when the table has it, the always-valid confidence
    sequence (``cs_low`` / ``cs_high``), over calendar time (``x``: default ``time`` if present, else ``look``).

    >>> tab = pd.DataFrame({"look": [1, 2, 3], "value": [0.3, 0.2, 0.25], "se": [0.2, 0.1, 0.05]})
    >>> [round(float(v), 3) for v in plot_cumulative(tab).axes[0].collections[-1].get_segments()[0][:, 1]]
    [-0.092, 0.692]
    """
    from matplotlib import dates
    from scipy import stats

    x = x or ("time" if "time" in table.columns else "look")
    at = table[x]
    if pd.api.types.is_datetime64_any_dtype(at):
        at = dates.date2num(pd.DatetimeIndex(at).tz_localize(None).to_pydatetime())
    half = stats.norm.ppf(1 - alpha / 2) * table["se"] if "se" in table.columns else None
    low = table["ci_low"] if "ci_low" in table.columns else table["value"] - half
    high = table["ci_high"] if "ci_high" in table.columns else table["value"] + half
    fig = new_figure(figsize=(7, 3.4))
    ax = fig.subplots()
    if {"cs_low", "cs_high"} <= set(table.columns):
        ax.fill_between(at, table["cs_low"], table["cs_high"], color="C1", alpha=0.2,
                        label="confidence sequence (anytime-valid)")
    interval_plot(ax, table["value"], low, high, at=at, capsize=3,
                  label=f"cumulative effect ({round(100 * (1 - alpha))}% fixed-horizon interval)")
    if x != "look" and pd.api.types.is_datetime64_any_dtype(table[x]):
        ax.xaxis_date()
        fig.autofmt_xdate()
    ax.set(title=f"{metric}: cumulative effect", xlabel="enrolled up to" if x == "time" else x.replace("_", " "),
           ylabel=f"effect on {metric} (treatment − control)")
    ax.legend(loc="best", frameon=False, fontsize=8)
    fig.tight_layout()
    return literal_text(fig)


def points_over_time(times: Sequence[Any], values: Sequence[float], groups: Sequence[object], *, title: str,
                     ylabel: str):
    """Observations over calendar time (e.g. the outcome of every switchback block), one marker colour per
    group (legend: the group and its count)."""
    frame = pd.DataFrame({"t": pd.to_datetime(pd.Series(list(times))), "y": np.asarray(values, dtype=float),
                          "g": [str(g) for g in groups]})
    frame["t"] = frame["t"].dt.tz_localize(None) if frame["t"].dt.tz is not None else frame["t"]
    fig = new_figure(figsize=(8, 3.4))
    ax = fig.subplots()
    for k, (name, part) in enumerate(frame.groupby("g", sort=True)):
        ax.plot(part["t"], part["y"], "o", ms=2.5, alpha=0.7, color=f"C{k}", label=f"{name} ({len(part)})")
    ax.set(title=title, ylabel=ylabel, xlabel="time")
    ax.legend(loc="best", frameon=False, fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return literal_text(fig)
