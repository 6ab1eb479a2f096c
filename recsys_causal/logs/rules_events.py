"""Validation of outcome events before they become labels: keys, event times, values, duplicates.

Whole-column problems raise a typed error (every ``event_time`` timezone-naive or unparsable, a numeric
``event_time``, a ``value`` column with no number in it). Row-level problems give each event a reason code;
such events are quarantined and counted, and the labels they would have touched become missing, never 0.

>>> import pandas as pd
>>> ev = pd.DataFrame({"request_id": ["r1", "r1", "r2"], "item_id": ["a", "a", "b"],
...                    "event": ["click"] * 3, "value": [1.0, 1.0, "x"],
...                    "event_time": ["2026-06-01T10:00:00Z", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"]})
>>> clean_events(ev, "events.csv", value_events={"click"}).status.tolist()
['', 'duplicate_outcome_event', 'invalid_event_value']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.errors import SchemaError
from recsys_causal.logs.parsing import text_times
from recsys_causal.logs.report import Reason

KEYS = ("request_id", "item_id", "event")

#: message and fix per event reason
EVENT_MESSAGES: dict[str, tuple[str, str]] = {
    Reason.MISSING_EVENT_KEY: ("outcome events without request_id, item_id or event",
                               "log the request, item and event name of every outcome event"),
    Reason.UNPARSABLE_EVENT_TIME: ("outcome events whose event_time is empty or cannot be parsed; the labels "
                                   "they would set are missing, not 0",
                                   "write ISO-8601 event times with an offset, e.g. 2026-06-01T10:00:00Z"),
    Reason.NAIVE_EVENT_TIME: ("outcome events whose event_time has no timezone (others have one); the labels "
                              "they would set are missing, not 0",
                              "write every event time with an offset, or pass assume_timezone= if all are local"),
    Reason.INVALID_EVENT_VALUE: ("outcome events whose value is not a finite number (or empty for a value "
                                 "label); the labels they would set are missing, not 0",
                                 "log event values as finite numbers"),
    Reason.ORPHAN_OUTCOME_EVENT: ("outcome events that match no logged candidate (unknown request, unknown item "
                                  "of the request, or a request that was quarantined); they are ignored",
                                  "check request_id/item_id of the events and the log's quarantine"),
    Reason.DUPLICATE_OUTCOME_EVENT: ("exact repeats of an outcome event (same request, item, event, time and "
                                     "value); deduplicated, the first is kept",
                                     "deduplicate the event export (retries often cause this)"),
    Reason.OUTCOME_ON_UNSHOWN: ("outcome events on not-shown candidates; they are ignored",
                                "outcomes attach to impressions only; check the event join"),
    Reason.EVENT_BEFORE_DECISION: ("outcome events earlier than their decision; they are ignored",
                                   "check clocks"),
    Reason.EVENT_NOT_LABELLED: ("outcome events that no label uses (another event name, or outside every "
                                "label window)", "add a label spec for them if they matter"),
    Reason.IMMATURE_LABEL: ("outcome events that fall only on immature labels (marked missing)",
                            "wait for the windows to close"),
}

#: reasons whose events are quarantined (the others are excluded)
EVENT_QUARANTINE: tuple[str, ...] = tuple(str(r) for r in (
    Reason.MISSING_EVENT_KEY, Reason.UNPARSABLE_EVENT_TIME, Reason.NAIVE_EVENT_TIME, Reason.INVALID_EVENT_VALUE,
    Reason.ORPHAN_OUTCOME_EVENT))


@dataclass
class CleanEvents:
    """Events with parsed ``event_time`` (UTC, NaT when unusable) and float ``value``; ``status`` holds each
    event's reason code ("" while usable)."""

    frame: pd.DataFrame
    status: np.ndarray

    def mark(self, reason: str, rows: np.ndarray) -> None:
        self.status[(self.status == "") & rows] = str(reason)


