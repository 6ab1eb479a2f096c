"""Label windows: turn an outcome-events table into reward columns, marking immature labels as missing.

A label spec reads ``"<event> within <window> [as <column>]"`` (a 0/1 label) or
``"value of <event> within <window> as <column>"`` (the summed event value). Windows use ``s``, ``m``, ``h``,
``d`` or ``w``. A label whose window has not closed at ``as_of`` is missing (NaN), never 0.

>>> LabelSpec.parse("purchase within 7d")
LabelSpec(column='purchase', event='purchase', window=Timedelta('7 days 00:00:00'), aggregate='any')
>>> LabelSpec.parse("value of purchase within 7d as revenue_7d").aggregate
'sum'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from recsys_causal.errors import ConfigError, SchemaError
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import Reason, ValidationReport

_SPEC = re.compile(
    r"^\s*(?:(?P<value>value\s+of)\s+)?(?P<event>[A-Za-z_][\w]*)\s+within\s+(?P<n>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>s|m|h|d|w)\s*(?:as\s+(?P<column>[A-Za-z_][\w]*))?\s*$"
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EVENT_COLUMNS = ("request_id", "item_id", "event", "event_time")


@dataclass(frozen=True)
class LabelSpec:
    """One label: which event, which window after the decision, and the output column."""

    column: str
    event: str
    window: pd.Timedelta
    aggregate: str = "any"

    @classmethod
    def parse(cls, text: str) -> LabelSpec:
        m = _SPEC.match(text)
        if not m:
            raise ConfigError(
                f"cannot read label spec {text!r}",
                fix="write '<event> within <N><s|m|h|d|w> [as <column>]', e.g. 'click within 30m'",
            )
        window = pd.Timedelta(**{_UNITS[m["unit"]]: float(m["n"])})
        aggregate = "sum" if m["value"] else "any"
        if aggregate == "sum" and not m["column"]:
            raise ConfigError(f"label spec {text!r} needs 'as <column>'", fix="name the output column")
        return cls(column=m["column"] or m["event"], event=m["event"], window=window, aggregate=aggregate)


def attach_labels(
    log: DecisionLog,
    events: pd.DataFrame,
    specs: Sequence[str | LabelSpec],
    *,
    as_of: pd.Timestamp | str | None = None,
    report: ValidationReport | None = None,
    source: str | None = None,
) -> DecisionLog:
    """A new log with one reward column per spec, built from ``events``.

    Labels are computed on shown candidates only (NaN elsewhere). ``as_of`` defaults to the latest event time
    in ``events`` (the data's horizon); a window ending after it is immature and its label is NaN. Events that
    match no logged candidate, fall on a not-shown candidate or precede the decision are counted in ``report``.
    """
    src = source or "outcome events"
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise SchemaError(f"outcome events lack column(s) {missing}", source=src, column=missing[0],
                          fix=f"provide {list(EVENT_COLUMNS)} (and 'value' for value labels)", code="missing_column")
    parsed = [s if isinstance(s, LabelSpec) else LabelSpec.parse(s) for s in specs]
    ev = events.copy()
    ev["event_time"] = pd.to_datetime(ev["event_time"], utc=True, errors="coerce", format="ISO8601")
    horizon = pd.Timestamp(as_of) if as_of is not None else ev["event_time"].max()
    if horizon is not None and pd.notna(horizon) and horizon.tzinfo is None:
        raise SchemaError("as_of has no timezone", source=src, fix="pass e.g. '2026-07-01T00:00:00Z'")
    if "value" not in ev.columns:
        ev["value"] = 1.0

    cand_rows = pd.DataFrame({
        "request_id": log.request_ids[log.request_index].astype(str),
        "item_id": log.candidates[schema.ITEM_ID].astype(str).to_numpy(),
        "row": np.arange(log.n_candidates),
    })
    ev["request_id"] = ev["request_id"].astype(str)
    ev["item_id"] = ev["item_id"].astype(str)
    joined = ev.merge(cand_rows, on=["request_id", "item_id"], how="left")
    orphan = joined["row"].isna().to_numpy()
    row = joined["row"].fillna(-1).to_numpy(dtype=np.int64)
    shown = log.shown
    unshown = ~orphan & ~shown[np.maximum(row, 0)]
    decision = pd.DatetimeIndex(log.requests[schema.DECISION_TIME])[log.request_index]
    t_dec = np.full(len(joined), np.datetime64("NaT"), dtype="datetime64[ns]")
    t_dec[~orphan] = decision.tz_convert("UTC").tz_localize(None).to_numpy()[row[~orphan]]
    t_ev = joined["event_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    before = ~orphan & (t_ev < t_dec)
    if report is not None:
        _count(report, Reason.ORPHAN_OUTCOME_EVENT, orphan, joined, "outcome events that match no logged candidate",
               "check request_id/item_id of the events; they are ignored")
        _count(report, Reason.OUTCOME_ON_UNSHOWN, unshown, joined, "outcome events on not-shown candidates",
               "outcomes attach to impressions only; they are ignored", severity="warning")
        _count(report, Reason.EVENT_BEFORE_DECISION, before, joined, "outcome events earlier than their decision",
               "check clocks; they are ignored")
    usable = ~orphan & ~unshown & ~before
    delay = t_ev - t_dec

    candidates = log.candidates.copy()
    rewards = list(log.reward_columns)
    dec_naive = decision.tz_convert("UTC").tz_localize(None).to_numpy()
    horizon_naive = np.datetime64(horizon.tz_convert("UTC").tz_localize(None)) if pd.notna(horizon) else None
    for spec in parsed:
        sel = usable & (joined["event"].astype(str).to_numpy() == spec.event)
        sel &= delay <= spec.window.to_timedelta64()
        values = np.zeros(log.n_candidates)
        if spec.aggregate == "sum":
            np.add.at(values, row[sel], pd.to_numeric(joined["value"], errors="coerce").fillna(0).to_numpy()[sel])
        else:
            values[row[sel]] = 1.0
        if horizon_naive is None:
            mature = np.zeros(log.n_candidates, dtype=bool)
        else:
            mature = dec_naive + spec.window.to_timedelta64() <= horizon_naive
        immature = shown & ~mature
        values[~shown | immature] = np.nan
        candidates[spec.column] = values
        if spec.column not in rewards:
            rewards.append(spec.column)
        if report is not None and immature.any():
            ids = pd.unique(log.request_ids[log.request_index[immature]])
            report.add(Reason.IMMATURE_LABEL, "info", int(immature.sum()), ids[:5],
                       f"label {spec.column!r} ({spec.event} within {spec.window}) is immature at {horizon}: "
                       "marked missing, not 0", "wait for the window to close or analyse an earlier cohort",
                       spec.column, unit="labels")
    return replace(log, candidates=candidates, reward_columns=tuple(rewards))


def _count(report, reason, mask, joined, message, fix, severity="warning") -> None:
    if mask.any():
        report.add(reason, severity, int(mask.sum()), pd.unique(joined.loc[mask, "request_id"])[:5], message, fix,
                   unit="events")
