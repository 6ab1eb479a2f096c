"""Forest plot of segment effects (matplotlib, headless-safe).

>>> import pandas as pd
>>> fig = forest_plot(pd.DataFrame({"segment": ["a", "b"], "value": [0.1, -0.2], "ci_low": [0.0, -0.4],
...                                 "ci_high": [0.2, 0.0]}))
>>> len(fig.axes)
1
>>> fig = forest_plot(pd.DataFrame({"segment": ["a"], "value": [0.1], "ci_low": [0.0], "ci_high": [0.2],
...                                 "alpha": [0.1]}))
>>> fig.axes[0].get_legend().get_texts()[0].get_text()
'90% interval (two-sided)'

"""

from __future__ import annotations

import pandas as pd


def forest_plot(frame: pd.DataFrame, title: str = "Effect by segment", label_col: str = "segment",
                interval: str | None = None):
    """One row per segment: point estimate and interval, with a line at zero. Returns the Figure.

    Labels (segment values, the title) are drawn literally, never as mathtext; ``interval`` (e.g.
    ``interval_label(alpha)``) names the intervals' level and sidedness in the legend, by default from the
    frame's ``alpha`` column when it holds one level."""
    from matplotlib.figure import Figure

    from recsys_causal.estimate import interval_label
    from recsys_causal.plotting import interval_plot, literal_text

    if interval is None and "alpha" in frame.columns and frame["alpha"].nunique() == 1:
        interval = interval_label(float(frame["alpha"].iloc[0]))

    fig = Figure(figsize=(6, 0.45 * len(frame) + 1.2))
    ax = fig.subplots()
    interval_plot(ax, frame["value"], frame["ci_low"], frame["ci_high"], labels=frame[label_col].tolist(),
                  zero={"color": "#999999", "lw": 1, "ls": "--"}, capsize=3, label=interval)
    ax.set_title(title)
    ax.set_xlabel("effect (treatment − control)")
    if interval:
        ax.legend(loc="best", frameon=False)
    literal_text(fig)
    fig.tight_layout()
    return fig
