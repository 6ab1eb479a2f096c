"""Validation at the edge: a long candidate table → a trusted :class:`DecisionLog` plus a report.

Fatal problems (a missing required column, timezone-naive timestamps, a column of the wrong type) raise a typed
error. Row-level problems quarantine the whole affected request with a reason code; warnings keep the rows.

>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "request_id": ["r1", "r1", "r2", "r2"],
...     "decision_time": ["2026-01-01T10:00:00Z"] * 4,
...     "item_id": ["a", "b", "a", "a"],          # r2 logs item a twice
...     "shown": [True, False, True, False], "position": [1, None, 1, None]})
>>> log, report = validate_long_frame(frame, source="example")
>>> log.n_requests, report.quarantine_counts
(1, {'duplicate_candidate': 1})
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.logs import grouped, rules, schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.parsing import RequestIds, coerce_failures, decision_times, numeric, parse_bool
from recsys_causal.logs.report import QUARANTINE_ORDER, Reason, ValidationReport


@dataclass(frozen=True)
class ValidationOptions:
    """What validation requires.

    ``require_propensity``: shown candidates must carry a logging propensity in (0, 1] (needed for OPE).
    ``full_candidate_set``: the log holds every candidate, so propensities at one position may not sum above
    ``1 + propensity_tolerance``. ``assume_timezone``: localise timezone-naive timestamps to this zone instead
    of failing. ``as_of``: decisions after this time are quarantined as future timestamps (default: now).
    ``rewards``: outcome columns (default: every numeric non-reserved candidate column not in ``non_outcomes``).
    ``request_columns``: extra request-level columns (e.g. ``latency_ms``), kept on the request table and never
    outcomes. ``unit_column``: the randomisation unit; requests without one are quarantined as ``missing_unit``.
    ``max_position``: shown positions above it are quarantined as ``position_out_of_range``.
    """

    require_propensity: bool = False
    full_candidate_set: bool = True
    propensity_tolerance: float = 1e-6
    assume_timezone: str | None = None
    as_of: pd.Timestamp | None = None
    rewards: tuple[str, ...] | None = None
    non_outcomes: tuple[str, ...] = ()
    request_columns: tuple[str, ...] = ()
    unit_column: str | None = None
    max_position: int | None = None

    @property
    def all_request_columns(self) -> tuple[str, ...]:
        return schema.REQUEST_COLUMNS + tuple(c for c in self.request_columns if c not in schema.REQUEST_COLUMNS)


def validate_long_frame(
    frame: pd.DataFrame, *, source: str | None = None, options: ValidationOptions | None = None
) -> tuple[DecisionLog, ValidationReport]:
    """Validate a long table (one row per candidate, request columns repeated) into a log and a report."""
    opts = options or ValidationOptions()
    src = source or "data"
    frame = frame.reset_index(drop=True)
    required = schema.REQUIRED_REQUEST_COLUMNS + schema.REQUIRED_CANDIDATE_COLUMNS
    require_columns(frame, required + ((schema.PROPENSITY,) if opts.require_propensity else ()),
                    message="missing required column(s) {missing}", source=src, code="missing_column",
                    fix="add them (see decision_logs/SCHEMA.md)",
                    reserved=schema.REQUEST_COLUMNS + schema.CANDIDATE_COLUMNS)
    rewards = rules.outcome_columns(frame, src, rewards=opts.rewards,
                                    non_outcomes=opts.non_outcomes + opts.request_columns)
    cols = _parse(frame, src, opts, rewards)
    report = ValidationReport(source=source, n_rows_read=len(frame))
    report.n_requests_read = len(cols.uniques)
    rid_missing = cols.codes < 0
    if rid_missing.any():  # rows that belong to no request
        report.add(Reason.MISSING_REQUEST_ID, "quarantine", int(rid_missing.sum()), [], "rows without request_id",
                   "log a request_id on every row", column=schema.REQUEST_ID, unit="rows")
    flags = _Flags(cols.codes, len(cols.uniques))
    _request_flags(flags, frame, cols, opts, src)
    _candidate_flags(flags, frame, cols, opts, src)
    keep = _quarantine(report, frame, flags.hits, cols, {
        Reason.MISSING_UNIT: opts.unit_column, Reason.INVALID_OUTCOME: ", ".join(cols.bad_values) or None})
    _warn_kept_rows(report, frame, keep, cols, opts)
    log = _build_log(frame, keep, cols, rewards, src, opts.all_request_columns)
    _warn_request_level(report, log)
    return log, report


# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Columns:
    """The long frame's columns, parsed: request codes (-1 without a request id) and ids, decision times, items,
    empty rows (a request logged without candidates), flags, positions, propensities and outcomes, with the rows
    whose values could not be read."""

    codes: np.ndarray
    uniques: np.ndarray
    ids: RequestIds
    time: pd.Series
    item: pd.Series
    empty_row: np.ndarray
    shown: np.ndarray
    shown_bad: np.ndarray
    position: np.ndarray
    propensity: np.ndarray
    eligible: np.ndarray
    eligible_bad: np.ndarray
    reward_values: dict[str, np.ndarray]
    bad_values: dict[str, np.ndarray]


def _parse(frame: pd.DataFrame, src: str, opts: ValidationOptions, rewards: tuple[str, ...]) -> _Columns:
    runs = grouped.run_codes(frame[schema.REQUEST_ID])
    if runs is not None:
        codes, uniques = runs
    else:
        codes, uniques = pd.factorize(frame[schema.REQUEST_ID].astype("string"), use_na_sentinel=True)
        uniques = np.asarray(uniques.astype(str))
    ids = RequestIds(codes, uniques)
    time = decision_times(frame[schema.DECISION_TIME], src, opts.assume_timezone, ids)
    item = frame[schema.ITEM_ID]
    empty_row = item.isna().to_numpy() & frame[schema.SHOWN].isna().to_numpy()
    shown, shown_bad = parse_bool(frame[schema.SHOWN], empty_row)
    eligible, eligible_bad = (
        parse_bool(frame[schema.ELIGIBLE], frame[schema.ELIGIBLE].isna().to_numpy(), default=True)
        if schema.ELIGIBLE in frame.columns else (np.ones(len(frame), dtype=bool), np.zeros(len(frame), dtype=bool))
    )
    reward_values, bad_values = rules.outcome_values(frame, rewards)
    return _Columns(codes, uniques, ids, time, item, empty_row, shown, shown_bad, numeric(frame, schema.POSITION),
                    numeric(frame, schema.PROPENSITY), eligible, eligible_bad, reward_values, bad_values)


class _Flags:
    """Per quarantine reason, the requests it hits (a boolean per request)."""

    def __init__(self, codes: np.ndarray, n_req: int) -> None:
        self.codes, self.n_req, self.hits = codes, n_req, {}
        self.grouped = grouped.is_grouped(codes)

    def rows(self, reason: Reason, rows: np.ndarray) -> None:
        """Flag the requests of ``rows`` (rows without a request id are counted apart)."""
        if not rows.any():
            return
        rows = rows if self.grouped else rows & (self.codes >= 0)
        hit = np.zeros(self.n_req, dtype=bool)
        hit[self.codes[rows]] = True
        self.requests(reason, hit)

    def requests(self, reason: Reason, hit: np.ndarray) -> None:
        """Flag the requests where ``hit``."""
        if hit.any():
            self.hits[reason] = self.hits[reason] | hit if reason in self.hits else hit


def _request_flags(flags: _Flags, frame: pd.DataFrame, c: _Columns, opts: ValidationOptions, src: str) -> None:
    """Rules on request-level fields, items and true/false flags."""
    flags.rows(Reason.UNPARSABLE_TIMESTAMP, c.time.isna().to_numpy())
    ref = opts.as_of if opts.as_of is not None else pd.Timestamp.now(tz="UTC")
    flags.rows(Reason.FUTURE_TIMESTAMP, (c.time > ref).to_numpy())
    flags.requests(Reason.INCONSISTENT_REQUEST_FIELDS,
                   rules.inconsistent_requests(frame, c.codes, c.time, opts.all_request_columns, flags.grouped))
    if opts.unit_column is not None:
        flags.rows(Reason.MISSING_UNIT, rules.missing_unit_rows(frame, opts.unit_column, src))
    flags.rows(Reason.EMPTY_REQUEST, c.empty_row)
    flags.rows(Reason.MISSING_ITEM_ID, c.item.isna().to_numpy() & ~c.empty_row)
    flags.rows(Reason.INVALID_SHOWN, c.shown_bad)
    flags.rows(Reason.INVALID_ELIGIBLE, c.eligible_bad)
    items = grouped.arrow_strings(c.item) if flags.grouped else None
    if items is not None:
        flags.requests(Reason.DUPLICATE_CANDIDATE, grouped.duplicate_requests(c.codes, items, flags.n_req))
    else:
        item_codes = pd.factorize(c.item.astype("string"), use_na_sentinel=True)[0]
        flags.rows(Reason.DUPLICATE_CANDIDATE, grouped.duplicated_pairs(c.codes, item_codes) & (item_codes >= 0))


def _candidate_flags(flags: _Flags, frame: pd.DataFrame, c: _Columns, opts: ValidationOptions, src: str) -> None:
    """Rules on positions, propensities and outcomes of candidates."""
    has_pos, slots = _position_flags(flags, frame, c, opts)
    if opts.require_propensity:
        flags.rows(Reason.INVALID_PROPENSITY,
                   c.shown & (np.isnan(c.propensity) | (c.propensity <= 0) | (c.propensity > 1)))
    if opts.full_candidate_set and schema.PROPENSITY in frame.columns:
        ok = has_pos & ~np.isnan(c.propensity) & (c.codes >= 0)
        if slots is not None and not (ok & ~slots).any():
            # every (request, position) group holds one row: its sum is its propensity
            flags.rows(Reason.PROPENSITY_SUM_EXCEEDS_ONE, ok & (c.propensity > 1 + opts.propensity_tolerance))
        else:
            sums = pd.DataFrame({"r": c.codes[ok], "p": c.position[ok], "v": c.propensity[ok]}
                                ).groupby(["r", "p"])["v"].sum()
            over = sums[sums > 1 + opts.propensity_tolerance]
            if len(over):
                hit = np.zeros(flags.n_req, dtype=bool)
                hit[over.index.get_level_values(0).to_numpy()] = True
                flags.requests(Reason.PROPENSITY_SUM_EXCEEDS_ONE, hit)
    for bad in c.bad_values.values():
        flags.rows(Reason.INVALID_OUTCOME, bad)
    flags.rows(Reason.OUTCOME_ON_UNSHOWN, rules.unshown_outcome_rows(
        c.reward_values, c.shown, c.empty_row, c.codes, flags.n_req, declared=opts.rewards is not None, src=src,
        uniques=c.uniques))


def _position_flags(flags: _Flags, frame: pd.DataFrame, c: _Columns, opts: ValidationOptions,
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Position rules; returns the rows with a position and the shown rows with a valid position when no two
    of those share a (request, position), else ``None`` for the latter."""
    position, shown = c.position, c.shown
    has_pos = ~np.isnan(position)
    at = np.flatnonzero(has_pos)
    p = position[at]
    bad_pos = np.zeros(len(position), dtype=bool)
    bad_pos[at[(p < 1) | (np.floor(p) != p)]] = True
    flags.rows(Reason.INVALID_POSITION, bad_pos | coerce_failures(frame, schema.POSITION))
    out_of_range = rules.position_out_of_range(np.where(bad_pos, np.nan, position) if bad_pos.any() else position,
                                               shown, c.codes, full_candidate_set=opts.full_candidate_set,
                                               max_position=opts.max_position)
    flags.rows(Reason.POSITION_OUT_OF_RANGE, out_of_range)
    flags.rows(Reason.SHOWN_WITHOUT_POSITION, shown & ~has_pos)
    sel = shown & has_pos & ~bad_pos & ~out_of_range
    rows = np.zeros(len(frame), dtype=bool)
    rows[sel] = grouped.duplicated_pairs(c.codes[sel], position[sel].astype(np.int64))
    flags.rows(Reason.DUPLICATE_POSITION, rows)
    return has_pos, None if rows.any() else sel


