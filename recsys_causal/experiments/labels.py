"""Variant and segment labels as integer codes: one hash pass over a column, labels compared as text.

>>> import pandas as pd
>>> codes, labels = label_codes(pd.Series([1, "1", "b", None, "b"], dtype=object))
>>> codes.tolist(), labels
([0, 0, 1, 2, 1], ['1', 'b', 'nan'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def label_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes of ``values`` compared as text (``str(value)``, as the readout compares labels) and the
    text labels, in order of first appearance; one hash pass over the rows (a missing value, None or NaN, is
    the label ``"nan"``)."""
    return text_codes(*pd.factorize(values))


def text_codes(codes: np.ndarray, uniques: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """:func:`label_codes` from a factorisation (``codes`` index ``uniques``, ``-1`` for a missing value, as
    ``pandas.factorize`` and :func:`~recsys_causal.experiments.srm.group_codes` return them): distinct values
    with the same text become one label, and a missing value the label ``"nan"`` (only when there is one)."""
    codes = np.asarray(codes)
    missing = bool((codes < 0).any())
    text = np.array([str(u) for u in uniques] + (["nan"] if missing else []), dtype=object)
    merged, labels = pd.factorize(text)
    if missing:
        codes = np.where(codes < 0, len(text) - 1, codes)
    return merged[codes].astype(np.int64, copy=False), [str(s) for s in labels]


__all__ = ["label_codes", "text_codes"]
