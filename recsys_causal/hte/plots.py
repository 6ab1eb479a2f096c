"""The forest plot of segment effects lives in :mod:`recsys_causal.plotting` (one room for every plot); the name
stays importable from here.

>>> import pandas as pd
>>> fig = forest_plot(pd.DataFrame({"segment": ["a", "b"], "value": [0.1, -0.2], "ci_low": [0.0, -0.4],
...                                 "ci_high": [0.2, 0.0]}))
>>> len(fig.axes)
1
"""

from recsys_causal.plotting import forest_plot

__all__ = ["forest_plot"]