def _quarantine(report: ValidationReport, frame: pd.DataFrame, flags: dict, c: _Columns, columns: dict,
                ) -> np.ndarray:
    """Give each flagged request its first reason in :data:`QUARANTINE_ORDER`, fill the report's quarantine
    counts, issues and table, and return the rows that are kept."""
    n_req = len(c.uniques)
    primary = np.full(n_req, "", dtype=object)
    for reason in QUARANTINE_ORDER:
        if reason in flags:
            primary[(primary == "") & flags[reason]] = str(reason)
    quarantined_req = primary != ""
    # code -1 (no request_id) indexes the appended last entry
    row_quarantined = (np.append(quarantined_req, True)[c.codes] if quarantined_req.any() or (c.codes < 0).any()
                       else np.zeros(len(c.codes), dtype=bool))
    found = primary[quarantined_req]
    report.quarantine_counts = {str(r): n for r in QUARANTINE_ORDER if (n := int((found == str(r)).sum()))}
    _describe_quarantine(report, flags, c.uniques, columns)
    q = frame.loc[row_quarantined].copy() if row_quarantined.any() else frame.iloc[:0].copy()
    q.insert(0, "quarantine_reason", np.append(primary, str(Reason.MISSING_REQUEST_ID))[c.codes[row_quarantined]])
    report.quarantine = q.reset_index(drop=True)
    keep = ~row_quarantined
    report.n_requests_used = int(n_req - quarantined_req.sum())
    report.n_rows_used = int(keep.sum())
    return keep


