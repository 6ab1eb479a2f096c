"""Label windows: turn an outcome-events table into reward columns, marking immature labels as missing.

A label spec reads ``"[value of] <event> within <window> [scope] [as <column>]"``. Windows use ``s``, ``m``,
``h``, ``d`` or ``w``; the scope says what the window follows:

* none: the event on the same request and item within the window after the decision (a 0/1 label, or the
  summed event value with ``value of``), e.g. ``click within 30m``, ``value of purchase within 7d as revenue``;
* ``by user`` / ``after exposure``: the same user, any item, after the exposure (a request with a shown item);
  ``retention`` is any later request of the user in the log and ``repeat_<event>`` reads ``<event>``, e.g.
  ``retention within 14d after exposure``, ``repeat_purchase within 30d by user``. These labels are request
  columns (:mod:`recsys_causal.logs.user_windows`);
* ``after <anchor> [within <window>]``: a chained window that opens at the first ``<anchor>`` event of the same
  request and item within the anchor's window, e.g. ``return within 30d after purchase within 7d`` (without
  its window the anchor takes the window of the plain label on that event in the same list).

A label whose window has not closed at ``as_of`` is missing (NaN), never 0.

>>> LabelSpec.parse("purchase within 7d")
LabelSpec(column='purchase', event='purchase', window=Timedelta('7 days 00:00:00'), aggregate='any')
>>> LabelSpec.parse("value of purchase within 7d as revenue_7d").aggregate
'sum'
>>> s = LabelSpec.parse("repeat_purchase within 30d by user")
>>> s.column, s.event, s.scope
('repeat_purchase', 'purchase', 'user')
>>> s = LabelSpec.parse("return within 30d after purchase within 7d")
>>> s.scope, s.anchor, s.anchor_window.days
('chain', 'purchase', 7)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError, SchemaError
from recsys_causal.frames import to_pandas
from recsys_causal.logs import schema
from recsys_causal.logs.label_flags import exclude_flagged
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import Reason, ValidationReport
from recsys_causal.logs.rules_events import EVENT_MESSAGES, EVENT_QUARANTINE, CleanEvents, clean_events
from recsys_causal.logs.user_windows import RETENTION, EventUsers, chain_values, event_users, user_label

_NAME = r"[A-Za-z_][\w]*"
_WINDOW = r"(?P<{n}>\d+(?:\.\d+)?)\s*(?P<{u}>s|m|h|d|w)"
_SPEC = re.compile(
    rf"^\s*(?:(?P<value>value\s+of)\s+)?(?P<event>{_NAME})(?:\s+within\s+{_WINDOW.format(n='n', u='unit')})?"
    rf"(?:\s+(?P<user>by\s+user|after\s+exposure)|\s+after\s+(?P<anchor>{_NAME})"
    rf"(?:\s+within\s+{_WINDOW.format(n='an', u='aunit')})?)?\s*(?:\s+as\s+(?P<column>{_NAME}))?\s*$"
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_GRAMMAR = ("write '[value of] <event> within <N><s|m|h|d|w> [by user | after exposure | after <event> "
            "[within <N><unit>]] [as <column>]', e.g. 'click within 30m' or 'retention within 14d after exposure'")
EVENT_COLUMNS = ("request_id", "item_id", "event", "event_time")


@dataclass(frozen=True)
class LabelSpec:
    """One label: which event, which window, the output column, and what the window follows (``scope``:
    ``item`` the decision on the same request and item, ``user`` the exposure of the same user, ``chain`` the
    first ``anchor`` event of the same request and item within ``anchor_window``)."""

    column: str
    event: str
    window: pd.Timedelta
    aggregate: str = "any"
    scope: str = field(default="item", repr=False)
    anchor: str | None = field(default=None, repr=False)
    anchor_window: pd.Timedelta | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str, *, window: pd.Timedelta | None = None) -> LabelSpec:
        """Read a spec; ``window``, when given, is the window of a spec written without one (a readout horizon)
        and a spec that names its own window is then an error."""
        m = _SPEC.match(text)
        if not m:
            raise ConfigError(f"cannot read label spec {text!r}", fix=_GRAMMAR)
        if (m["n"] is None) == (window is None):
            fix = "leave the window out: the horizon sets it" if window is not None else _GRAMMAR
            raise ConfigError(f"label spec {text!r} {'names' if m['n'] else 'has no'} window", fix=fix)
        win = _window(m["n"], m["unit"]) if window is None else pd.Timedelta(window)
        aggregate = "sum" if m["value"] else "any"
        if aggregate == "sum" and not m["column"]:
            raise ConfigError(f"label spec {text!r} needs 'as <column>'", fix="name the output column")
        event, column = m["event"], m["column"] or m["event"]
        scope = "user" if m["user"] or (m["anchor"] or "").lower() == "exposure" else \
            "chain" if m["anchor"] else "item"
        if scope == "user" and event.startswith("repeat_") and len(event) > 7:
            event = event[len("repeat_"):]
        if scope == "user" and event == RETENTION and aggregate == "sum":
            raise ConfigError(f"label spec {text!r}: retention is 0/1 (any later request), it has no value",
                              fix="drop 'value of'")
        anchor_window = _window(m["an"], m["aunit"]) if m["an"] else None
        return cls(column=column, event=event, window=win, aggregate=aggregate, scope=scope,
                   anchor=m["anchor"] if scope == "chain" else None, anchor_window=anchor_window)

    @property
    def span(self) -> pd.Timedelta:
        """How long after the decision (or exposure) the label is known: the window, plus the anchor's for a
        chained label."""
        return self.window + (self.anchor_window if self.scope == "chain" and self.anchor_window else
                              pd.Timedelta(0))


def _window(n: str, unit: str) -> pd.Timedelta:
    return pd.Timedelta(**{_UNITS[unit]: float(n)})


def resolve_anchors(specs: Sequence[LabelSpec]) -> list[LabelSpec]:
    """Chained specs without an anchor window take the window of the plain label on their anchor event."""
    plain = {s.event: s.window for s in specs if s.scope == "item"}
    out = []
    for s in specs:
        if s.scope == "chain" and s.anchor_window is None:
            if s.anchor not in plain:
                raise ConfigError(
                    f"label {s.column!r} follows {s.anchor!r} but no window is given for {s.anchor!r}",
                    fix=f"give the anchor its window ('... after {s.anchor} within 7d'), or add a label "
                        f"'{s.anchor} within <N><unit>' to the list")
            s = replace(s, anchor_window=plain[s.anchor])
        out.append(s)
    return out


def attach_labels(
    log: DecisionLog,
    events: pd.DataFrame,
    specs: Sequence[str | LabelSpec],
    *,
    as_of: pd.Timestamp | str | None = None,
    report: ValidationReport | None = None,
    source: str | None = None,
    assume_timezone: str | None = None,
    flags: pd.DataFrame | None = None,
) -> DecisionLog:
    """A new log with one label column per spec, built from ``events``.

    Request- and chain-level labels are candidate (reward) columns, computed on shown candidates only (NaN
    elsewhere); user-level labels are request columns, computed on exposures (listed in
    ``metadata["request_labels"]``; :mod:`recsys_causal.logs.user_windows`). ``flags`` (flagged users, items
    unavailable for a whole window) excludes labels and counts them (:mod:`recsys_causal.logs.label_flags`).
    ``as_of`` defaults to the latest event time in ``events`` (the data's horizon); a window ending after it is
    immature and its label is NaN. Broken
    events (see :mod:`recsys_causal.logs.rules_events`) are quarantined and the labels they would have set are
    NaN. In ``report``, events read = used + quarantined + excluded (duplicates, not shown, before the
    decision, unused by any label, only on immature labels), each reason with a count and example ids.
    """
    events = to_pandas(events, what="attach_labels")
    src = source or "outcome events"
    require_columns(events, EVENT_COLUMNS, what="the outcome-events table", source=src, code="missing_column",
                    fix=f"provide {list(EVENT_COLUMNS)} (and 'value' for value labels)")
    parsed = resolve_anchors([s if isinstance(s, LabelSpec) else LabelSpec.parse(s) for s in specs])
    clean, horizon = _clean(events, parsed, src, as_of, assume_timezone)
    ev = clean.frame
    users = event_users(log, ev, clean.status) if any(s.scope == "user" for s in parsed) else None
    row, delay = _join(log, ev, clean)
    horizon_naive = np.datetime64(horizon.tz_convert("UTC").tz_localize(None)) if pd.notna(horizon) else None
    joined = _Joined.build(log, ev, row, delay, clean.status, horizon_naive)
    acc = _Usage(np.zeros(len(ev), dtype=bool), np.zeros(len(ev), dtype=bool))
    candidates, requests = log.candidates.copy(), log.requests.copy()
    rewards, request_labels = list(log.reward_columns), list(log.metadata.get("request_labels", ()))
    for spec in parsed:
        if spec.scope == "user":
            lab = user_label(log, spec, users, horizon_naive)
            requests[spec.column] = lab.values
            acc.add(lab.used, lab.immature_events)
            request_labels += [] if spec.column in request_labels else [spec.column]
            immature_ids = log.request_ids[lab.immature]
        else:
            values, sel, mature = (_spec_values if spec.scope == "item" else chain_values)(spec, joined)
            candidates[spec.column] = values
            mature_ev = np.zeros(len(ev), dtype=bool)
            mature_ev[row >= 0] = mature[row[row >= 0]]
            acc.add(sel & mature_ev, sel & ~mature_ev)
            rewards += [] if spec.column in rewards else [spec.column]
            immature_ids = log.request_ids[log.request_index[log.shown & ~mature]]
        if report is not None and len(immature_ids):
            _report_immature(report, spec, immature_ids, horizon)
    _account(clean, acc, users, report, src)
    out = replace(log, candidates=candidates, requests=requests, reward_columns=tuple(rewards),
                  metadata={**log.metadata, "request_labels": tuple(request_labels)})
    return out if flags is None else exclude_flagged(out, parsed, flags, report=report, source=f"{src} flags")


def _clean(events: pd.DataFrame, parsed: Sequence[LabelSpec], src: str, as_of, assume_timezone: str | None):
    """Cleaned events and the horizon (``as_of``, else the latest event time)."""
    clean = clean_events(events, src, value_events={s.event for s in parsed if s.aggregate == "sum"},
                         assume_timezone=assume_timezone)
    horizon = pd.Timestamp(as_of) if as_of is not None else clean.frame["event_time"].max()
    if horizon is not None and pd.notna(horizon) and horizon.tzinfo is None:
        raise SchemaError("as_of has no timezone", source=src, fix="pass e.g. '2026-07-01T00:00:00Z'")
    return clean, horizon


#: request-join reasons that do not apply to an event a user-level label used
_REATTRIBUTED = tuple(str(r) for r in (Reason.MISSING_EVENT_KEY, Reason.ORPHAN_OUTCOME_EVENT,
                                       Reason.OUTCOME_ON_UNSHOWN, Reason.EVENT_BEFORE_DECISION))


def _account(clean: CleanEvents, acc: _Usage, users: EventUsers | None, report: ValidationReport | None,
             src: str) -> None:
    """Final event statuses (used, immature only, not labelled) and their counts in ``report``. With user-level
    labels, events they used, and events that name their user, are judged by user, not by their request join."""
    if users is not None:
        clean.status[(acc.used | users.standalone) & np.isin(clean.status, _REATTRIBUTED)] = ""
    clean.mark(Reason.IMMATURE_LABEL, acc.immature & ~acc.used)
    clean.mark(Reason.EVENT_NOT_LABELLED, ~acc.used)
    if report is not None:
        account_events(report, clean, acc.used, src)


@dataclass(frozen=True)
class _Usage:
    """Which events some label used (mature windows) and which fell in immature windows."""

    used: np.ndarray
    immature: np.ndarray

    def add(self, used: np.ndarray, immature: np.ndarray) -> None:
        self.used[:] |= used
        self.immature[:] |= immature


def _report_immature(report: ValidationReport, spec: LabelSpec, ids: np.ndarray, horizon) -> None:
    what = {"item": "", "user": " by user", "chain": f" after {spec.anchor} within {spec.anchor_window}"}
    report.add(Reason.IMMATURE_LABEL, "info", len(ids), pd.unique(ids)[:5],
               f"label {spec.column!r} ({spec.event} within {spec.window}{what[spec.scope]}) is immature at "
               f"{horizon}: marked missing, not 0", "wait for the window to close or analyse an earlier cohort",
               spec.column, unit="labels")


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

    @classmethod
    def build(cls, log: DecisionLog, ev: pd.DataFrame, row: np.ndarray, delay: np.ndarray, status: np.ndarray,
              horizon: np.datetime64 | None) -> _Joined:
        decision = pd.DatetimeIndex(log.requests[schema.DECISION_TIME]).tz_convert("UTC").tz_localize(None)
        return cls(row, delay, status, ev["event"].to_numpy(), ev["value"].to_numpy(dtype=float),
                   decision.to_numpy()[log.request_index], horizon, log.shown)


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
