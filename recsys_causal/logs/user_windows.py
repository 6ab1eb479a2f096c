"""User-level and chained label windows, vectorised with one ``searchsorted`` per label (no loop over users).

**User-level** labels (``retention within 14d after exposure``, ``repeat_purchase within 30d by user``) are
request columns: on every exposure (a request with at least one shown candidate) of user ``u`` at time ``t``,

* ``retention``: 1 if ``u`` has another logged request with decision time in ``(t, t + w]`` (start excluded:
  the exposure itself does not count), else 0;
* any other event: 1 (or the summed ``value`` with ``value of``) if an event of that name by ``u``, on any item,
  has its time in ``[t, t + w]`` (both ends included, as for request-level labels), else 0. An event's user is
  its ``user_id`` column when the events table has one, else the user of its request.

**Chained** labels (``return within 30d after purchase within 7d``) are candidate columns: on a shown candidate
decided at ``t``, the window opens at its first ``purchase`` in ``[t, t + 7d]`` and the label is 1 if a
``return`` of the same request and item falls in ``[p, p + 30d]``; 0 without a purchase or a return.

Maturity does not look at the outcome: a user-level label is known when ``t + w <= as_of``, a chained one when
``t + anchor window + w <= as_of``; otherwise it is missing (NaN), never 0. A quarantined event (unparsable
time, invalid value) that could fall in a window makes a 0 label missing (and a summed one always).

>>> import pandas as pd
>>> from recsys_causal.logs.model import DecisionLog
>>> req = pd.DataFrame({"request_id": ["r1", "r2"], "user_id": ["u", "u"],
...                     "decision_time": pd.to_datetime(["2026-06-01", "2026-06-10"], utc=True)})
>>> cand = pd.DataFrame({"request_id": ["r1", "r2"], "item_id": ["a", "b"], "shown": [True, True],
...                      "position": [1, 1]})
>>> log = DecisionLog.from_frames(req, cand)
>>> ev = pd.DataFrame(columns=["request_id", "item_id", "event", "event_time"])
>>> from recsys_causal.logs.labels import attach_labels
>>> out = attach_labels(log, ev, ["retention within 9d after exposure"], as_of="2026-07-01T00:00:00Z")
>>> out.requests["retention"].tolist()  # r2 is 9 days after r1 (end included); nothing follows r2
[1.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import Reason
from recsys_causal.logs.rules_events import clean_events
from recsys_causal.logs.window_sums import window_sums

USER_ID = "user_id"
RETENTION = "retention"
NAT = np.iinfo(np.int64).min
#: event statuses (set while cleaning) that still leave an event usable for a user-level label
_USER_USABLE = ("", str(Reason.MISSING_EVENT_KEY))
#: statuses after which a user-level label that the event could touch is unknown
_USER_BROKEN = tuple(str(r) for r in (Reason.UNPARSABLE_EVENT_TIME, Reason.NAIVE_EVENT_TIME,
                                      Reason.INVALID_EVENT_VALUE))


@dataclass(frozen=True)
class EventUsers:
    """Every event's user code (-1: unknown), time (int64 ns, ``NAT`` when unknown), name and value, the
    statuses it had after cleaning, the user code of every request of the log, and which events are user-level
    by construction (a ``user_id``, a name and a time, whatever their request and item)."""

    code: np.ndarray
    time: np.ndarray
    names: np.ndarray
    value: np.ndarray
    status: np.ndarray
    request_code: np.ndarray
    request_time: np.ndarray
    standalone: np.ndarray
    user_index: pd.Index


def user_events(log: DecisionLog, events: pd.DataFrame | None, source: str = "outcome events",
                assume_timezone: str | None = None, user_col: str = USER_ID) -> EventUsers:
    """Clean ``events`` (:func:`~recsys_causal.logs.rules_events.clean_events`) and resolve their users (the
    ``user_col`` of the log, e.g. the randomisation unit); no events (``None``) is enough for retention."""
    ev = pd.DataFrame(columns=["request_id", "item_id", "event", "event_time"]) if events is None else events
    clean = clean_events(ev, source, value_events=set(), assume_timezone=assume_timezone)
    return event_users(log, clean.frame, clean.status, user_col)


def event_users(log: DecisionLog, ev: pd.DataFrame, status: np.ndarray, user_col: str = USER_ID) -> EventUsers:
    """Resolve each event's user (its ``user_col``, else its request's) before the request join."""
    req = log.requests
    log_users = req[user_col] if user_col in req.columns else pd.Series([None] * len(req))
    by_request = pd.Series(log_users.to_numpy(), index=log.request_ids.astype(str))
    by_request = by_request[~by_request.index.duplicated()]
    users = ev["request_id"].astype("string").map(by_request)
    own = ev[user_col].notna().to_numpy() if user_col in ev.columns else np.zeros(len(ev), dtype=bool)
    if own.any():
        users = ev[user_col].where(ev[user_col].notna(), users)
    all_users = pd.concat([log_users.astype("string"), users.astype("string")], ignore_index=True)
    codes, uniques = pd.factorize(all_users, use_na_sentinel=True)
    t = ev["event_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    times = np.where(pd.isna(t), NAT, t.astype(np.int64))
    names = ev["event"].to_numpy(object)
    standalone = own & ~pd.isna(names) & (times != NAT) & np.isin(status, _USER_USABLE)
    return EventUsers(codes[len(req):].astype(np.int64), times, names, ev["value"].to_numpy(dtype=float),
                      status.copy(), codes[:len(req)].astype(np.int64), _decision_ns(log), standalone,
                      pd.Index(uniques))


@dataclass(frozen=True)
class UserLabel:
    """One user-level label per request, which events it used (mature windows) and which fell only in
    immature windows."""

    values: np.ndarray
    used: np.ndarray
    immature_events: np.ndarray
    immature: np.ndarray


def user_label(log: DecisionLog, spec, users: EventUsers, horizon: np.datetime64 | None) -> UserLabel:
    """The user-level label ``spec`` on every request (see the module docstring)."""
    t_req = _decision_ns(log)
    exposed = log.per_request_sum(log.shown.astype(np.float64)) > 0
    window = np.int64(spec.window.value)
    mature = np.zeros(len(t_req), bool) if horizon is None else t_req + window <= np.int64(
        pd.Timestamp(horizon).value)
    anchor = np.where(exposed & (users.request_code >= 0), users.request_code, -1)
    values, ws = _values_at(anchor, t_req, spec, users)
    values[~exposed | ~mature] = np.nan
    if ws is None:
        no_events = np.zeros(len(users.code), dtype=bool)
        return UserLabel(values, no_events, no_events, exposed & ~mature)
    return UserLabel(values, ws.events_in(exposed & mature), ws.events_in(exposed & ~mature), exposed & ~mature)


def values_after(users: EventUsers, spec, unit_ids, times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """The user-level label ``spec`` of each unit after its own anchor time (e.g. its first exposure), with
    ``spec.window``; maturity is the caller's (a unit table holds only units whose window has closed)."""
    anchor = users.user_index.get_indexer(pd.Index(pd.Series(unit_ids).astype("string")))
    t = pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    return _values_at(anchor.astype(np.int64), t, spec, users)[0]