def _warn_kept_rows(report: ValidationReport, frame: pd.DataFrame, keep: np.ndarray, c: _Columns,
                    opts: ValidationOptions) -> None:
    _warn(report, Reason.SHOWN_INELIGIBLE, keep & c.shown & ~c.eligible, c.ids,
          "shown candidates marked ineligible (a serving policy violation)",
          "check the eligibility filters in serving; these rows are kept", schema.ELIGIBLE)
    if opts.unit_column is None and "user_id" in frame.columns:
        _warn(report, Reason.MISSING_UNIT, keep & frame["user_id"].isna().to_numpy(), c.ids,
              "requests without user_id are kept here, but an A/B analysis by user cannot use them",
              "log user_id on every request, or pass unit_column='user_id' to quarantine them here", "user_id")


def _describe_quarantine(report: ValidationReport, flags: dict, uniques, columns: dict) -> None:
    for reason in QUARANTINE_ORDER:
        if reason not in flags:
            continue
        hit = flags[reason]
        msg, fix, col = rules.MESSAGES[reason]
        report.add(reason, "quarantine", int(hit.sum()), uniques[np.nonzero(hit)[0][:5]], msg, fix,
                   columns.get(reason, col))


def _warn(report, reason, rows, ids: RequestIds, message, fix, column) -> None:
    if rows.any():
        found = ids.examples(rows)
        report.add(reason, "warning", int(len(found)), found[:5], message, fix, column)


