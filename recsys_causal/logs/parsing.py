"""Parsing of log columns at the edge: true/false flags, numbers, and timestamps with or without a zone.

Decision times (:func:`decision_times`) and outcome-event times share :func:`text_times`: text with a zone
designator is parsed to UTC, text without one is parsed as local time and left to the caller (an error, or
localised with ``assume_timezone``).

>>> t = text_times(pd.Series(["2026-06-01T10:00:00+02:00", "2026-06-01 10:00", "soon", None]))
>>> t.aware.tolist(), t.naive.index.tolist()
([Timestamp('2026-06-01 08:00:00+0000', tz='UTC'), NaT, NaT, NaT], [1])
>>> parse_bool(pd.Series(["yes", "0", "maybe"]), np.zeros(3, bool))[1].tolist()
[False, False, True]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys_causal.errors import SchemaError
from recsys_causal.logs import schema

_TRUE = {"true", "1", "t", "yes", "y", "1.0"}
_FALSE = {"false", "0", "f", "no", "n", "0.0"}


class RequestIds:
    """Example request ids for row masks, from factorised codes (no per-row string objects)."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray) -> None:
        self.codes, self.uniques = codes, uniques

    def examples(self, rows: np.ndarray) -> np.ndarray:
        c = self.codes[rows]
        return self.uniques[pd.unique(c[c >= 0])]

    def subset(self, rows: np.ndarray) -> RequestIds:
        return RequestIds(self.codes[rows], self.uniques)


def parse_bool(col: pd.Series, allowed_missing: np.ndarray, default: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values (missing ones ``default``) and the rows that are not a recognised true/false value (a missing value
    is allowed where ``allowed_missing``)."""
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return col.to_numpy(dtype=bool), np.zeros(len(col), dtype=bool)
    text = col.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    missing = col.isna().to_numpy()
    bad = ~(is_true | is_false) & ~(missing & allowed_missing)
    value = np.where(missing, default, is_true)
    return value.astype(bool), bad


def numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as float (NaN where absent, missing or not a number)."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return as_float(frame[name])


def as_float(col: pd.Series) -> np.ndarray:
    """A column as float (NaN where missing or not a number); a float64 column's own values, not a copy."""
    if col.dtype == np.float64:
        return col.to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def coerce_failures(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Rows of column ``name`` with a value that is not a number."""
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[name]
    if col.dtype == np.float64 or pd.api.types.is_bool_dtype(col.dtype):
        return np.zeros(len(frame), dtype=bool)
    return (pd.to_numeric(col, errors="coerce").isna() & col.notna()).to_numpy()


class TextTimes(NamedTuple):
    """``text`` (stripped), ``aware`` (values with a zone in UTC, NaT elsewhere or where unparsable), ``has_tz``
    (rows with a zone) and ``naive`` (values without a zone that parse, indexed like the column)."""

    text: pd.Series
    aware: pd.Series
    has_tz: np.ndarray
    naive: pd.Series


def text_times(col: pd.Series) -> TextTimes:
    """Parse text timestamps (ISO 8601), keeping apart those with and without a zone designator."""
    text = col.astype("string").str.strip()
    has_tz = text.str.contains(schema.TZ_SUFFIX).fillna(False).to_numpy(dtype=bool)
    # microsecond resolution: far-future values (year 2999) parse and are quarantined, not overflow
    aware = pd.Series(pd.NaT, index=col.index, dtype="datetime64[us, UTC]")
    if has_tz.any():
        aware.loc[has_tz] = pd.to_datetime(text[has_tz], errors="coerce", utc=True, format="ISO8601").dt.as_unit("us")
    rest = ~has_tz & text.notna().to_numpy()
    naive = pd.to_datetime(text[rest], errors="coerce", format="ISO8601").dropna()
    return TextTimes(text, aware, has_tz, naive)


def decision_times(col: pd.Series, src: str, assume_timezone: str | None, ids: RequestIds) -> pd.Series:
    """Timezone-aware UTC decision times; NaT where a value cannot be parsed. Naive timestamps are fatal unless
    ``assume_timezone`` names their zone."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(col):
        return _localize_or_fail(col, src, assume_timezone, ids, np.ones(len(col), dtype=bool))
    if pd.api.types.is_numeric_dtype(col):
        raise SchemaError(
            "decision_time is numeric; its unit and timezone are ambiguous", source=src,
            column=schema.DECISION_TIME, fix="store ISO-8601 timestamps with an offset, e.g. 2026-06-01T10:00:00Z",
            code="bad_type",
        )
    t = text_times(col)
    out = t.aware
    if len(t.naive):
        rows = np.zeros(len(col), dtype=bool)
        rows[col.index.get_indexer(t.naive.index)] = True
        local = _localize_or_fail(t.naive, src, assume_timezone, ids.subset(rows), np.ones(len(t.naive), bool))
        out.loc[local.index] = local.dt.as_unit("us")
    return out


def _localize_or_fail(col: pd.Series, src: str, assume_timezone: str | None, ids: RequestIds,
                      mask: np.ndarray) -> pd.Series:
    if assume_timezone is None:
        raise SchemaError(
            f"{int(mask.sum())} decision_time values have no timezone", source=src, column=schema.DECISION_TIME,
            count=int(mask.sum()), examples=ids.examples(mask)[:5],
            fix="write timestamps with an offset (e.g. ...Z) or pass assume_timezone='UTC' if they are UTC",
            code="naive_timestamp",
        )
    return col.dt.tz_localize(assume_timezone).dt.tz_convert("UTC")
