"""How results read in a notebook, a terminal and markdown: numbers to four significant digits without
scientific notation for ordinary magnitudes, relative quantities (relative lifts, shares, rates) as
percentages, p-values to three digits (``<0.0001`` below), durations in words (``7 days``), readable column
headers, and estimate tables narrowed to name, value, standard error, interval, p-value and n (every other
column stays in ``to_frame()``, which, like ``to_dict()``, is numeric and untouched by anything here).

>>> number(0.0436), percent(0.0436), number(1234567.0), number(3000), number(2.5e-07)
('0.0436', '4.36%', '1,234,567', '3,000', '2.500e-07')
>>> p_text(3.2e-09), p_text(0.04567), duration(pd.Timedelta("7 days")), duration(pd.Timedelta(hours=30))
('<0.0001', '0.0457', '7 days', '1 day 6 hours')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

#: significant digits of every number shown
SIG = 4
#: below this a p-value is shown as ``<0.0001``
P_FLOOR = 1e-4
#: magnitudes shown in positional notation (beyond: scientific); from 10,000 on, whole numbers with separators
POSITIONAL = (1e-6, 1e4, 1e15)
#: quantities (``details["quantity"]``) and columns shown as percentages
RELATIVE_QUANTITY = re.compile(r"relative|share|rate", re.IGNORECASE)
RELATIVE_NAME = re.compile(r"\b(rate|share)\b", re.IGNORECASE)
RELATIVE_COLUMN = re.compile(r"(^|_)(share|rate|relative|reduction)($|_)", re.IGNORECASE)
P_COLUMNS = {"p", "p_value", "p_adjusted", "pvalue", "p_value_adjusted"}
HEADERS = {"p_value": "p", "p_adjusted": "p (adjusted)", "ci_low": "lower", "ci_high": "upper", "se": "se",
           "n": "n"}
_UNITS = (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0))


def number(x: Any, sig: int = SIG) -> str:
    """A number as text: integers with thousands separators, floats to ``sig`` significant digits in
    positional notation from 0.000001 to 10,000, whole with separators up to 1e15, scientific beyond; NaN as an
    empty cell."""
    if x is None or x is pd.NA:
        return ""
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    v = float(x)
    if math.isnan(v):
        return ""
    if math.isinf(v) or v == 0:
        return {math.inf: "inf", -math.inf: "-inf"}.get(v, "0")
    low, separators, high = POSITIONAL
    a = abs(v)
    if low <= a < separators:
        return np.format_float_positional(v, precision=sig, unique=False, fractional=False, trim="-")
    if separators <= a < high:
        return f"{v:,.0f}"
    return f"{v:.{sig - 1}e}"


def percent(x: Any, sig: int = SIG) -> str:
    """A fraction as a percentage (``0.0436`` → ``4.36%``); empty for missing values."""
    text = number(None if x is None else 100 * float(x), sig)
    return text + "%" if text and text not in ("inf", "-inf") else text


def p_text(p: Any) -> str:
    """A p-value to three significant digits, ``<0.0001`` below 0.0001, empty when there is none."""
    if p is None or p is pd.NA or (isinstance(p, float | np.floating) and math.isnan(p)):
        return ""
    return f"<{P_FLOOR:g}" if float(p) < P_FLOOR else number(float(p), 3)


def duration(value: Any) -> str:
    """A duration in words: ``7 days``, ``1 day 6 hours``, ``45 minutes``, ``1.5 seconds``."""
    td = pd.Timedelta(value)
    if td is pd.NaT:
        return ""
    total = td.total_seconds()
    rest, parts = abs(total), []
    for unit, size in _UNITS:
        k = int(rest // size)
        if k:
            parts.append(f"{k} {unit}{'s' if k != 1 else ''}")
            rest -= k * size
    if rest > 1e-9 or not parts:
        parts.append(f"{number(rest)} second{'s' if rest != 1 else ''}")
    return ("-" if total < 0 else "") + " ".join(parts)


def timestamp(value: Any) -> str:
    """A time as text: the date alone at midnight, else to the minute (seconds when set), with its zone."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return ""
    midnight = ts == ts.normalize()
    text = ts.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M" + (":%S" if ts.second else ""))
    return text + (f" {ts.tzname()}" if ts.tzinfo is not None and not midnight else "")