def _build_log(frame: pd.DataFrame, keep: np.ndarray, c: _Columns, rewards: tuple[str, ...], src: str,
               request_columns: tuple[str, ...]) -> DecisionLog:
    """The kept rows as a log: one request row per request, its candidates grouped in first-appearance order
    (no copy of a column when every row is kept and the rows are already grouped)."""
    every = bool(keep.all())
    kept = frame if every else frame.loc[keep]
    k_codes = _kept(c.codes, keep, every)
    in_order = grouped.is_grouped(k_codes)  # then first-appearance order is row order
    first = (grouped.run_starts(k_codes) if in_order
             else np.flatnonzero(~pd.Series(k_codes).duplicated().to_numpy()))
    requests = _request_table(kept, first, _kept(c.time.array, keep, every),
                              [col for col in request_columns if col in frame.columns])
    empty = _kept(c.item.isna().to_numpy(), keep, every)
    data = {col: kept[col] for col in frame.columns if col not in request_columns}
    data[schema.ITEM_ID] = data[schema.ITEM_ID].astype("string")
    data[schema.SHOWN] = _kept(c.shown, keep, every)
    data[schema.POSITION] = _kept(c.position, keep, every)
    if schema.PROPENSITY in frame.columns:
        data[schema.PROPENSITY] = _kept(c.propensity, keep, every)
    data[schema.ELIGIBLE] = _kept(c.eligible, keep, every)
    for r in rewards:
        data[r] = _kept(c.reward_values[r], keep, every)
    for col in list(data):
        if ((str(col).startswith((schema.PREDICTION_PREFIX, schema.FEATURE_PREFIX)) or col == "score")
                and data[col].dtype != np.float64):
            data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    cand = pd.DataFrame(data, copy=False)
    if in_order:
        sizes = np.diff(np.append(first, len(k_codes)))
        if empty.any():
            sizes -= np.add.reduceat(empty.astype(np.int64), first)
            cand = cand[~empty]
    else:  # order candidates by request (first appearance), stable
        req_order = pd.factorize(k_codes)[0]
        order = np.argsort(req_order, kind="stable")
        cand = cand.iloc[order][~empty[order]]
        sizes = np.bincount(req_order[~empty], minlength=len(requests))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return DecisionLog(requests, cand.reset_index(drop=True), offsets, tuple(rewards), src)


