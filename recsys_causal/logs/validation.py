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

from recsys_causal.errors import SchemaError
from recsys_causal.logs import rules, schema
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import QUARANTINE_ORDER, Reason, ValidationReport

_TRUE = {"true", "1", "t", "yes", "y", "1.0"}
_FALSE = {"false", "0", "f", "no", "n", "0.0"}


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
    _check_required_columns(frame, src, opts)
    rewards = rules.outcome_columns(frame, src, rewards=opts.rewards,
                                    non_outcomes=opts.non_outcomes + opts.request_columns)

    rid = frame[schema.REQUEST_ID]
    rid_missing = rid.isna().to_numpy()
    codes, uniques = pd.factorize(rid.astype("string"), use_na_sentinel=True)
    uniques = np.asarray(uniques.astype(str))
    ids = _Ids(codes, uniques)
    time = _parse_times(frame[schema.DECISION_TIME], src, opts, ids)
    item = frame[schema.ITEM_ID]
    empty_row = item.isna().to_numpy() & _all_na(frame, [schema.SHOWN])
    shown, shown_bad = _parse_bool(frame[schema.SHOWN], empty_row)
    position = _numeric(frame, schema.POSITION, src)
    propensity = _numeric(frame, schema.PROPENSITY, src)
    eligible, eligible_bad = (
        _parse_bool(frame[schema.ELIGIBLE], frame[schema.ELIGIBLE].isna().to_numpy(), default=True)
        if schema.ELIGIBLE in frame.columns else (np.ones(len(frame), dtype=bool), np.zeros(len(frame), dtype=bool))
    )
    reward_values, bad_values = rules.outcome_values(frame, rewards)

    report = ValidationReport(source=source, n_rows_read=len(frame))
    n_req = len(uniques)
    report.n_requests_read = n_req
    flags: dict[Reason, np.ndarray] = {}  # reason → per-request boolean

    def flag_rows(reason: Reason, rows: np.ndarray) -> None:
        rows = rows & (codes >= 0)
        hit = np.zeros(n_req, dtype=bool)
        hit[codes[rows]] = True
        if hit.any():
            flags[reason] = flags.get(reason, np.zeros(n_req, dtype=bool)) | hit

    # rows that belong to no request
    if rid_missing.any():
        report.add(Reason.MISSING_REQUEST_ID, "quarantine", int(rid_missing.sum()), [], "rows without request_id",
                   "log a request_id on every row", column=schema.REQUEST_ID, unit="rows")

    flag_rows(Reason.UNPARSABLE_TIMESTAMP, time.isna().to_numpy())
    ref = opts.as_of if opts.as_of is not None else pd.Timestamp.now(tz="UTC")
    flag_rows(Reason.FUTURE_TIMESTAMP, (time > ref).to_numpy())
    flag_rows(Reason.INCONSISTENT_REQUEST_FIELDS, _inconsistent_request_rows(frame, codes, time, opts))
    columns = {Reason.MISSING_UNIT: opts.unit_column, Reason.INVALID_OUTCOME: ", ".join(bad_values) or None}
    if opts.unit_column is not None:
        flag_rows(Reason.MISSING_UNIT, rules.missing_unit_rows(frame, opts.unit_column, src))
    flag_rows(Reason.EMPTY_REQUEST, empty_row)
    flag_rows(Reason.MISSING_ITEM_ID, item.isna().to_numpy() & ~empty_row)
    flag_rows(Reason.INVALID_SHOWN, shown_bad)
    flag_rows(Reason.INVALID_ELIGIBLE, eligible_bad)
    item_codes = pd.factorize(item.astype("string"), use_na_sentinel=True)[0]
    dup = _duplicated_pairs(codes, item_codes) & (item_codes >= 0)
    flag_rows(Reason.DUPLICATE_CANDIDATE, dup)
    has_pos = ~np.isnan(position)
    bad_pos = has_pos & ((position < 1) | (np.floor(position) != position))
    flag_rows(Reason.INVALID_POSITION, bad_pos | _coerce_failures(frame, schema.POSITION))
    out_of_range = rules.position_out_of_range(np.where(bad_pos, np.nan, position), shown, codes,
                                               full_candidate_set=opts.full_candidate_set,
                                               max_position=opts.max_position)
    flag_rows(Reason.POSITION_OUT_OF_RANGE, out_of_range)
    flag_rows(Reason.SHOWN_WITHOUT_POSITION, shown & ~has_pos)
    sel = shown & has_pos & ~bad_pos & ~out_of_range
    rows = np.zeros(len(frame), dtype=bool)
    rows[sel] = _duplicated_pairs(codes[sel], position[sel].astype(np.int64))
    flag_rows(Reason.DUPLICATE_POSITION, rows)
    if opts.require_propensity:
        bad_prop = shown & (np.isnan(propensity) | (propensity <= 0) | (propensity > 1))
        flag_rows(Reason.INVALID_PROPENSITY, bad_prop)
    if opts.full_candidate_set and schema.PROPENSITY in frame.columns:
        ok = has_pos & ~np.isnan(propensity) & (codes >= 0)
        sums = pd.DataFrame({"r": codes[ok], "p": position[ok], "v": propensity[ok]}).groupby(["r", "p"])["v"].sum()
        over = sums[sums > 1 + opts.propensity_tolerance]
        if len(over):
            hit = np.zeros(n_req, dtype=bool)
            hit[over.index.get_level_values(0).to_numpy()] = True
            flags[Reason.PROPENSITY_SUM_EXCEEDS_ONE] = hit
    for rows in bad_values.values():
        flag_rows(Reason.INVALID_OUTCOME, rows)
    flag_rows(Reason.OUTCOME_ON_UNSHOWN, rules.unshown_outcome_rows(
        reward_values, shown, empty_row, codes, n_req, declared=opts.rewards is not None, src=src, uniques=uniques))

    # primary reason per request, quarantine table
    primary = np.full(n_req, "", dtype=object)
    for reason in QUARANTINE_ORDER:
        if reason in flags:
            primary[(primary == "") & flags[reason]] = str(reason)
    quarantined_req = primary != ""
    # code -1 (no request_id) indexes the appended last entry
    row_primary = np.append(primary, str(Reason.MISSING_REQUEST_ID))[codes]
    row_quarantined = np.append(quarantined_req, True)[codes]
    report.quarantine_counts = {
        str(r): int((primary == str(r)).sum()) for r in QUARANTINE_ORDER if (primary == str(r)).any()
    }
    _describe_quarantine(report, flags, uniques, columns)
    q = frame.loc[row_quarantined].copy()
    q.insert(0, "quarantine_reason", row_primary[row_quarantined])
    report.quarantine = q.reset_index(drop=True)

    keep = ~row_quarantined
    report.n_requests_used = int(n_req - quarantined_req.sum())
    report.n_rows_used = int(keep.sum())

    # warnings on kept rows
    _warn(report, Reason.SHOWN_INELIGIBLE, keep & shown & ~eligible, ids,
          "shown candidates marked ineligible (a serving policy violation)",
          "check the eligibility filters in serving; these rows are kept", schema.ELIGIBLE)
    if opts.unit_column is None and "user_id" in frame.columns:
        _warn(report, Reason.MISSING_UNIT, keep & frame["user_id"].isna().to_numpy(), ids,
              "requests without user_id are kept here, but an A/B analysis by user cannot use them",
              "log user_id on every request, or pass unit_column='user_id' to quarantine them here", "user_id")

    log = _build_log(frame, keep, codes, time, shown, position, propensity, eligible, reward_values, rewards, src,
                     opts.all_request_columns)
    _warn_request_level(report, log)
    return log, report


