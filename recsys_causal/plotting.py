"""Plot helpers shared by every figure: intervals as error bars (:func:`interval_plot`) and literal text.

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

from collections.abc import Mapping, Sequence

import numpy as np

HOUSE_STYLE: Mapping[str, object] = {"fmt": "o", "color": "#1f4e79", "ecolor": "#7f9cbf"}
ZERO_LINE: Mapping[str, object] = {"color": "#888888", "lw": 1, "ls": "--"}


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