def _kept(values, keep: np.ndarray, every: bool):
    return values if every else values[keep]


def _request_table(kept: pd.DataFrame, first: np.ndarray, time, req_cols: list[str]) -> pd.DataFrame:
    """The first row of each request (positions ``first`` of the kept rows) with typed request columns."""
    requests = grouped.take_rows(kept[req_cols], first)
    requests[schema.REQUEST_ID] = requests[schema.REQUEST_ID].astype(str)
    requests[schema.DECISION_TIME] = pd.to_datetime(time[first], utc=True)
    if "slate_propensity" in requests.columns:
        requests["slate_propensity"] = pd.to_numeric(requests["slate_propensity"], errors="coerce").astype(float)
    for col in req_cols:
        if col in schema.OPTIONAL_REQUEST_COLUMNS and col != "slate_propensity":
            requests[col] = requests[col].astype("string")
    return requests


def _warn_request_level(report: ValidationReport, log: DecisionLog) -> None:
    for col in ("ranking_policy_version", "exploration_policy_version"):
        if col in log.requests.columns:
            counts = log.requests[col].value_counts(dropna=False)
            if len(counts) > 1:
                report.add(
                    Reason.MIXED_POLICY_VERSIONS, "warning", int(log.n_requests), [str(v) for v in counts.index[:5]],
                    f"{len(counts)} values of {col} in one log (" +
                    ", ".join(f"{k}: {v}" for k, v in counts.head(5).items()) + ")",
                    f"estimates assume one logging policy; analyse per version with log.stratify({col!r})", col,
                )
    if "slate_propensity" in log.requests.columns:
        sp = log.requests["slate_propensity"].to_numpy(dtype=float)
        bad = ~np.isnan(sp) & ((sp <= 0) | (sp > 1))
        if bad.any():
            report.add(Reason.INVALID_SLATE_PROPENSITY, "warning", int(bad.sum()), log.request_ids[bad][:5],
                       "slate_propensity outside (0, 1]", "slate estimators will refuse these requests; "
                       "log the joint probability of the slate", "slate_propensity")