def clean_events(events: pd.DataFrame, src: str, *, value_events: set[str] = frozenset(),
                 assume_timezone: str | None = None) -> CleanEvents:
    """Parse and check ``events`` (see the module docstring); ``value_events`` are the event names read by a
    ``value of ...`` label, for which an empty value is unusable too."""
    ev = events.reset_index(drop=True).copy()
    status = np.full(len(ev), "", dtype=object)
    out = CleanEvents(ev, status)
    key_missing = ev[list(KEYS)].isna().any(axis=1).to_numpy()
    out.mark(Reason.MISSING_EVENT_KEY, key_missing)
    for c in KEYS:
        ev[c] = ev[c].astype("string").astype(object).where(~ev[c].isna(), None)
    time, naive = _event_times(ev, src, assume_timezone)
    ev["event_time"] = time
    out.mark(Reason.NAIVE_EVENT_TIME, naive)
    out.mark(Reason.UNPARSABLE_EVENT_TIME, time.isna().to_numpy() & ~naive)
    value, bad_value = _event_values(ev, src, value_events)
    ev["value"] = value
    out.mark(Reason.INVALID_EVENT_VALUE, bad_value)
    ok = status == ""
    dup = np.zeros(len(ev), dtype=bool)
    if ok.any():
        dup[ok] = ev.loc[ok, [*KEYS, "event_time", "value"]].duplicated(keep="first").to_numpy()
    out.mark(Reason.DUPLICATE_OUTCOME_EVENT, dup)
    return out


def _event_times(ev: pd.DataFrame, src: str, assume_timezone: str | None) -> tuple[pd.Series, np.ndarray]:
    col = ev["event_time"]
    none = np.zeros(len(col), dtype=bool)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC"), none
    if pd.api.types.is_datetime64_dtype(col):
        return _localize(col, src, assume_timezone, ev, col.notna().to_numpy()), none
    if pd.api.types.is_numeric_dtype(col) and not col.isna().all():
        raise SchemaError("event_time is numeric; its unit and timezone are ambiguous", source=src,
                          column="event_time", count=int(col.notna().sum()), examples=_ids(ev, col.notna()),
                          fix="store ISO-8601 event times with an offset, e.g. 2026-06-01T10:00:00Z", code="bad_type")
    text, out, has_tz, parsed_naive = text_times(col)
    present = text.notna().to_numpy() & (text != "").fillna(False).to_numpy(dtype=bool)
    naive = np.zeros(len(col), dtype=bool)
    naive[col.index.get_indexer(parsed_naive.index)] = True
    if naive.any() and (assume_timezone is not None or not has_tz.any()):
        out.loc[naive] = _localize(parsed_naive, src, assume_timezone, ev, naive).dt.as_unit("us")
        naive = none
    if len(col) and not present.any():
        raise SchemaError(f"event_time is empty on all {len(col)} events", source=src, column="event_time",
                          count=len(col), examples=_ids(ev, np.ones(len(col), dtype=bool)), code="bad_type",
                          fix="log when each event happened (ISO-8601 with an offset)")
    if present.any() and out.isna().to_numpy()[present].all() and not naive.any():
        raise SchemaError(f"none of the {int(present.sum())} event_time values can be parsed", source=src,
                          column="event_time", count=int(present.sum()), examples=_ids(ev, present),
                          fix="write ISO-8601 event times with an offset, e.g. 2026-06-01T10:00:00Z",
                          code="bad_type")
    return out, naive


def _localize(col: pd.Series, src: str, tz: str | None, ev: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    if tz is None:
        raise SchemaError(
            f"all {int(rows.sum())} event_time values have no timezone", source=src, column="event_time",
            count=int(rows.sum()), examples=_ids(ev, rows), code="naive_timestamp",
            fix="write event times with an offset (e.g. ...Z) or pass assume_timezone='UTC' if they are UTC")
    return col.dt.tz_localize(tz).dt.tz_convert("UTC")


def _event_values(ev: pd.DataFrame, src: str, value_events: set[str]) -> tuple[np.ndarray, np.ndarray]:
    if "value" not in ev.columns:
        return np.ones(len(ev)), np.zeros(len(ev), dtype=bool)
    col = ev["value"]
    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = col.notna().to_numpy() & np.isnan(v)
    if text.any() and text.sum() == col.notna().sum():
        raise SchemaError(f"column 'value' holds no numbers ({int(text.sum())} non-numeric values)", source=src,
                          column="value", count=int(text.sum()), examples=_ids(ev, text), code="bad_type",
                          fix="event values must be numbers (e.g. revenue); leave the column out for 0/1 labels")
    bad = text | np.isinf(v)
    bad |= np.isnan(v) & ev["event"].isin(list(value_events)).to_numpy()
    return np.where(bad, np.nan, v), bad


def _ids(ev: pd.DataFrame, rows) -> list:
    rows = np.asarray(rows, dtype=bool)
    return pd.unique(ev.loc[rows, "request_id"].fillna("<no request_id>").astype(str))[:5].tolist()