# ----------------------------------------------------------------------------- helpers


def _check_required_columns(frame: pd.DataFrame, src: str, opts: ValidationOptions) -> None:
    required = list(schema.REQUIRED_REQUEST_COLUMNS + schema.REQUIRED_CANDIDATE_COLUMNS)
    if opts.require_propensity:
        required.append(schema.PROPENSITY)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"missing required column(s) {missing}", source=src, column=missing[0], count=len(missing),
            fix=f"add them (see decision_logs/SCHEMA.md); columns present: {sorted(map(str, frame.columns))[:20]}",
            code="missing_column",
        )


def _all_na(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return frame[cols].isna().all(axis=1).to_numpy()


def _parse_bool(col: pd.Series, allowed_missing: np.ndarray, default: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return col.to_numpy(dtype=bool), np.zeros(len(col), dtype=bool)
    text = col.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    missing = col.isna().to_numpy()
    bad = ~(is_true | is_false) & ~(missing & allowed_missing)
    value = np.where(missing, default, is_true)
    return value.astype(bool), bad


def _numeric(frame: pd.DataFrame, name: str, src: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _coerce_failures(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[name]
    return (pd.to_numeric(col, errors="coerce").isna() & col.notna()).to_numpy()


class _Ids:
    """Example request ids for row masks, from factorised codes (no per-row string objects)."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray) -> None:
        self.codes, self.uniques = codes, uniques

    def examples(self, rows: np.ndarray) -> np.ndarray:
        c = self.codes[rows]
        return self.uniques[pd.unique(c[c >= 0])]

    def subset(self, rows: np.ndarray) -> _Ids:
        return _Ids(self.codes[rows], self.uniques)


def _duplicated_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows whose (a, b) integer pair occurs more than once."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    key = a.astype(np.int64) * (int(b.max()) + 2) + (b.astype(np.int64) + 1)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse] > 1


def _parse_times(col: pd.Series, src: str, opts: ValidationOptions, ids: _Ids) -> pd.Series:
    """Timezone-aware UTC timestamps; NaT where a value cannot be parsed. Naive timestamps are fatal."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(col):
        return _localize_or_fail(col, src, opts, ids, np.ones(len(col), dtype=bool))
    if pd.api.types.is_numeric_dtype(col):
        raise SchemaError(
            "decision_time is numeric; its unit and timezone are ambiguous", source=src,
            column=schema.DECISION_TIME, fix="store ISO-8601 timestamps with an offset, e.g. 2026-06-01T10:00:00Z",
            code="bad_type",
        )
    text = col.astype("string").str.strip()
    has_tz = text.str.contains(schema.TZ_SUFFIX).fillna(False).to_numpy(dtype=bool)
    # microsecond resolution: far-future values (year 2999) parse and are quarantined, not overflow
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[us, UTC]")
    if has_tz.any():
        parsed_tz = pd.to_datetime(text[has_tz], errors="coerce", utc=True, format="ISO8601")
        out.loc[parsed_tz.index] = parsed_tz.dt.as_unit("us")
    naive = ~has_tz & text.notna().to_numpy()
    if naive.any():
        parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        good = parsed.notna().to_numpy()
        if good.any():
            local = _localize_or_fail(parsed[good], src, opts, ids.subset(naive).subset(good),
                                      np.ones(good.sum(), bool))
            out.loc[local.index] = local.dt.as_unit("us")
    return out


def _localize_or_fail(col, src, opts, ids: _Ids, mask) -> pd.Series:
    if opts.assume_timezone is None:
        raise SchemaError(
            f"{int(mask.sum())} decision_time values have no timezone", source=src, column=schema.DECISION_TIME,
            count=int(mask.sum()), examples=ids.examples(mask)[:5],
            fix="write timestamps with an offset (e.g. ...Z) or pass assume_timezone='UTC' if they are UTC",
            code="naive_timestamp",
        )
    return col.dt.tz_localize(opts.assume_timezone).dt.tz_convert("UTC")


def _inconsistent_request_rows(frame: pd.DataFrame, codes: np.ndarray, time: pd.Series,
                               opts: ValidationOptions) -> np.ndarray:
    """Rows of requests whose request-level columns differ between their candidate rows."""
    cols = [c for c in opts.all_request_columns if c in frame.columns and c != schema.REQUEST_ID]
    bad = np.zeros(len(frame), dtype=bool)
    valid = codes >= 0
    if not valid.any():
        return bad
    n_req = int(codes.max()) + 1
    first = np.full(n_req, -1, dtype=np.int64)
    rows = np.nonzero(valid)[0]
    present, first_pos = np.unique(codes[rows], return_index=True)
    first[present] = rows[first_pos]  # first row of each request
    hit = np.zeros(n_req, dtype=bool)
    for c in cols:
        values = time if c == schema.DECISION_TIME else frame[c]
        v_codes, _ = pd.factorize(values, use_na_sentinel=True)
        differs = valid & (v_codes != v_codes[first[np.maximum(codes, 0)]])
        hit[codes[differs]] = True
    return valid & hit[np.maximum(codes, 0)]


def _describe_quarantine(report: ValidationReport, flags: dict, uniques, columns: dict) -> None:
    for reason in QUARANTINE_ORDER:
        if reason not in flags:
            continue
        hit = flags[reason]
        msg, fix, col = rules.MESSAGES[reason]
        report.add(reason, "quarantine", int(hit.sum()), uniques[np.nonzero(hit)[0][:5]], msg, fix,
                   columns.get(reason, col))


def _warn(report, reason, rows, ids: _Ids, message, fix, column) -> None:
    if rows.any():
        found = ids.examples(rows)
        report.add(reason, "warning", int(len(found)), found[:5], message, fix, column)


def _build_log(frame, keep, codes, time, shown, position, propensity, eligible, reward_values, rewards, src,
               request_columns):
    kept = frame if keep.all() else frame.loc[keep]
    k_codes = codes[keep]
    req_cols = [c for c in request_columns if c in frame.columns]
    first = ~pd.Series(k_codes).duplicated().to_numpy()
    requests = kept.loc[first, req_cols].reset_index(drop=True)
    requests[schema.REQUEST_ID] = requests[schema.REQUEST_ID].astype(str)
    requests[schema.DECISION_TIME] = time[keep][first].to_numpy()
    requests[schema.DECISION_TIME] = pd.to_datetime(requests[schema.DECISION_TIME], utc=True)
    if "slate_propensity" in requests.columns:
        requests["slate_propensity"] = pd.to_numeric(requests["slate_propensity"], errors="coerce").astype(float)
    for c in req_cols:
        if c in schema.OPTIONAL_REQUEST_COLUMNS and c != "slate_propensity":
            requests[c] = requests[c].astype("string")
    # order candidates by request (first appearance), stable
    req_order = pd.factorize(k_codes)[0]
    order = np.argsort(req_order, kind="stable")
    empty = (frame[schema.ITEM_ID].isna().to_numpy() & keep)[keep]
    cand_cols = [c for c in frame.columns if c not in request_columns]
    cand = kept[cand_cols].copy()
    cand[schema.ITEM_ID] = cand[schema.ITEM_ID].astype("string")
    cand[schema.SHOWN] = shown[keep]
    cand[schema.POSITION] = position[keep]
    if schema.PROPENSITY in frame.columns:
        cand[schema.PROPENSITY] = propensity[keep]
    cand[schema.ELIGIBLE] = eligible[keep]
    for c in rewards:
        cand[c] = reward_values[c][keep]
    for c in cand.columns:
        if str(c).startswith(schema.PREDICTION_PREFIX) or str(c).startswith(schema.FEATURE_PREFIX) or c == "score":
            cand[c] = pd.to_numeric(cand[c], errors="coerce").astype(float)
    cand = cand.iloc[order][~empty[order]].reset_index(drop=True)
    sizes = np.bincount(req_order[~empty], minlength=len(requests))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return DecisionLog(requests, cand, offsets, tuple(rewards), src)


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
