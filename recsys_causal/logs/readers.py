"""Read decision logs from files, directories or DataFrames, validating them once at the edge.

Formats: long Parquet / CSV (one row per candidate), nested JSONL / Parquet (one record per request with a
``candidates`` list), a pandas DataFrame (long), and a directory of Hive-partitioned Parquet read through
DuckDB with time, surface and policy-version filters pushed down.

>>> import pandas as pd
>>> frame = pd.DataFrame({"request_id": ["r1", "r1"], "decision_time": ["2026-01-01T10:00:00Z"] * 2,
...                       "item_id": ["a", "b"], "shown": [True, False], "position": [1, None],
...                       "click": [1.0, None]})
>>> log, report = read_decision_log(frame)
>>> log.n_requests, report.n_requests_quarantined
(1, 0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_causal.caveats import emits_caveats
from recsys_causal.checks import require_columns
from recsys_causal.errors import InputFileError, SchemaError
from recsys_causal.frames import as_pandas
from recsys_causal.logs import schema
from recsys_causal.logs.labels import LabelSpec, attach_labels
from recsys_causal.logs.model import DecisionLog
from recsys_causal.logs.report import Reason, ValidationReport
from recsys_causal.logs.validation import ValidationOptions, validate_long_frame
from recsys_causal.logs.writers import (  # noqa: F401  (re-exported: the writers live beside the readers)
    to_nested_table,
    write_decision_log,
    write_partitioned_log,
)

FORMATS = ("parquet", "csv", "jsonl", "dataframe", "hive")


@dataclass(frozen=True)
class LogFilters:
    """Row filters applied while reading (pushed down into DuckDB for Hive-partitioned directories).

    ``start``/``end`` bound ``decision_time`` (start inclusive, end exclusive); ``surfaces`` and
    ``policy_versions`` (``ranking_policy_version``) keep only the listed values.
    """

    start: pd.Timestamp | str | None = None
    end: pd.Timestamp | str | None = None
    surfaces: Sequence[str] | None = None
    policy_versions: Sequence[str] | None = None

    def is_empty(self) -> bool:
        return self.start is None and self.end is None and not self.surfaces and not self.policy_versions


class ReadResult(NamedTuple):
    """``log, report = read_decision_log(...)``."""

    log: DecisionLog
    report: ValidationReport


@dataclass
class _Source:
    name: str
    format: str
    frame: pd.DataFrame | None = None
    path: Path | None = None
    extra: dict = field(default_factory=dict)


@emits_caveats(of=lambda read: read.report)
def read_decision_log(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    format: str | None = None,
    rewards: Sequence[str] | None = None,
    require_propensity: bool = False,
    full_candidate_set: bool = True,
    propensity_tolerance: float = 1e-6,
    assume_timezone: str | None = None,
    as_of: pd.Timestamp | str | None = None,
    filters: LogFilters | None = None,
    outcome_events: pd.DataFrame | str | os.PathLike[str] | None = None,
    labels: Sequence[str] | None = None,
    non_outcomes: Sequence[str] = (),
    request_columns: Sequence[str] = (),
    unit_column: str | None = None,
    max_position: int | None = None,
    allow_empty: bool = False,
) -> ReadResult:
    """Read and validate a decision log; returns ``(log, report)``.

    ``format`` is inferred from the suffix (``.parquet``, ``.csv``, ``.jsonl``/``.ndjson``/``.json``) or a
    directory (Hive-partitioned Parquet). Nested Parquet/JSONL is detected by its ``candidates`` column.
    ``outcome_events`` with ``labels`` (e.g. ``["click within 30m", "purchase within 7d"]``) adds label
    columns; with ``as_of``, labels whose window has not closed are missing and counted. Input files are only
    read, never modified.

    Outcome columns are ``rewards`` when given, else every numeric candidate column that is not reserved and not
    in ``non_outcomes`` (the partition keys of a Hive directory are never outcomes); ``request_columns`` are
    extra request-level columns (e.g. ``latency_ms``). ``unit_column`` quarantines requests without a unit
    (``missing_unit``); ``max_position`` quarantines shown positions above it. A log with no usable request
    raises :class:`~recsys_causal.errors.DataValidationError` (counts by reason) unless ``allow_empty=True``.
    """
    source, outcome_events = as_pandas(source), as_pandas(outcome_events)
    as_of_ts = _timestamp(as_of, "as_of")
    filters = filters or LogFilters()
    src = _open(source, format, filters)
    label_cols = {LabelSpec.parse(s).column if isinstance(s, str) else s.column for s in labels or ()}
    opts = ValidationOptions(
        require_propensity=require_propensity, full_candidate_set=full_candidate_set,
        propensity_tolerance=propensity_tolerance, assume_timezone=assume_timezone, as_of=as_of_ts,
        rewards=None if rewards is None else tuple(r for r in rewards if r not in label_cols),
        non_outcomes=tuple(non_outcomes) + tuple(src.extra.get("partition_keys", ())),
        request_columns=tuple(request_columns), unit_column=unit_column, max_position=max_position,
    )
    frame, n_filtered = src.frame, 0
    if src.format != "hive" and not filters.is_empty():
        frame, n_filtered = _apply_filters(frame, filters, src.name)
    log, report = validate_long_frame(frame, source=src.name, options=opts)
    _text_types(report, src.extra.get("dictionary_columns", ()))
    if n_filtered:
        report.add(Reason.FILTERED, "info", n_filtered, [], "rows outside the requested filters were not read",
                   "widen the filters to include them", unit="rows")
    if log.n_requests == 0 and not allow_empty:
        raise report.nothing_left_error(n_filtered)
    if labels:
        log = _with_labels(log, report, src.name, outcome_events, labels, rewards, as_of=as_of_ts,
                           assume_timezone=assume_timezone)
    log.metadata["validation"] = report
    return ReadResult(log, report)


def _with_labels(log: DecisionLog, report: ValidationReport, name: str,
                 outcome_events: pd.DataFrame | str | os.PathLike[str] | None, labels: Sequence[str],
                 rewards: Sequence[str] | None, *, as_of: pd.Timestamp | None,
                 assume_timezone: str | None) -> DecisionLog:
    """``log`` with the label columns computed from ``outcome_events``; ``rewards``, when given, become its
    outcome columns (each an outcome of the log or a label)."""
    if outcome_events is None:
        raise InputFileError("labels were given without outcome_events", source=name,
                             fix="pass outcome_events=<table or file> with the labels")
    events = outcome_events if isinstance(outcome_events, pd.DataFrame) else _open(
        outcome_events, None, LogFilters()).frame
    ev_name = "outcome events" if isinstance(outcome_events, pd.DataFrame) else str(outcome_events)
    log = attach_labels(log, events, labels, as_of=as_of, report=report, source=ev_name,
                        assume_timezone=assume_timezone)
    if rewards is None:
        return log
    require_columns(log.reward_columns, rewards, message="reward column(s) {missing} do not exist", source=name,
                    fix="name outcome columns of the log or labels")
    return replace(log, reward_columns=tuple(rewards))


# ----------------------------------------------------------------------------- opening sources


def _open(source, format: str | None, filters: LogFilters) -> _Source:
    if isinstance(source, pd.DataFrame):
        return _Source("DataFrame", "dataframe", frame=source.copy())
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise InputFileError("file or directory does not exist", source=name, fix="check the path")
    fmt = format or _infer_format(path)
    if fmt not in FORMATS:
        raise InputFileError(f"unknown format {fmt!r}", source=name, fix=f"use one of {list(FORMATS)}")
    if path.is_dir():
        if fmt != "hive":
            raise InputFileError("path is a directory", source=name,
                                 fix="give a file, or a directory of Hive-partitioned Parquet files")
        keys = sorted({part.split("=", 1)[0] for f in path.rglob("*.parquet")
                       for part in f.relative_to(path).parts[:-1] if "=" in part})
        return _Source(name, "hive", frame=_read_hive(path, filters), path=path, extra={"partition_keys": keys})
    if path.stat().st_size == 0:
        raise InputFileError("file is empty", source=name, fix="check the export that wrote it")
    try:
        if fmt == "parquet":
            table, dictionary_columns = _read_parquet(path)
        elif fmt == "jsonl":
            table = _read_jsonl(path)
        else:
            return _Source(name, "csv", frame=_read_csv(path), path=path)
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(f"cannot be read as {fmt}: {exc}", source=name,
                             fix="check that the file is complete and in the declared format") from exc
    if "candidates" in table.column_names:
        return _Source(name, fmt, frame=_flatten_nested(table, name), path=path)
    # each Arrow column is released once converted, and the pool gives the freed memory back before validation
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()
    return _Source(name, fmt, frame=frame, path=path,
                   extra={"dictionary_columns": dictionary_columns} if fmt == "parquet" else {})


def _text_types(report: ValidationReport, columns: Sequence[str]) -> None:
    """Quarantined rows keep the file's text type for the columns read as dictionaries."""
    for col in columns:
        if col in report.quarantine.columns:
            report.quarantine[col] = report.quarantine[col].astype("str")