def _values_at(anchor: np.ndarray, t: np.ndarray, spec, users: EventUsers):
    """Label values at anchors (user code, time ns; -1: no user, NaN) and the window sums over events (None for
    retention); a 0 (or any summed) value a broken event could change is NaN."""
    window = np.int64(spec.window.value)
    if spec.event == RETENTION:
        ws = window_sums(anchor, t, users.request_code, users.request_time, np.ones(len(users.request_code)),
                         window, include_start=False)
        return np.where(anchor >= 0, (ws.counts > 0).astype(float), np.nan), None
    named = users.names == spec.event
    ok = named & np.isin(users.status, _USER_USABLE) & (users.code >= 0) & (users.time != NAT)
    weight = np.nan_to_num(users.value) if spec.aggregate == "sum" else np.ones(len(users.code))
    ws = window_sums(anchor, t, np.where(ok, users.code, -1), users.time, weight, window, include_start=True)
    values = ws.sums.copy() if spec.aggregate == "sum" else (ws.counts > 0).astype(float)
    touched = _touched(anchor, t, window, users, named | pd.isna(users.names))
    if spec.aggregate == "any":
        touched &= values == 0
    values[touched | (anchor < 0)] = np.nan
    return values, ws


def _touched(anchor: np.ndarray, t_req: np.ndarray, window: np.int64, users: EventUsers,
             named: np.ndarray) -> np.ndarray:
    """Exposures whose window a broken event of the label's name (or of no name) could fall in: in the window
    when its time is known, any exposure of its user when not."""
    broken = named & (users.code >= 0) & (np.isin(users.status, _USER_BROKEN) | (
        (users.status == str(Reason.MISSING_EVENT_KEY)) & pd.isna(users.names)))
    known = broken & (users.time != NAT)
    hit = window_sums(anchor, t_req, np.where(known, users.code, -1), users.time, np.ones(len(users.code)),
                      window, include_start=True).counts > 0
    unknown_users = np.unique(users.code[broken & (users.time == NAT)])
    return hit | ((anchor >= 0) & np.isin(anchor, unknown_users))


