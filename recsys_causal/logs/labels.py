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

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError, SchemaError
from recsys_causal.frames import to_pandas
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import Reason, ValidationReport
from recsys_causal.logs.rules_events import EVENT_MESSAGES, EVENT_QUARANTINE, CleanEvents, clean_events

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
    assume_timezone: str | None = None,
) -> DecisionLog:
    """A new log with one reward column per spec, built from ``events``.

    Labels are computed on shown candidates only (NaN elsewhere). ``as_of`` defaults to the latest event time
    in ``events`` (the data's horizon); a window ending after it is immature and its label is NaN. Broken
    events (see :mod:`recsys_causal.logs.rules_events`) are quarantined and the labels they would have set are
    NaN. In ``report``, events read = used + quarantined + excluded (duplicates, not shown, before the
    decision, unused by any label, only on immature labels), each reason with a count and example ids.
    """
    events = to_pandas(events, what="attach_labels")
    src = source or "outcome events"
    require_columns(events, EVENT_COLUMNS, what="the outcome-events table", source=src, code="missing_column",
                    fix=f"provide {list(EVENT_COLUMNS)} (and 'value' for value labels)")
    parsed = [s if isinstance(s, LabelSpec) else LabelSpec.parse(s) for s in specs]
    clean = clean_events(events, src, value_events={s.event for s in parsed if s.aggregate == "sum"},
                         assume_timezone=assume_timezone)
    ev = clean.frame
    horizon = pd.Timestamp(as_of) if as_of is not None else ev["event_time"].max()
    if horizon is not None and pd.notna(horizon) and horizon.tzinfo is None:
        raise SchemaError("as_of has no timezone", source=src, fix="pass e.g. '2026-07-01T00:00:00Z'")
    row, delay = _join(log, ev, clean)
    decision = pd.DatetimeIndex(log.requests[schema.DECISION_TIME]).tz_convert("UTC").tz_localize(None)
    horizon_naive = np.datetime64(horizon.tz_convert("UTC").tz_localize(None)) if pd.notna(horizon) else None
    joined = _Joined(row, delay, clean.status, ev["event"].to_numpy(), ev["value"].to_numpy(dtype=float),
                     decision.to_numpy()[log.request_index], horizon_naive, log.shown)
    used = np.zeros(len(ev), dtype=bool)
    immature_only = np.zeros(len(ev), dtype=bool)
    candidates = log.candidates.copy()
    rewards = list(log.reward_columns)
    for spec in parsed:
        values, sel, mature = _spec_values(spec, joined)
        immature = log.shown & ~mature
        candidates[spec.column] = values
        mature_ev = np.zeros(len(ev), dtype=bool)
        mature_ev[row >= 0] = mature[row[row >= 0]]
        used |= sel & mature_ev
        immature_only |= sel & ~mature_ev
        if spec.column not in rewards:
            rewards.append(spec.column)
        if report is not None and immature.any():
            ids = pd.unique(log.request_ids[log.request_index[immature]])
            report.add(Reason.IMMATURE_LABEL, "info", int(immature.sum()), ids[:5],
                       f"label {spec.column!r} ({spec.event} within {spec.window}) is immature at {horizon}: "
                       "marked missing, not 0", "wait for the window to close or analyse an earlier cohort",
                       spec.column, unit="labels")
    clean.mark(Reason.IMMATURE_LABEL, immature_only & ~used)
    clean.mark(Reason.EVENT_NOT_LABELLED, ~used)
    if report is not None:
        account_events(report, clean, used, src)
    return replace(log, candidates=candidates, reward_columns=tuple(rewards))


@dataclass(frozen=True)
class _Joined:
    """Events joined to candidates: candidate row (-1: none), delay after the decision (NaT: unknown), status,
    event name and value per event; decision time per candidate, the horizon and which candidates were shown."""

    row: np.ndarray
    delay: np.ndarray
    status: np.ndarray
    names: np.ndarray
    value: np.ndarray
    decision: np.ndarray
    horizon: np.datetime64 | None
    shown: np.ndarray