def _read_parquet(path: Path) -> tuple[pa.Table, list[str]]:
    """The table, with the request-level text columns of a long file read as dictionaries (each value decoded
    once per row group, not once per candidate row), and the names of those columns."""
    fields = pq.read_schema(path)
    text = [f.name for f in fields if f.name in schema.OPTIONAL_REQUEST_COLUMNS and f.name != "slate_propensity"
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    columns = [] if "candidates" in fields.names else text
    return pq.read_table(path, read_dictionary=columns or None), columns


def _infer_format(path: Path) -> str:
    if path.is_dir():
        return "hive"
    suffix = path.suffix.lower()
    return {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "jsonl"}.get(suffix, suffix.lstrip(".") or "unknown")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8", dtype={schema.REQUEST_ID: "string", schema.ITEM_ID: "string",
                                                          "user_id": "string"})
    except UnicodeDecodeError as exc:
        raise InputFileError(f"is not valid UTF-8 (byte {exc.start})", source=str(path),
                             fix="re-export the file as UTF-8") from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError("file has no columns", source=str(path), fix="check the export") from exc
    except pd.errors.ParserError as exc:
        raise InputFileError(f"cannot be parsed as CSV: {exc}", source=str(path),
                             fix="check quoting and the number of fields per line") from exc


