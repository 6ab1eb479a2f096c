"""Variant and segment labels as integer codes: one hash pass over a column, labels compared as text.

>>> import pandas as pd
>>> codes, labels = label_codes(pd.Series([1, "1", "b", None, "b"], dtype=object))
>>> codes.tolist(), labels
([0, 0, 1, 2, 1], ['1', 'b', 'nan'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def label_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes of ``values`` compared as text (``str(value)``, as the readout compares labels) and the
    text labels in order of first appearance; one hash pass over the rows (a missing value, None or NaN, is
    the label ``"nan"``)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = np.array([str(u) for u in uniques], dtype=object)
    merged, labels = pd.factorize(text)  # distinct values with the same text are one label
    return merged[codes].astype(np.int64, copy=False), [str(s) for s in labels]


__all__ = ["label_codes"]
