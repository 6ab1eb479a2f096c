"""Write decision logs: long or nested files, and Hive-partitioned Parquet directories, always atomically.

>>> import tempfile, pathlib
>>> from recsys_causal.simulate import simulate_decision_log
>>> log = simulate_decision_log(n_requests=5, n_candidates=3, seed=0).log
>>> path = write_decision_log(log, pathlib.Path(tempfile.mkdtemp()) / "log.parquet")
>>> path.name
'log.parquet'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recsys_causal.errors import InputFileError
from recsys_causal.logs import schema
from recsys_causal.logs.model import DecisionLog


def write_decision_log(log: DecisionLog, path: str | os.PathLike[str], *, nested: bool = False) -> Path:
    """Write a log atomically as long (default) or nested Parquet/CSV/JSONL, chosen by suffix.

    The file the log was read from is never overwritten (an :class:`~recsys_causal.errors.OutputError`).
    """
    from functools import partial

    from recsys_causal.io_utils import atomic_write as _atomic_write
    from recsys_causal.io_utils import source_inputs

    report = log.metadata.get("validation")
    atomic_write = partial(_atomic_write, inputs=source_inputs("the log's source", getattr(report, "source", None)))
    path = Path(path)
    suffix = path.suffix.lower()
    if nested:
        table = to_nested_table(log)
        if suffix == ".parquet":
            return atomic_write(path, lambda p: pq.write_table(table, p))
        if suffix in (".jsonl", ".ndjson"):
            return atomic_write(path, lambda p: _write_jsonl(table, p))
        raise InputFileError("nested logs are written as .parquet or .jsonl", source=str(path))
    frame = log.to_long_frame()
    if suffix == ".parquet":
        return atomic_write(path, lambda p: frame.to_parquet(p, index=False))
    if suffix == ".csv":
        out = frame.copy()
        out[schema.DECISION_TIME] = out[schema.DECISION_TIME].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return atomic_write(path, lambda p: out.to_csv(p, index=False))
    raise InputFileError(f"cannot write suffix {suffix!r}", source=str(path), fix="use .parquet or .csv")


def write_partitioned_log(frame: DecisionLog | pd.DataFrame, directory: str | os.PathLike[str], *,
                          partition_by: Sequence[str] = ("date",), rows_per_file: int = 2_000_000) -> Path:
    """Write a long-layout log as Hive-partitioned Parquet (``date=2026-06-01/part-0.parquet``, …).

    ``date`` (the UTC day of ``decision_time``) is derived when asked for and absent. The directory is built
    beside the target and renamed into place, so readers never see a half-written dataset; an existing
    directory is an error (input data is never overwritten).

    >>> import tempfile, pathlib
    >>> from recsys_causal.simulate import simulate_decision_log
    >>> log = simulate_decision_log(n_requests=20, n_candidates=3, seed=0).log
    >>> out = write_partitioned_log(log, pathlib.Path(tempfile.mkdtemp()) / "logs")
    >>> from recsys_causal.logs.readers import read_decision_log
    >>> read_decision_log(out).log.n_requests
    20
    """
    import pyarrow.dataset as ds

    from recsys_causal.io_utils import source_inputs
    from recsys_causal.outputs import OutputPlan

    target = Path(directory)
    report = frame.metadata.get("validation") if isinstance(frame, DecisionLog) else None
    plan = OutputPlan({"output directory": target}, source_inputs("the log's source", getattr(report, "source", None)),
                      directories=["output directory"], create_parents=False)
    df = frame.to_long_frame() if isinstance(frame, DecisionLog) else frame
    if "date" in partition_by and "date" not in df.columns:
        df = df.assign(date=pd.to_datetime(df[schema.DECISION_TIME], utc=True).dt.strftime("%Y-%m-%d"))
    table = pa.Table.from_pandas(df, preserve_index=False)
    # microsecond timestamps: readable by Spark, Hive and DuckDB alike (nanoseconds are not)
    options = ds.ParquetFileFormat().make_write_options(coerce_timestamps="us", allow_truncated_timestamps=True)
    plan.write({"output directory": lambda tmp: ds.write_dataset(
        table, tmp, format="parquet", file_options=options, partitioning=list(partition_by), partitioning_flavor="hive",
        max_rows_per_file=rows_per_file, max_rows_per_group=min(rows_per_file, 1_000_000),
        existing_data_behavior="overwrite_or_ignore")})
    return target


def to_nested_table(log: DecisionLog) -> pa.Table:
    """One record per request with a ``candidates`` list of structs (``pred_*`` grouped in ``predictions``)."""
    cand = log.candidates
    preds = [c for c in cand.columns if c.startswith(schema.PREDICTION_PREFIX)]
    plain = [c for c in cand.columns if c not in preds]
    arrays = [pa.Array.from_pandas(cand[c]) for c in plain]
    names = list(plain)
    if preds:
        arrays.append(pa.StructArray.from_arrays(
            [pa.Array.from_pandas(cand[c]) for c in preds], names=[c[len(schema.PREDICTION_PREFIX):] for c in preds]))
        names.append("predictions")
    structs = pa.StructArray.from_arrays(arrays, names=names)
    lists = pa.ListArray.from_arrays(pa.array(log.offsets, type=pa.int32()), structs)
    req = pa.Table.from_pandas(log.requests, preserve_index=False)
    return req.append_column("candidates", lists)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    import json

    with open(path, "w", encoding="utf-8") as fh:
        for rec in table.to_pylist():
            fh.write(json.dumps(rec, default=_json_default, allow_nan=False) + "\n")


def _json_default(value):
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    raise TypeError(f"cannot serialise {type(value)}")