def _read_jsonl(path: Path) -> pa.Table:
    import pyarrow.json as pj

    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"is not valid UTF-8 (byte {exc.start})", source=str(path),
                             fix="re-export the file as UTF-8") from exc
    # read timestamps as text so that timezone offsets are kept and checked by validation
    opts = pj.ParseOptions(explicit_schema=pa.schema([(schema.DECISION_TIME, pa.string())]),
                           unexpected_field_behavior="infer")
    return pj.read_json(path, parse_options=opts)


def _flatten_nested(table: pa.Table, name: str) -> pd.DataFrame:
    """One row per candidate; a request with an empty list becomes one row with a null item_id."""
    cands = table.column("candidates").combine_chunks()
    if not pa.types.is_list(cands.type) or not pa.types.is_struct(cands.type.value_type):
        raise SchemaError("'candidates' must be a list of records", source=name, column="candidates",
                          fix="write each candidate as an object with item_id, shown, position, ...")
    lengths = pc.list_value_length(cands).fill_null(0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(cands)
    parents = pc.list_parent_indices(cands).to_numpy()
    empty = np.nonzero(lengths == 0)[0]
    req_table = table.drop_columns(["candidates"])
    # row index into request table per output row: candidates then empty requests
    req_idx = np.concatenate([parents, empty])
    order = np.argsort(req_idx, kind="stable")
    req_part = req_table.take(pa.array(req_idx[order])).to_pandas()
    cand_cols = {}
    for i, field_ in enumerate(flat.type):
        child = flat.field(i)
        if field_.name == "predictions":
            if pa.types.is_struct(child.type):
                for j, f in enumerate(child.type):
                    cand_cols[schema.PREDICTION_PREFIX + f.name] = child.field(j).to_numpy(zero_copy_only=False)
            elif pa.types.is_map(child.type):
                raise SchemaError("'predictions' as a map is not supported", source=name, column="predictions",
                                  fix="write predictions as an object with fixed keys")
            continue
        if field_.name == "sources" and pa.types.is_list(child.type):
            child = pa.array([None if v is None else "|".join(map(str, v)) for v in child.to_pylist()],
                             type=pa.string())
        cand_cols[field_.name] = child.to_pandas()
    cand_part = pd.DataFrame(cand_cols)
    n_empty = empty.size
    if n_empty:
        pad = pd.DataFrame({c: pd.Series([None] * n_empty, dtype=object) for c in cand_part.columns})
        cand_part = pd.concat([cand_part, pad], ignore_index=True)
    cand_part = cand_part.iloc[order].reset_index(drop=True)
    return pd.concat([req_part.reset_index(drop=True), cand_part], axis=1)


def _read_hive(path: Path, filters: LogFilters) -> pd.DataFrame:
    import duckdb

    files = list(path.rglob("*.parquet"))
    if not files:
        raise InputFileError("directory holds no .parquet files", source=str(path),
                             fix="point at the root of a Hive-partitioned Parquet dataset")
    where, params = filter_clauses(filters)
    glob = str(path / "**" / "*.parquet")
    sql = "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)"
    if where:
        sql += " WHERE " + " AND ".join(where)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        frame = con.sql(sql, params=[glob, *params]).to_arrow_table().to_pandas()
    except duckdb.Error as exc:
        raise InputFileError(f"cannot be read as Hive-partitioned Parquet: {exc}", source=str(path),
                             fix="check the files and the filter columns") from exc
    finally:
        con.close()
    if schema.DECISION_TIME in frame.columns and isinstance(frame[schema.DECISION_TIME].dtype, pd.DatetimeTZDtype):
        frame[schema.DECISION_TIME] = frame[schema.DECISION_TIME].dt.tz_convert("UTC")
    return frame


def filter_clauses(filters: LogFilters | None) -> tuple[list[str], list]:
    """SQL ``WHERE`` clauses with ``?`` placeholders and their parameters (UTC datetimes, strings)."""
    if filters is None or filters.is_empty():
        return [], []
    where, params = [], []
    if filters.start is not None:
        where.append("decision_time >= ?")
        params.append(_timestamp(filters.start, "start").to_pydatetime())
    if filters.end is not None:
        where.append("decision_time < ?")
        params.append(_timestamp(filters.end, "end").to_pydatetime())
    if filters.surfaces:
        where.append(f"surface IN ({', '.join('?' for _ in filters.surfaces)})")
        params.extend(filters.surfaces)
    if filters.policy_versions:
        where.append(f"ranking_policy_version IN ({', '.join('?' for _ in filters.policy_versions)})")
        params.extend(filters.policy_versions)
    return where, params


def _apply_filters(frame: pd.DataFrame, filters: LogFilters, name: str) -> tuple[pd.DataFrame, int]:
    keep = np.ones(len(frame), dtype=bool)
    if filters.start is not None or filters.end is not None:
        t = pd.to_datetime(frame[schema.DECISION_TIME], utc=True, errors="coerce", format="ISO8601")
        if filters.start is not None:
            keep &= (t >= _timestamp(filters.start, "start")).to_numpy()
        if filters.end is not None:
            keep &= (t < _timestamp(filters.end, "end")).to_numpy()
    for col, values in (("surface", filters.surfaces), ("ranking_policy_version", filters.policy_versions)):
        if values:
            require_columns(frame, [col], message="cannot filter on {first!r}: the column does not exist",
                            source=name, fix="drop the filter or add the column")
            keep &= frame[col].isin(list(values)).to_numpy()
    return frame.loc[keep].reset_index(drop=True), int((~keep).sum())


def _timestamp(value, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(f"{what} {value!r} is not a timestamp: {exc}", column=what,
                          fix="pass an ISO 8601 time with a zone, e.g. '2026-07-01T00:00:00Z'") from exc
    if ts is pd.NaT:
        raise SchemaError(f"{what} is missing (NaT)", column=what, fix="pass e.g. '2026-07-01T00:00:00Z'")
    if ts.tzinfo is None:
        raise SchemaError(f"{what} has no timezone", column=what, fix="pass e.g. '2026-07-01T00:00:00Z'")
    return ts.tz_convert("UTC")
