"""Catalogue of imperfect decision logs and outcome events: every request and every event is accounted for.

Each case writes a real file (CSV, Parquet, JSONL or a Hive directory) to ``tmp_path``, reads it and asserts the
typed error or the reason code, the message content (file, column, count, example ids, fix), that the input
files are byte-identical afterwards, and that the counts reconcile (read = used + quarantined + excluded) on
the validation report and, for A/B logs, on the unit-metrics result. Expected counts come from how each case
broke the data, not from the code under test.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_causal import (
    DataValidationError,
    RecsysCausalError,
    SchemaError,
    read_decision_log,
    simulate_decision_log,
    unit_metrics_from_log,
)
from recsys_causal.logs import attach_labels
from recsys_causal.simulate.ab import simulate_ab_log

# ----------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def _sim():
    return simulate_decision_log(n_requests=40, n_candidates=4, slate_size=2, seed=1, with_events=True)


def base_frame() -> pd.DataFrame:
    frame = _sim().log.to_long_frame()
    frame["decision_time"] = frame["decision_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame


def rid(k: int) -> str:
    return f"r{k:07d}"


def rows_of(f: pd.DataFrame, *ks: int) -> pd.Series:
    return f["request_id"].isin([rid(k) for k in ks])


def first_shown(f, k=0):
    return f.index[f["shown"] & rows_of(f, k)][0]


def first_hidden(f, k=0):
    return f.index[~f["shown"] & rows_of(f, k)][0]


def setcells(f, rows, col, value):
    if col in f.columns and not isinstance(value, bool | float | int) and f[col].dtype != object:
        f[col] = f[col].astype(object)
    f.loc[rows, col] = value
    return f


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith(".nested.jsonl"):  # one JSON object per request with a candidates list
        from recsys_causal import write_decision_log
        from recsys_causal.logs.model import DecisionLog

        req_cols = [c for c in frame.columns if c in ("request_id", "decision_time", "user_id", "surface")]
        requests = frame[req_cols].drop_duplicates("request_id").reset_index(drop=True)
        cand = frame[[c for c in frame.columns if c not in req_cols or c == "request_id"]]
        write_decision_log(DecisionLog.from_frames(requests, cand), path, nested=True)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def check_error(err: RecsysCausalError, path: Path, fragments, column=None) -> None:
    text = str(err)
    assert str(path) in text and "Fix:" in text, text
    for frag in fragments:
        assert frag in text, (frag, text)
    if column is not None:
        assert err.column == column and column in text


def check_issue(report, code, count, fragments, examples=None, column=None, severity=None) -> None:
    issue = report.issue(code)
    assert issue.count == count, (issue, count)
    assert issue.examples and issue.fix
    if examples is not None:
        assert set(issue.examples) <= set(examples), (issue.examples, examples)
    if column is not None:
        assert issue.column is not None and column in issue.column
    if severity is not None:
        assert issue.severity == severity
    for frag in fragments:
        assert frag in issue.message + issue.fix, (frag, str(issue))


def check_reconciled(report) -> None:
    assert report.reconciles(), report
    assert report.n_requests_read == report.n_requests_used + report.n_requests_quarantined
    assert report.n_rows_read == report.n_rows_used + report.n_rows_quarantined
    assert report.n_events_read == (report.n_events_used + sum(report.events_quarantined.values())
                                    + sum(report.events_excluded.values()))


# ----------------------------------------------------------------------------- A: decision logs
# (id, suffix, edit(frame) -> frame, read kwargs, expected error type or reason code, fragments,
#  expected count of requests, request ids hit, column)

def _null_users(f, *ks, value=None):
    return setcells(f, rows_of(f, *ks), "user_id", value)


def _shift_duplicate(f, col, value):
    """Append request 0 again under the same id but another ``col`` (a second decision reusing the id)."""
    extra = f.loc[rows_of(f, 0)].copy()
    extra[col] = value
    extra["item_id"] = extra["item_id"] + "x"
    return pd.concat([f, extra], ignore_index=True)


CASES_A = [
    ("null user_id, unit declared (csv)", ".csv", lambda f: _null_users(f, 1, 2, 3), {"unit_column": "user_id"},
     "missing_unit", ["unit"], 3, [rid(1), rid(2), rid(3)], "user_id"),
    ("null user_id, unit declared (parquet)", ".parquet", lambda f: _null_users(f, 4, 5), {"unit_column": "user_id"},
     "missing_unit", ["unit"], 2, [rid(4), rid(5)], "user_id"),
    ("null user_id, unit declared (jsonl)", ".jsonl", lambda f: _null_users(f, 6), {"unit_column": "user_id"},
     "missing_unit", ["unit"], 1, [rid(6)], "user_id"),
    ("empty-string user_id in csv", ".csv", lambda f: _null_users(f, 7, 8, value=""), {"unit_column": "user_id"},
     "missing_unit", ["unit"], 2, [rid(7), rid(8)], "user_id"),
    ("NaN user_id in parquet", ".parquet", lambda f: _null_users(f, 9, value=np.nan), {"unit_column": "user_id"},
     "missing_unit", ["unit"], 1, [rid(9)], "user_id"),
    ("null user_id, unit declared (nested jsonl)", ".nested.jsonl", lambda f: _null_users(f, 10, 11),
     {"unit_column": "user_id"}, "missing_unit", ["unit"], 2, [rid(10), rid(11)], "user_id"),
    ("null user_id, unit not declared: counted warning", ".csv", lambda f: _null_users(f, 1, 2), {},
     "missing_unit", ["unit_column='user_id'"], 2, [rid(1), rid(2)], "user_id"),
    ("unit column absent", ".csv", lambda f: f, {"unit_column": "account_id"}, SchemaError,
     ["unit column", "account_id"], None, None, "account_id"),
    ("eligible = 'ok'", ".csv", lambda f: setcells(f, first_shown(f, 3), "eligible", "ok"), {},
     "invalid_eligible", ["true/false"], 1, [rid(3)], "eligible"),
    ("eligible = 'maybe' (parquet text column)", ".parquet",
     lambda f: setcells(f.assign(eligible=f["eligible"].astype(str)), first_hidden(f, 4), "eligible", "maybe"),
     {}, "invalid_eligible", ["true/false"], 1, [rid(4)], "eligible"),
    ("shown = 'maybe'", ".csv", lambda f: setcells(f, first_shown(f, 5), "shown", "maybe"), {}, "invalid_shown",
     ["true/false"], 1, [rid(5)], "shown"),
    ("shown = '2'", ".jsonl", lambda f: setcells(f.assign(shown=f["shown"].astype(str)), first_hidden(f, 6), "shown",
                                                  "2"), {}, "invalid_shown", ["true/false"], 1, [rid(6)], "shown"),
    ("shown empty on a candidate row", ".csv", lambda f: setcells(f, first_hidden(f, 7), "shown", None), {},
     "invalid_shown", ["true/false"], 1, [rid(7)], "shown"),
    ("infinite outcome", ".parquet", lambda f: setcells(f, first_shown(f, 2), "click", np.inf), {},
     "invalid_outcome", ["finite"], 1, [rid(2)], "click"),
    ("minus infinite outcome (csv)", ".csv", lambda f: setcells(f, first_shown(f, 3), "purchase", -np.inf), {},
     "invalid_outcome", ["finite"], 1, [rid(3)], "purchase"),
    ("text in a numeric outcome column", ".csv", lambda f: setcells(f, first_shown(f, 4), "click", "yes"), {},
     "invalid_outcome", ["finite"], 1, [rid(4)], "click"),
    ("infinite outcome in a declared reward", ".parquet", lambda f: setcells(f, first_shown(f, 8), "click", np.inf),
     {"rewards": ["click"]}, "invalid_outcome", ["finite"], 1, [rid(8)], "click"),
    ("position 0", ".csv", lambda f: setcells(f, first_shown(f, 1), "position", 0.0), {}, "invalid_position",
     ["whole number"], 1, [rid(1)], "position"),
    ("negative position", ".parquet", lambda f: setcells(f, first_shown(f, 2), "position", -3.0), {},
     "invalid_position", ["whole number"], 1, [rid(2)], "position"),
    ("position 1.5", ".jsonl", lambda f: setcells(f, first_shown(f, 3), "position", 1.5), {}, "invalid_position",
     ["whole number"], 1, [rid(3)], "position"),
    ("position as text", ".csv", lambda f: setcells(f, first_shown(f, 4), "position", "first"), {},
     "invalid_position", ["whole number"], 1, [rid(4)], "position"),
    ("position beyond the candidates", ".csv", lambda f: setcells(f, first_shown(f, 5), "position", 9.0), {},
     "position_out_of_range", ["number of candidates"], 1, [rid(5)], "position"),
    ("position beyond max_position", ".parquet", lambda f: setcells(f, first_shown(f, 6), "position", 3.0),
     {"max_position": 2}, "position_out_of_range", ["max_position"], 1, [rid(6)], "position"),
    ("position 1e12", ".parquet", lambda f: setcells(f, first_shown(f, 7), "position", 1e12), {},
     "position_out_of_range", ["number of candidates"], 1, [rid(7)], "position"),
    ("request id reused at another decision time", ".csv",
     lambda f: _shift_duplicate(f, "decision_time", "2026-06-20T00:00:00.000000Z"), {},
     "inconsistent_request_fields", ["differ", "unique"], 1, [rid(0)], None),
    ("request id reused for another user", ".parquet", lambda f: _shift_duplicate(f, "user_id", "someone_else"), {},
     "inconsistent_request_fields", ["differ"], 1, [rid(0)], None),
    ("duplicate candidate rows", ".csv", lambda f: pd.concat([f, f.loc[rows_of(f, 9)]], ignore_index=True), {},
     "duplicate_candidate", ["duplicate"], 1, [rid(9)], "item_id"),
    ("null item_id", ".parquet", lambda f: setcells(f, first_hidden(f, 2), "item_id", None), {}, "missing_item_id",
     ["item_id"], 1, [rid(2)], "item_id"),
    ("null decision_time", ".csv", lambda f: setcells(f, rows_of(f, 3), "decision_time", None), {},
     "unparsable_timestamp", ["parsed"], 1, [rid(3)], "decision_time"),
    ("null propensity on a shown row", ".jsonl", lambda f: setcells(f, first_shown(f, 4), "propensity", None),
     {"require_propensity": True}, "invalid_propensity", ["propensity"], 1, [rid(4)], "propensity"),
    ("outcome on one unshown candidate (a real logging bug)", ".csv",
     lambda f: setcells(f, first_hidden(f, 5), "click", 1.0), {}, "outcome_on_unshown", ["not shown"], 1, [rid(5)],
     None),
]

# numeric columns that are not outcomes
CASES_C = [
    ("latency_ms, undeclared", ".csv", lambda f: f.assign(latency_ms=np.repeat(np.arange(40.0), 4)), {}, SchemaError,
     ["latency_ms", "request_columns", "rewards="], None, None, "latency_ms"),
    ("latency_ms as a request column", ".parquet", lambda f: f.assign(latency_ms=np.repeat(np.arange(40.0), 4)),
     {"request_columns": ["latency_ms"]}, None, [], 0, None, None),
    ("target_prob, undeclared", ".parquet", lambda f: f.assign(target_prob=0.25), {}, SchemaError,
     ["target_prob", "non_outcomes"], None, None, "target_prob"),
    ("target_prob declared a non-outcome", ".csv", lambda f: f.assign(target_prob=0.25),
     {"non_outcomes": ["target_prob"]}, None, [], 0, None, None),
    ("target_prob with rewards declared", ".jsonl", lambda f: f.assign(target_prob=0.25),
     {"rewards": ["click", "purchase"]}, None, [], 0, None, None),
    ("integer partition-like column in a flat file", ".parquet", lambda f: f.assign(day=np.int64(20260601)), {},
     SchemaError, ["day", "partition key"], None, None, "day"),
]


@pytest.mark.parametrize("case", CASES_A + CASES_C, ids=[c[0] for c in CASES_A + CASES_C])
def test_decision_log_catalogue(tmp_path, case):
    _, suffix, make, kwargs, expected, fragments, count, ids, column = case
    path = write(make(base_frame()), tmp_path / f"log{suffix}")
    before = digest(path)
    if isinstance(expected, type):
        with pytest.raises(expected) as err:
            read_decision_log(path, **kwargs)
        check_error(err.value, path, fragments, column)
        if "does not exist" not in str(err.value):  # a problem of the values: how many, and which requests
            assert err.value.count >= 1 and err.value.examples
    else:
        log, report = read_decision_log(path, **kwargs)
        check_reconciled(report)
        assert report.source == str(path)
        if expected is None:
            assert report.n_requests_quarantined == 0 and log.n_requests == 40
            assert not ({"latency_ms", "target_prob"} & set(log.reward_columns))
            if "request_columns" in kwargs:
                np.testing.assert_array_equal(log.requests["latency_ms"], np.arange(40.0))
        else:
            issue = report.issue(expected)
            check_issue(report, expected, count, fragments, ids, column)
            if issue.severity == "quarantine":
                assert report.quarantine_counts.get(expected) == count or report.n_requests_quarantined >= count
                assert set(report.quarantine.loc[report.quarantine["quarantine_reason"] == expected,
                                                 "request_id"]) <= set(ids)
                assert not set(ids) & set(log.request_ids)
            else:  # a warning keeps the requests
                assert set(ids) <= set(log.request_ids) and log.n_requests == report.n_requests_read
    assert digest(path) == before


def test_hive_integer_partition_key_is_not_an_outcome(tmp_path):
    frame = base_frame().assign(hour=np.repeat(np.arange(40) % 3, 4))
    root = tmp_path / "logs"
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), root, partition_cols=["hour"])
    before = digest(root)
    log, report = read_decision_log(root)
    check_reconciled(report)
    assert report.n_requests_quarantined == 0 and log.n_requests == 40
    assert "hour" not in log.reward_columns and set(log.reward_columns) == {"click", "purchase", "hide"}
    assert digest(root) == before


# decimals: the outcome is read, not ignored, with the values of the file
def test_decimal128_outcome_column_is_an_outcome(tmp_path):
    frame = base_frame()
    revenue = np.where(frame["shown"], np.round(np.arange(len(frame)) * 0.25, 2), np.nan)
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(
        "revenue", pa.array([None if np.isnan(v) else decimal.Decimal(f"{v:.2f}") for v in revenue],
                            type=pa.decimal128(9, 2)))
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    before = digest(path)
    log, report = read_decision_log(path)
    check_reconciled(report)
    assert "revenue" in log.reward_columns and report.n_requests_quarantined == 0
    got = log.to_long_frame().set_index(["request_id", "item_id"])["revenue"]
    want = pd.Series(revenue, index=pd.MultiIndex.from_frame(frame[["request_id", "item_id"]]))
    np.testing.assert_allclose(got.loc[want.index].to_numpy(), want.to_numpy(), equal_nan=True)
    assert digest(path) == before


@pytest.mark.parametrize("bad", [decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")])
def test_python_decimal_objects(bad):
    frame = base_frame()
    values = [decimal.Decimal("1.5") if s else None for s in frame["shown"]]
    values[first_shown(frame, 2)] = bad
    frame["revenue"] = pd.Series(values, dtype=object)
    copy = frame.copy()
    log, report = read_decision_log(frame)
    check_reconciled(report)
    check_issue(report, "invalid_outcome", 1, ["finite"], [rid(2)], "revenue")
    assert "revenue" in log.reward_columns
    assert np.nanmax(log.reward("revenue")) == 1.5
    pd.testing.assert_frame_equal(frame, copy)


# ----------------------------------------------------------------------------- nothing left to analyse

CASES_D = [
    ("every timestamp unparsable", lambda f: f.assign(decision_time="not a time"), {}, ["unparsable_timestamp"]),
    ("every position zero", lambda f: f.assign(position=np.where(f["shown"], 0.0, np.nan)), {},
     ["invalid_position"]),
    ("every user missing with unit declared", lambda f: f.assign(user_id=None), {"unit_column": "user_id"},
     ["missing_unit", "40"]),
    ("filters exclude every row", lambda f: f, {"filters": "future"}, ["outside the filters"]),
    ("header only", lambda f: f.iloc[:0], {}, ["no rows"]),
]


def _kwargs(kwargs):
    from recsys_causal import LogFilters

    if kwargs.get("filters") == "future":
        return {**kwargs, "filters": LogFilters(start="2030-01-01T00:00:00Z")}
    return kwargs


@pytest.mark.parametrize("case", CASES_D, ids=[c[0] for c in CASES_D])
def test_nothing_left_is_a_typed_error(tmp_path, case):
    _, make, kwargs, fragments = case
    path = write(make(base_frame()), tmp_path / "log.csv")
    before = digest(path)
    with pytest.raises(DataValidationError) as err:
        read_decision_log(path, **_kwargs(kwargs))
    check_error(err.value, path, ["nothing left to analyse", "allow_empty=True", *fragments])
    log, report = read_decision_log(path, allow_empty=True, **_kwargs(kwargs))
    assert log.n_requests == 0
    check_reconciled(report)
    assert digest(path) == before


def test_labels_on_an_empty_log_do_not_raise(tmp_path):
    path = write(base_frame().assign(decision_time="nope"), tmp_path / "log.csv")
    events = write(_events(), tmp_path / "events.parquet")
    log, report = read_decision_log(path, allow_empty=True, outcome_events=events, labels=["click within 30d"],
                                    as_of="2027-01-01T00:00:00Z")
    assert log.n_requests == 0 and "click" in log.reward_columns
    assert report.events_quarantined == {"orphan_outcome_event": len(_events())}
    check_reconciled(report)


def test_hive_filters_excluding_everything(tmp_path):
    from recsys_causal import LogFilters, write_partitioned_log

    root = write_partitioned_log(_sim().log, tmp_path / "logs")
    before = digest(root)
    with pytest.raises(DataValidationError, match="nothing left"):
        read_decision_log(root, filters=LogFilters(start="2031-01-01T00:00:00Z"))
    assert digest(root) == before


# ----------------------------------------------------------------------------- B: outcome events

LABELS = ["click within 30d", "value of click within 30d as click_value"]
AS_OF = "2027-06-01T00:00:00Z"


def _events() -> pd.DataFrame:
    ev = _sim().outcome_events.copy()
    ev = ev.loc[ev["event"] == "click"].reset_index(drop=True)
    ev["event_time"] = ev["event_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ev


def _truth() -> pd.Series:
    log = _sim().log
    return pd.Series(log.reward("click"), index=pd.MultiIndex.from_arrays(
        [log.request_ids[log.request_index], log.candidates["item_id"].to_numpy()]))


def _broken(ev, k, col, value):
    ev = ev.copy()
    if ev[col].dtype != object:
        ev[col] = ev[col].astype(object)
    ev.loc[k, col] = value
    return ev


def _shown_unclicked(ev):
    """A (request, item) that was shown and has no click event."""
    truth = _truth()
    keys = set(zip(ev["request_id"], ev["item_id"], strict=True))
    return next(k for k, v in truth.items() if v == 0 and k not in keys)


def _unshown(ev):
    truth = _truth()
    return next(k for k, v in truth.items() if np.isnan(v))


def _event_on(ev, key, when="2026-06-20T00:00:00.000000Z"):
    extra = ev.iloc[[0]].copy()
    extra[["request_id", "item_id", "event_time"]] = [key[0], key[1], when]
    return pd.concat([ev, extra], ignore_index=True)


# (id, suffix, edit(events) -> events, kwargs, expected error or reason, fragments, count, NaN labels at the
#  (request, item) of event k (None: no label changes), column)
CASES_B = [
    ("unparsable event_time", ".csv", lambda e: _broken(e, 0, "event_time", "2026-13-45T99:00:00Z"), {},
     "unparsable_event_time", ["parsed", "missing, not 0"], 1, 0, "event_time"),
    ("empty event_time", ".parquet", lambda e: _broken(e, 1, "event_time", None), {}, "unparsable_event_time",
     ["parsed"], 1, 1, "event_time"),
    ("one naive event_time among aware ones", ".csv", lambda e: _broken(e, 2, "event_time", "2026-06-10T10:00:00"),
     {}, "naive_event_time", ["timezone"], 1, 2, "event_time"),
    ("every event_time naive", ".csv", lambda e: e.assign(event_time=e["event_time"].str.rstrip("Z")), {},
     SchemaError, ["no timezone", "assume_timezone"], None, None, "event_time"),
    ("every event_time naive, timezone assumed", ".jsonl", lambda e: e.assign(event_time=e["event_time"].str.rstrip(
        "Z")), {"assume_timezone": "UTC"}, None, [], 0, None, None),
    ("numeric event_time", ".parquet", lambda e: e.assign(event_time=1.78e9), {}, SchemaError, ["numeric"], None,
     None, "event_time"),
    ("no event_time parses", ".csv", lambda e: e.assign(event_time="yesterday"), {}, SchemaError,
     ["none of the", "ISO-8601"], None, None, "event_time"),
    ("non-numeric value", ".csv", lambda e: _broken(e, 0, "value", "a lot"), {}, "invalid_event_value",
     ["finite number"], 1, 0, "value"),
    ("infinite value", ".parquet", lambda e: _broken(e, 1, "value", np.inf), {}, "invalid_event_value",
     ["finite number"], 1, 1, "value"),
    ("empty value for a value label", ".parquet", lambda e: _broken(e, 2, "value", None), {}, "invalid_event_value",
     ["finite number"], 1, 2, "value"),
    ("value column with no number", ".csv", lambda e: e.assign(value="one"), {}, SchemaError, ["holds no numbers"],
     None, None, "value"),
    ("decimal values", ".parquet", lambda e: e.assign(value=[decimal.Decimal("1.00")] * len(e)), {}, None, [], 0,
     None, None),
    ("event for an unknown request", ".csv", lambda e: _event_on(e, ("r9999999", "i00001")), {},
     "orphan_outcome_event", ["match no logged candidate"], 1, None, "request_id"),
    ("event for an unknown item of a known request", ".jsonl", lambda e: _event_on(e, (rid(3), "no_such_item")), {},
     "orphan_outcome_event", ["unknown item"], 1, None, "item_id"),
    # an event without request_id cannot be attributed: counted, and its candidate's label reads 0 (documented)
    ("event without request_id", ".parquet", lambda e: _broken(e, 0, "request_id", None), {}, "missing_event_key",
     ["without request_id"], 1, ("lost", 0), "request_id"),
    ("event without event name", ".csv", lambda e: _broken(e, 3, "event", None), {}, "missing_event_key",
     ["event name"], 1, 3, "request_id"),
    ("exact duplicate event", ".csv", lambda e: pd.concat([e, e.iloc[[0]]], ignore_index=True), {},
     "duplicate_outcome_event", ["deduplicated"], 1, None, "request_id"),
    ("event on a not-shown candidate", ".parquet", lambda e: _event_on(e, _unshown(e)), {}, "outcome_on_unshown",
     ["not-shown"], 1, None, "request_id"),
    ("event before its decision", ".csv", lambda e: _event_on(e, _shown_unclicked(e), "2020-01-01T00:00:00Z"), {},
     "event_before_decision", ["earlier"], 1, None, "request_id"),
]


@pytest.mark.parametrize("case", CASES_B, ids=[c[0] for c in CASES_B])
def test_outcome_event_catalogue(tmp_path, case):
    _, suffix, make, kwargs, expected, fragments, count, broken_k, column = case
    ev = make(_events())
    log_path = write(base_frame().drop(columns=["click", "purchase", "hide"]), tmp_path / "log.parquet")
    ev_path = write(ev, tmp_path / f"events{suffix}")
    before = digest(log_path), digest(ev_path)
    read = functools.partial(read_decision_log, log_path, outcome_events=ev_path, labels=LABELS, as_of=AS_OF,
                             **kwargs)
    if isinstance(expected, type):
        with pytest.raises(expected) as err:
            read()
        check_error(err.value, ev_path, fragments, column)
        assert err.value.count >= 1 and err.value.examples
    else:
        log, report = read()
        check_reconciled(report)
        truth = _truth()
        got = pd.Series(log.reward("click"), index=truth.index)
        value = pd.Series(log.reward("click_value"), index=truth.index)
        want = truth.copy()
        if expected is not None:
            check_issue(report, expected, count, fragments, column=column)
            issue = report.issue(expected)
            assert str(ev_path) in issue.message
            if issue.severity == "quarantine":
                assert report.events_quarantined[expected] == count
                assert (report.event_quarantine["quarantine_reason"] == expected).sum() == count
            else:
                assert report.events_excluded[expected] == count
        if broken_k is not None:  # the label the broken event would have set is missing, never 0
            lost = isinstance(broken_k, tuple)
            k = broken_k[1] if lost else broken_k
            key = (str(_events().loc[k, "request_id"]), str(_events().loc[k, "item_id"]))
            assert truth[key] == 1.0
            want[key] = 0.0 if lost else np.nan
        pd.testing.assert_series_equal(got, want, check_names=False)
        # every click has value 1: the summed value equals the 0/1 label (dedup keeps it so)
        pd.testing.assert_series_equal(value, want, check_names=False)
        assert report.n_events_read == len(ev)
    assert (digest(log_path), digest(ev_path)) == before


def test_events_on_a_quarantined_request_are_counted(tmp_path):
    frame = base_frame().drop(columns=["click", "purchase", "hide"])
    frame = setcells(frame, first_shown(frame, 0), "position", 0.0)  # request r0 is quarantined
    ev = _events()
    n_r0 = int((ev["request_id"] == rid(0)).sum())
    ev = pd.concat([ev, _event_on(ev, (rid(0), frame.loc[first_shown(frame, 0), "item_id"])).iloc[[-1]]],
                   ignore_index=True)
    n_r0 += 1
    _, report = read_decision_log(frame, outcome_events=ev, labels=LABELS, as_of=AS_OF)
    check_reconciled(report)
    assert report.events_quarantined["orphan_outcome_event"] == n_r0
    assert "quarantined" in report.issue("orphan_outcome_event").message


def test_unused_event_names_are_excluded_and_counted():
    ev = _events()
    ev = pd.concat([ev, ev.iloc[:3].assign(event="share")], ignore_index=True)
    log, report = read_decision_log(base_frame().drop(columns=["click", "purchase", "hide"]), outcome_events=ev,
                                    labels=["click within 30d"], as_of=AS_OF)
    assert report.events_excluded == {"event_not_labelled": 3}
    assert report.n_events_used == len(ev) - 3
    check_reconciled(report)


def test_attach_labels_on_empty_log_directly():
    log = _sim().log.select_requests(np.zeros(_sim().log.n_requests, dtype=bool))
    out = attach_labels(log, _events(), ["click within 30d"], as_of=AS_OF)
    assert out.n_candidates == 0 and out.reward("click").size == 0


# ----------------------------------------------------------------------------- E: unit metrics

@functools.lru_cache(maxsize=1)
def _ab():
    req, cand, _ = simulate_ab_log(n_users=150, seed=4)
    return req, cand


def ab_frame() -> pd.DataFrame:
    req, cand = _ab()
    frame = req.merge(cand, on="request_id")
    frame["decision_time"] = frame["decision_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame


def _ab_requests(frame, n, seed=0):
    ids = frame["request_id"].drop_duplicates().sample(n, random_state=seed).tolist()
    return frame["request_id"].isin(ids), ids


def _ab_null(col, n, value=None):
    def edit(f):
        rows, ids = _ab_requests(f, n)
        return setcells(f, rows, col, value), ids
    return edit


def _ab_multi(f):
    user = f.drop_duplicates("request_id")["user_id"].value_counts().index[0]
    rows = f.index[f["user_id"] == user]
    other = "treatment" if f.loc[rows[0], "variant"] == "control" else "control"
    last = f.loc[rows, "request_id"].iloc[-1]
    f = setcells(f, f["request_id"] == last, "variant", other)
    return f, f.loc[rows, "request_id"].unique().tolist()


def _ab_null_account(f):
    f = f.assign(account_id=f["user_id"].str.replace("u", "a"))
    rows, ids = _ab_requests(f, 8, seed=5)
    return setcells(f, rows, "account_id", None), ids


def _ab_other_experiment(f):
    rows, ids = _ab_requests(f, 7, seed=3)
    return setcells(f, rows, "experiment_id", "another"), ids


# (id, suffix, edit(frame) -> (frame, affected request ids), unit-metrics kwargs, reason, kind)
CASES_E = [
    ("null user_id (parquet)", ".parquet", _ab_null("user_id", 30), {}, "missing_unit", "quarantined"),
    ("null user_id (csv)", ".csv", _ab_null("user_id", 12), {}, "missing_unit", "quarantined"),
    ("empty user_id (csv)", ".csv", _ab_null("user_id", 5, ""), {}, "missing_unit", "quarantined"),
    ("null user_id (jsonl)", ".jsonl", _ab_null("user_id", 9), {}, "missing_unit", "quarantined"),
    ("NaN user_id (parquet)", ".parquet", _ab_null("user_id", 4, np.nan), {}, "missing_unit", "quarantined"),
    ("null variant", ".parquet", _ab_null("variant", 6), {}, "missing_variant", "quarantined"),
    ("null in another unit column (account_id)", ".csv", _ab_null_account, {"unit_col": "account_id"},
     "missing_unit", "quarantined"),
    ("unit in two variants", ".csv", _ab_multi, {}, "multi_variant_unit", "quarantined"),
    ("another experiment", ".parquet", _ab_other_experiment, {"experiment_id": "__exp__"}, "other_experiment",
     "excluded"),
    ("30% of users missing (the report's A/B path)", ".parquet", _ab_null("user_id", 300), {}, "missing_unit",
     "quarantined"),
]


@pytest.mark.parametrize("case", CASES_E, ids=[c[0] for c in CASES_E])
def test_unit_metrics_accounting(tmp_path, case):
    _, suffix, make, kwargs, reason, kind = case
    frame = ab_frame()
    if "experiment_id" in kwargs:
        kwargs = {"experiment_id": frame["experiment_id"].iloc[0]}
    frame, ids = make(frame)
    path = write(frame, tmp_path / f"ab{suffix}")
    before = digest(path)
    log, report = read_decision_log(path, request_columns=["latency_ms", "account_id"])
    check_reconciled(report)
    assert report.n_requests_used == frame["request_id"].nunique()  # nothing dropped at the edge
    um = unit_metrics_from_log(log, window="7D", as_of="2026-12-01T00:00:00Z", **kwargs)
    counts = um.requests_quarantined if kind == "quarantined" else um.requests_excluded
    assert counts[reason] == len(ids)
    assert um.reconciles() and um.n_requests_read == log.n_requests
    assert um.n_requests_used == log.n_requests - um.n_requests_quarantined - um.n_requests_excluded
    table = um.accounting().set_index("requests")["count"]
    assert table["read"] == table.drop("read").sum()
    assert f"{kind}: {reason}" in table.index
    if kind == "quarantined" and reason != "multi_variant_unit":
        assert set(um.quarantine_examples[reason]) <= set(ids) and um.quarantine_examples[reason]
    assert digest(path) == before


def test_missing_unit_declared_at_read_reconciles_through_unit_metrics(tmp_path):
    frame, ids = _ab_null("user_id", 20)(ab_frame())
    path = write(frame, tmp_path / "ab.parquet")
    log, report = read_decision_log(path, unit_column="user_id", request_columns=["latency_ms"])
    assert report.quarantine_counts == {"missing_unit": 20}
    um = unit_metrics_from_log(log, window="7D", as_of="2026-12-01T00:00:00Z")
    assert um.requests_quarantined == {} and um.reconciles()
    assert report.n_requests_read == um.n_requests_used + um.n_requests_excluded + report.n_requests_quarantined


def test_immature_units_are_excluded_and_counted():
    req, cand = _ab()
    from recsys_causal.logs.model import DecisionLog

    log = DecisionLog.from_frames(req, cand)
    as_of = pd.Timestamp("2026-03-12T00:00:00Z")  # first exposures run to 03-15: some windows are open
    um = unit_metrics_from_log(log, window="7D", as_of=as_of)
    first = req.groupby("user_id")["decision_time"].transform("min")
    immature_users = req.loc[first + pd.Timedelta("7D") > as_of, "user_id"].unique()
    in_window = req["decision_time"] < first + pd.Timedelta("7D")
    want = int((req["user_id"].isin(immature_users) & in_window).sum())
    assert um.requests_excluded["immature_unit"] == want > 0
    assert um.requests_excluded["outside_window"] == int((~in_window).sum())
    assert um.reconciles()


CATALOGUE = {
    "data accounting: decision logs": CASES_A,
    "data accounting: non-outcome numeric columns": CASES_C,
    "data accounting: nothing left to analyse": CASES_D,
    "data accounting: outcome events": CASES_B,
    "data accounting: unit metrics": CASES_E,
}

PROMISES = {
    "data accounting: decision logs": "every request read is used or quarantined under a reason code (missing unit, "
                                      "invalid booleans, outcomes and positions), with file, column, count, ids and fix",
    "data accounting: non-outcome numeric columns": "a numeric column that is not an outcome never quarantines most "
                                                    "of the log silently: typed error naming the column and the fix",
    "data accounting: nothing left to analyse": "a log with nothing usable is a typed error with counts by reason, "
                                                "unless allow_empty=True",
    "data accounting: outcome events": "broken events are a typed error or a counted quarantine; the labels they "
                                       "would set are missing, never 0; events read = used + quarantined + excluded",
    "data accounting: unit metrics": "requests without a unit or variant are counted, never dropped by a group-by; "
                                     "read = used + quarantined + excluded",
}