def _spec_values(spec: LabelSpec, j: _Joined) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One label per candidate (NaN where not shown, immature, or touched by a quarantined event), the events it
    used, and which candidates' windows are closed."""
    n = len(j.shown)
    window = spec.window.to_timedelta64()
    match = (j.row >= 0) & ((j.names == spec.event) | pd.isna(j.names))  # unnamed: could be any event
    in_window = match & ~(j.delay > window)  # NaT delay (time unknown): might be inside
    sel = in_window & (j.status == "")
    values = np.zeros(n)
    if spec.aggregate == "sum":
        np.add.at(values, j.row[sel], j.value[sel])
    else:
        values[j.row[sel]] = 1.0
    touched = np.zeros(n, dtype=bool)
    touched[j.row[in_window & np.isin(j.status, EVENT_QUARANTINE)]] = True
    if spec.aggregate == "any":
        touched &= values == 0  # a valid event already set the label to 1: it is known
    mature = np.zeros(n, dtype=bool) if j.horizon is None else j.decision + window <= j.horizon
    values[~j.shown | ~mature | touched] = np.nan
    return values, sel, mature


def _join(log: DecisionLog, ev: pd.DataFrame, clean: CleanEvents) -> tuple[np.ndarray, np.ndarray]:
    """Candidate row of each event (-1 when none) and its delay after the decision (NaT when unknown); marks
    orphans, events on not-shown candidates and events before their decision."""
    cand_rows = pd.DataFrame({
        "request_id": log.request_ids[log.request_index].astype(str),
        "item_id": log.candidates[schema.ITEM_ID].astype(str).to_numpy(),
        "row": np.arange(log.n_candidates),
    })
    keys = ev[["request_id", "item_id"]].astype(str)
    cand_rows = cand_rows.drop_duplicates(["request_id", "item_id"], keep="first")
    joined = keys.merge(cand_rows, on=["request_id", "item_id"], how="left", validate="many_to_one")
    row = np.array(joined["row"].fillna(-1).to_numpy(dtype=np.int64))
    row[ev[["request_id", "item_id"]].isna().any(axis=1).to_numpy()] = -1  # no candidate to attribute it to
    clean.mark(Reason.ORPHAN_OUTCOME_EVENT, row < 0)
    known = row >= 0
    delay = np.full(len(ev), np.timedelta64("NaT"), dtype="timedelta64[ns]")
    if known.any():
        decision = pd.DatetimeIndex(log.requests[schema.DECISION_TIME]).tz_convert("UTC").tz_localize(None)
        t_dec = decision.to_numpy()[log.request_index[row[known]]]
        t_ev = ev["event_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()[known]
        delay[known] = (t_ev.astype("datetime64[ns]") - t_dec.astype("datetime64[ns]"))
        clean.mark(Reason.OUTCOME_ON_UNSHOWN, known & ~log.shown[np.maximum(row, 0)])
        clean.mark(Reason.EVENT_BEFORE_DECISION, known & (delay < np.timedelta64(0, "ns")))
    return row, delay


def account_events(report: ValidationReport, clean: CleanEvents, used: np.ndarray, src: str) -> None:
    """Add the events' counts (read, used, quarantined and excluded by reason) and issues to ``report``."""
    status = clean.status
    report.n_events_read += len(status)
    report.n_events_used += int(used.sum())
    for reason, (message, fix) in EVENT_MESSAGES.items():
        rows = status == str(reason)
        if not rows.any():
            continue
        quarantined = reason in EVENT_QUARANTINE
        target = report.events_quarantined if quarantined else report.events_excluded
        target[str(reason)] = target.get(str(reason), 0) + int(rows.sum())
        if reason in (Reason.EVENT_NOT_LABELLED, Reason.IMMATURE_LABEL):
            continue
        ids = pd.unique(clean.frame.loc[rows, "request_id"].fillna("<no request_id>").astype(str))
        column = {Reason.UNPARSABLE_EVENT_TIME: "event_time", Reason.NAIVE_EVENT_TIME: "event_time",
                  Reason.INVALID_EVENT_VALUE: "value"}.get(reason, "request_id, item_id")
        report.add(reason, "quarantine" if quarantined else "warning", int(rows.sum()), ids[:5],
                   f"{src}: {message}", fix, column, unit="events")
    q = np.isin(status, EVENT_QUARANTINE)
    if q.any():
        bad = clean.frame.loc[q].copy()
        bad.insert(0, "quarantine_reason", status[q])
        report.event_quarantine = pd.concat([report.event_quarantine, bad], ignore_index=True)
