"""Any dataframe in: the one place where polars, pyarrow and DuckDB tables become the pandas frames the analyses
read.

Accepted: a pandas ``DataFrame`` (returned as it is), a polars ``DataFrame`` or ``LazyFrame`` (collected), a
pyarrow ``Table``, ``RecordBatch``, ``RecordBatchReader`` or ``Dataset``, a DuckDB relation, and any object that
exports an Arrow stream (the Arrow PyCapsule interface, ``__arrow_c_stream__``). Everything but pandas goes
through one Arrow table and ``Table.to_pandas(split_blocks=True)``:

- numeric and boolean columns without nulls held in one chunk become pandas columns without a copy (each column
  its own block, sharing the Arrow buffer; polars hands its buffers to Arrow without a copy too);
- a copy cannot be avoided for text (Arrow offsets and data become pandas string storage), for integer or
  boolean columns with nulls (they become ``float64`` with NaN or ``object``, as pandas holds them), for
  dictionary columns (pandas categoricals), for columns split over several chunks (concatenated), and for what
  a DuckDB relation or a Dataset scan produces (the query result itself is new memory).

Columns shared with Arrow are read-only (writing into them in place raises ``ValueError``): analyses only read
their input, and ``frame.copy()`` gives writable columns to whoever needs them.

Neither polars nor DuckDB is imported here: objects are recognised by their type's module, so the package works
without them. Column names, dtypes and values come back as pandas would hold the same table, so an analysis of a
polars or pyarrow table gives the same numbers as of the pandas one.

>>> import pyarrow as pa
>>> to_pandas(pa.table({"variant": ["control", "treatment"], "clicks": [3, 5]})).dtypes["clicks"]
dtype('int64')
>>> to_pandas([1, 2], what="analyze_holdout")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
recsys_causal.frames.FrameTypeError: analyze_holdout: data must be a table, got list...
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recsys_causal.errors import ConfigError

#: the table types every frame-taking entry point accepts, as named in error messages
ACCEPTED = ("a pandas DataFrame, a polars DataFrame or LazyFrame, a pyarrow Table, RecordBatch, RecordBatchReader "
            "or Dataset, a DuckDB relation, or any object exporting an Arrow stream (__arrow_c_stream__)")


class FrameTypeError(ConfigError, TypeError):
    """An object given as a table is not one of the accepted table types (:data:`ACCEPTED`); a
    :class:`~recsys_causal.errors.ConfigError` and a ``TypeError``."""


def _root(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _kind(obj: Any) -> str | None:
    """Which route converts ``obj``: ``"pandas"``, ``"polars"``, ``"polars-lazy"``, ``"arrow"`` (a Table or a
    RecordBatch), ``"reader"``, ``"dataset"``, ``"duckdb"``, ``"capsule"``; ``None`` if none does."""
    if isinstance(obj, pd.DataFrame):
        return "pandas"
    root, name = _root(obj), type(obj).__name__
    if root == "pandas":  # a Series or an Index is not a table
        return None
    if root == "polars":
        return {"DataFrame": "polars", "LazyFrame": "polars-lazy"}.get(name)
    if root == "pyarrow":
        if name in ("Table", "RecordBatch"):
            return "arrow"
        if name == "RecordBatchReader":
            return "reader"
        return "dataset" if hasattr(obj, "to_table") and hasattr(obj, "schema") else None
    if name == "DuckDBPyRelation" and root in ("duckdb", "_duckdb"):
        return "duckdb"
    return "capsule" if hasattr(obj, "__arrow_c_stream__") else None


def is_table(obj: Any, *, relations: bool = True) -> bool:
    """Whether ``obj`` is a table :func:`to_pandas` converts (``relations=False``: not counting DuckDB
    relations, which some entry points hand to the SQL engine instead).

    >>> import pyarrow as pa
    >>> is_table(pa.table({"a": [1]})), is_table({"a": [1]})
    (True, False)
    """
    kind = _kind(obj)
    return kind is not None and (relations or kind != "duckdb")


def to_arrow(obj: Any) -> Any:
    """A pyarrow ``Table`` holding the rows of a non-pandas table ``obj`` (no copy for polars frames and pyarrow
    tables; a reader is read to its end, a dataset scanned, a relation or lazy frame executed)."""
    import pyarrow as pa

    kind = _kind(obj)
    if kind == "arrow":
        return obj if isinstance(obj, pa.Table) else pa.Table.from_batches([obj])
    if kind == "reader":
        return obj.read_all()
    if kind == "dataset":
        return obj.to_table()
    if kind == "polars-lazy":
        return obj.collect().to_arrow()
    if kind == "polars":
        return obj.to_arrow()  # text as large_string: the layout pandas' string storage reads
    if kind == "duckdb":  # a Table (DuckDB 1.x ``arrow()``, 2.x ``to_arrow_table()``) or a reader (2.x ``arrow()``)
        out = obj.to_arrow_table() if hasattr(obj, "to_arrow_table") else obj.arrow()
        return out.read_all() if isinstance(out, pa.RecordBatchReader) else out
    return pa.table(obj)


def to_pandas(data: Any, *, what: str = "the analysis", fix: str | None = None) -> pd.DataFrame:
    """``data`` as a pandas frame: a pandas frame unchanged, any other accepted table through Arrow (see the
    module docstring for where that copies). Anything else raises :class:`FrameTypeError` naming ``what`` asked
    for a table, the type it got, and the accepted types.

    >>> import pyarrow as pa
    >>> to_pandas(pa.table({"a": [1.5, 2.5]}))["a"].tolist()
    [1.5, 2.5]
    """
    kind = _kind(data)
    if kind == "pandas":
        return data
    if kind is None:
        raise FrameTypeError(f"{what}: data must be a table, got {type(data).__name__}", column="data",
                             fix=fix or f"pass {ACCEPTED}")
    return to_arrow(data).to_pandas(split_blocks=True)


def as_pandas(data: Any, *, relations: bool = True) -> Any:
    """``data`` converted by :func:`to_pandas` when it is a non-pandas table, else unchanged (a
    ``DecisionLog``, an engine, a path, or with ``relations=False`` a DuckDB relation, for entry points that
    take those too).

    >>> import pyarrow as pa
    >>> type(as_pandas(pa.table({"a": [1]}))).__name__, as_pandas("log.parquet")
    ('DataFrame', 'log.parquet')
    """
    return to_pandas(data) if is_table(data, relations=relations) else data


__all__ = ["ACCEPTED", "FrameTypeError", "as_pandas", "is_table", "to_arrow", "to_pandas"]
