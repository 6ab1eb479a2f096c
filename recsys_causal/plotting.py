"""Literal text in matplotlib figures: data-derived labels are drawn as written, never as mathtext or TeX.

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