def chain_values(spec, j) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chained label ``spec`` on every candidate (NaN where not shown, immature or touched by a broken
    event), the events it used, and which candidates' chains are closed; ``j`` the events joined to candidates
    (:class:`recsys_causal.logs.labels._Joined`)."""
    n = len(j.shown)
    aw, w = np.int64(spec.anchor_window.value), np.int64(spec.window.value)
    known = (j.row >= 0) & ~pd.isna(j.delay)
    t_ev = np.full(len(j.row), NAT, dtype=np.int64)
    t_ev[known] = j.decision[j.row[known]].astype("datetime64[ns]").astype(np.int64) + \
        j.delay[known].astype(np.int64)
    ok = known & (j.status == "")
    is_anchor = ok & (j.names == spec.anchor) & (j.delay <= np.timedelta64(aw, "ns"))
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, j.row[is_anchor], t_ev[is_anchor])
    has = first < np.iinfo(np.int64).max
    is_ev = ok & (j.names == spec.event)
    weight = np.nan_to_num(j.value) if spec.aggregate == "sum" else np.ones(len(j.row))
    ws = window_sums(np.where(has, np.arange(n), -1), np.where(has, first, 0), np.where(is_ev, j.row, -1), t_ev,
                     weight, w, include_start=True)
    values = ws.sums.copy() if spec.aggregate == "sum" else (ws.counts > 0).astype(float)
    first_anchor = is_anchor & (t_ev == first[np.maximum(j.row, 0)])
    sel = first_anchor | ws.events_in(has)
    broken = (j.row >= 0) & np.isin(j.status, _USER_BROKEN + (str(Reason.MISSING_EVENT_KEY),)) & (
        np.isin(j.names, [spec.anchor, spec.event]) | pd.isna(j.names))
    touched = np.zeros(n, dtype=bool)
    touched[j.row[broken]] = True
    if spec.aggregate == "any":
        touched &= values == 0
    decision = j.decision.astype("datetime64[ns]").astype(np.int64)
    mature = np.zeros(n, bool) if j.horizon is None else decision + aw + w <= np.int64(
        pd.Timestamp(j.horizon).value)
    values[~j.shown | ~mature | touched] = np.nan
    return values, sel, mature


def _decision_ns(log: DecisionLog) -> np.ndarray:
    t = pd.DatetimeIndex(log.requests[schema.DECISION_TIME]).tz_convert("UTC").tz_localize(None)
    return t.to_numpy("datetime64[ns]").astype(np.int64)