def cell(value: Any, column: Any = None, *, relative: bool = False) -> str:
    """One table cell: percentages for relative quantities (``relative`` or a share / rate / relative
    column), p-values, durations, times, numbers; anything else by ``str``."""
    name = str(column) if column is not None else ""
    if isinstance(value, pd.Timedelta | timedelta | np.timedelta64):
        return duration(value)
    if isinstance(value, pd.Timestamp | datetime | date | np.datetime64):
        return timestamp(value)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        if name in P_COLUMNS:
            return p_text(value)
        if (relative or RELATIVE_COLUMN.search(name)) and isinstance(value, float | np.floating):
            return percent(value)
        return number(value)
    if isinstance(value, tuple | list) and value and all(isinstance(v, int | float | np.number) for v in value):
        return "[" + ", ".join(cell(v, column, relative=relative) for v in value) + "]"  # e.g. an interval
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def header(column: Any) -> str:
    """A column header for reading: ``p_value`` → ``p``, ``n_control`` → ``n control``."""
    name = str(column)
    return HEADERS.get(name, name.replace("_", " "))


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text cells (:func:`cell` by column) under readable headers, for tables that are shown;
    columns empty in every row are left out (they stay in the data)."""
    out = {header(c): [cell(v, c) for v in frame[c].tolist()] for c in frame.columns}
    shown = {c: v for c, v in out.items() if any(v)} if len(frame) else out
    return pd.DataFrame(shown or out, index=range(len(frame)), dtype=object)


def is_relative(estimate: Any) -> bool:
    """Whether an estimate is a relative quantity: ``details["quantity"]`` a relative lift, share or rate, or
    a plain value whose name says it is a rate or a share (``exposure rate (treated)``)."""
    details = getattr(estimate, "details", None) or {}
    quantity = str(details.get("quantity") or "") if hasattr(details, "get") else ""
    if quantity in ("", "value"):
        return quantity == "value" and bool(RELATIVE_NAME.search(str(estimate.name)))
    return bool(RELATIVE_QUANTITY.search(quantity))


def interval_text(estimate: Any, relative: bool | None = None) -> str:
    """``[lower, upper]`` in the estimate's units."""
    rel = is_relative(estimate) if relative is None else relative
    show = percent if rel else number
    lo, hi = show(estimate.ci_low), show(estimate.ci_high)
    return "" if not lo and not hi else f"[{lo or '—'}, {hi or '—'}]"


def estimate_cells(estimate: Any) -> dict[str, str]:
    """The shown cells of one estimate: value, se, interval, p, p adjusted, n, warnings."""
    rel = is_relative(estimate)
    show = percent if rel else number
    details = getattr(estimate, "details", None) or {}
    return {"value": show(estimate.value), "se": show(estimate.se), "interval": interval_text(estimate, rel),
            "p": p_text(estimate.p_value), "p (adjusted)": p_text(details.get("p_adjusted")),
            "n": number(estimate.n), "warnings": "; ".join(estimate.warnings)}


def estimates_frame(estimates: Sequence[Any], interval_header: str = "interval") -> pd.DataFrame:
    """The shown table of estimates: name, value, se, interval, p (and the adjusted p, the interval level when
    levels differ, the warnings, each only when some row has one); all text."""
    from recsys_causal.estimate import interval_level

    rows = [{"name": str(e.name), **estimate_cells(e)} for e in estimates]
    frame = pd.DataFrame(rows, columns=["name", "value", "se", "interval", "p", "p (adjusted)", "n", "warnings"],
                         dtype=object)
    if len({e.alpha for e in estimates}) > 1:
        frame["interval"] = [f"{t} ({interval_level(e.alpha)})" for t, e in zip(frame["interval"], estimates,
                                                                                strict=True)]
    optional = [c for c in ("p", "p (adjusted)", "warnings") if not frame[c].astype(bool).any()]
    return frame.drop(columns=optional).rename(columns={"interval": interval_header})


def estimates_text(estimates: Sequence[Any]) -> list[str]:
    """Fixed-width rows (name, value, se, interval with its level, p-value, n) of estimates."""
    from recsys_causal.estimate import interval_level

    levels = {e.alpha for e in estimates}
    one = len(levels) == 1
    name_w = max([4, *(len(str(e.name)) for e in estimates)])
    head_ci = f"[{interval_level(levels.pop())} interval]" if one else "[interval (level)]"
    lines = [f"{'name':<{name_w}}  {'value':>11} {'se':>11}  {head_ci:^27} {'p':>9} {'n':>9}"]
    for e in estimates:
        c = estimate_cells(e)
        lo, hi = c["interval"][1:-1].split(", ") if c["interval"] else ("", "")
        ci = f"[{lo:>11}, {hi:>11}]" if c["interval"] else ""
        if not one and ci:
            ci += f" ({interval_level(e.alpha)})"
        lines.append(f"{e.name!s:<{name_w}}  {c['value']:>11} {c['se']:>11}  {ci:^27} {c['p']:>9} {c['n']:>9}")
    return lines


__all__ = ["cell", "display_frame", "duration", "estimate_cells", "estimates_frame", "estimates_text", "header",
           "interval_text", "is_relative", "number", "p_text", "percent", "timestamp"]
