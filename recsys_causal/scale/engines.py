"""Where a decision log too large for memory lives: DuckDB over (partitioned) Parquet, or a Spark DataFrame.

An engine exposes the long-layout decision log (one row per candidate, the columns of ``decision_logs/SCHEMA.md``)
as a SQL view, runs the queries of :mod:`recsys_causal.scale` next to the data and returns only small results
(sums, per-group aggregates) to Python. The same SQL text runs on both engines; the few functions whose names
differ are rendered by :meth:`Engine.quantiles`.

>>> import pandas as pd
>>> engine = DuckDBEngine.from_frame(pd.DataFrame({"request_id": ["a", "b"], "x": [1.0, 2.0]}))
>>> float(engine.query(f"SELECT SUM(x) AS s FROM {engine.table}")["s"][0])
3.0
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError, InputFileError
from recsys_causal.frames import ACCEPTED, FrameTypeError, is_table, to_pandas
from recsys_causal.logs.readers import LogFilters, filter_clauses
from recsys_causal.scale.dialect import SQLDialect

_ids = itertools.count()
#: ``ABS(x) <= DBL_MAX`` is false for NaN and ±inf in both engines (NaN sorts above every number) and NULL for
#: NULL; with ``COALESCE(…, FALSE)`` it is the SQL form of ``np.isfinite``.
DOUBLE_MAX = "1.7976931348623157E308"
NUMERIC_TYPE = re.compile(r"^(u?tinyint|u?smallint|u?integer|int|u?bigint|u?hugeint|long|short|byte|float|double"
                          r"|real|decimal.*|numeric.*)$")


class Engine(SQLDialect):
    """A SQL engine holding the decision log as the view :attr:`table`; its SQL literals come from
    :class:`~recsys_causal.scale.dialect.SQLDialect` (an engine overrides what its dialect writes differently)."""

    dialect = "generic"
    table: str

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and return its (small) result as a DataFrame."""
        raise NotImplementedError

    def materialize(self, sql: str, prefix: str = "t") -> str:
        """Keep the result of ``sql`` next to the data under a new name (a temp table / cached view)."""
        raise NotImplementedError

    def drop(self, name: str) -> None:
        """Release a table made by :meth:`materialize`."""

    @property
    def columns(self) -> list[str]:
        raise NotImplementedError

    def quantiles(self, column: str, qs: Sequence[float]) -> str:
        """SQL for exact quantiles with linear interpolation (numpy's default), as one array value."""
        raise NotImplementedError

    def quote(self, name: str) -> str:
        """A column name as a quoted SQL identifier (any characters allowed)."""
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: object) -> str:
        """A string literal."""
        return _sql_string(value)

    def timestamp_literal(self, ts: pd.Timestamp) -> str:
        """A UTC instant as a timestamp-with-time-zone literal."""
        raise NotImplementedError

    def epoch_micros(self, expr: str) -> str:
        """Microseconds since the epoch of a timestamp expression."""
        raise NotImplementedError

    def finite(self, expr: str) -> str:
        """A boolean SQL expression: ``expr`` is a finite number (``np.isfinite``; NULL is not)."""
        return f"COALESCE(ABS({expr}) <= {DOUBLE_MAX}, FALSE)"

    def as_double(self, expr: str) -> str:
        """``expr`` cast to a double."""
        return f"CAST({expr} AS DOUBLE)"

    def as_string(self, expr: str) -> str:
        """``expr`` cast to a string (variant labels are compared as strings)."""
        return f"CAST({expr} AS STRING)"

    def interval(self, td: pd.Timedelta) -> str:
        """A time interval literal of ``td`` (microsecond precision)."""
        seconds, frac = divmod(int(td // pd.Timedelta(microseconds=1)), 1_000_000)
        return f"INTERVAL '{seconds}.{frac:06d}' SECOND" if frac else f"INTERVAL '{seconds}' SECOND"

    def is_numeric_type(self, type_name: str) -> bool:
        """Whether a lower-case type name of :meth:`column_types` is numeric (not boolean)."""
        return bool(NUMERIC_TYPE.match(type_name))

    def table_columns(self, table: str) -> list[str]:
        """Column names of a table or view in the engine."""
        return [str(c) for c in self.query(f"SELECT * FROM {table} LIMIT 0").columns]

    def column_types(self, table: str) -> dict[str, str]:
        """Column name → lower-case SQL type name."""
        frame = self.query(f"{self._describe} SELECT * FROM {table}")
        return {str(n): str(t).lower() for n, t in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)}

    _describe = "DESCRIBE"

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Make a (small) pandas table queryable as ``name``."""
        raise ConfigError(f"cannot register a pandas table in a {self.dialect} engine",
                          fix="create the table in the engine and pass its name")

    def unregister_frame(self, name: str) -> None:
        """Release a table made by :meth:`register_frame`."""
        raise NotImplementedError

    def require(self, columns: Sequence[str], what: str = "decision log") -> None:
        """Raise :class:`SchemaError` unless the engine's table has every one of ``columns``."""
        require_columns(self.columns, columns, what=what, source=self.source)

    source: str = "decision log"


class DuckDBEngine(Engine):
    """DuckDB over Parquet files or a directory of Hive-partitioned Parquet, streaming with filters and
    projections pushed into the scan; spills to ``temp_directory`` beyond ``memory_limit``."""

    dialect = "duckdb"

    def __init__(self, connection: Any, table: str, source: str) -> None:
        self.con = connection
        self.table = table
        self.source = source
        self._columns: list[str] | None = None

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str], *, filters: LogFilters | None = None,
                     memory_limit: str | None = "4GB", threads: int | None = None,
                     temp_directory: str | os.PathLike[str] | None = None) -> DuckDBEngine:
        """A Parquet file or a directory of (Hive-partitioned) Parquet files; input files are only read."""
        import duckdb

        path = Path(path)
        if path.is_dir():
            if not any(path.rglob("*.parquet")):
                raise InputFileError("directory holds no .parquet files", source=str(path),
                                     fix="point at the root of a (Hive-partitioned) Parquet dataset")
            glob = str(path / "**" / "*.parquet")
        elif path.is_file():
            glob = str(path)
        else:
            raise InputFileError("no such file or directory", source=str(path), fix="check the path")
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_directory:
            con.execute(f"SET temp_directory = '{Path(temp_directory)}'")
        con.execute("SET preserve_insertion_order = false")
        where, params = filter_clauses(filters)
        literal = glob.replace("'", "''")
        sql = f"SELECT * FROM read_parquet('{literal}', hive_partitioning = true, union_by_name = true)"
        if where:
            sql += " WHERE " + " AND ".join(where)
        try:
            con.execute(f"CREATE VIEW decision_log AS {_inline(sql, params)}")
            con.sql("SELECT * FROM decision_log LIMIT 0").fetchall()
        except duckdb.Error as exc:
            raise InputFileError(f"cannot be read as Parquet: {exc}", source=str(path),
                                 fix="check the files and the filter columns") from exc
        return cls(con, "decision_log", str(path))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "DataFrame") -> DuckDBEngine:
        """A pandas DataFrame in the long layout (for tests and small data)."""
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("decision_log_frame", frame)
        con.execute("CREATE VIEW decision_log AS SELECT * FROM decision_log_frame")
        return cls(con, "decision_log", source)

    @classmethod
    def from_relation(cls, relation: Any, *, connection: Any = None,
                      source: str = "DuckDB relation") -> DuckDBEngine:
        """A DuckDB relation in the long layout (e.g. ``con.sql(...)``). With ``connection`` (the one that made
        it) the relation becomes a view of that connection, beside which pandas tables can be registered;
        without it every statement runs through the relation itself, on whichever connection made it (pandas
        tables cannot be registered next to it: pass a covariates table by name)."""
        if connection is None:
            return cls(_RelationConnection(relation), _RelationConnection.ALIAS, source)
        import duckdb

        name = f"decision_log_relation_{next(_ids)}"
        relation.create_view(name)
        try:
            connection.sql(f"SELECT * FROM {name} LIMIT 0").fetchall()
        except duckdb.Error as exc:
            raise ConfigError("the DuckDB relation belongs to another connection than the one given",
                              source=source, fix="pass DuckDBEngine.from_relation(relation, connection=con) with "
                                                 "the connection that made the relation") from exc
        return cls(connection, name, source)

    @property
    def columns(self) -> list[str]:
        if self._columns is None:
            self._columns = [d[0] for d in self.con.sql(f"SELECT * FROM {self.table} LIMIT 0").description]
        return self._columns

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.sql(sql).to_arrow_table().to_pandas()

    def materialize(self, sql: str, prefix: str = "t") -> str:
        name = f"{prefix}_{next(_ids)}"
        self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        return name

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def quantiles(self, column: str, qs: Sequence[float]) -> str:
        return f"quantile_cont({column}, [{', '.join(repr(float(q)) for q in qs)}])"

    def timestamp_literal(self, ts: pd.Timestamp) -> str:
        return _duckdb_timestamp(ts)

    def epoch_micros(self, expr: str) -> str:
        return f"epoch_us({expr})"

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def unregister_frame(self, name: str) -> None:
        self.con.unregister(name)


class SparkEngine(Engine):
    """A Spark DataFrame of decision-log rows (the same long layout). Every query runs on the cluster; only
    its small result is collected to the driver."""

    dialect = "spark"

    def __init__(self, dataframe: Any, *, source: str = "Spark DataFrame") -> None:
        self.df = dataframe
        self.spark = dataframe.sparkSession
        self.table = f"recsys_causal_log_{next(_ids)}"
        self.source = source
        dataframe.createOrReplaceTempView(self.table)
        self._cached: dict[str, Any] = {}

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)

    def query(self, sql: str) -> pd.DataFrame:
        rows = self.spark.sql(sql).collect()
        if not rows:
            return pd.DataFrame(columns=self.spark.sql(sql).columns)
        return pd.DataFrame([r.asDict() for r in rows])

    def materialize(self, sql: str, prefix: str = "t") -> str:
        name = f"{prefix}_{next(_ids)}"
        frame = self.spark.sql(sql).cache()
        frame.createOrReplaceTempView(name)
        self._cached[name] = frame
        return name

    def drop(self, name: str) -> None:
        frame = self._cached.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.spark.catalog.dropTempView(name)

    def quantiles(self, column: str, qs: Sequence[float]) -> str:
        return f"percentile({column}, array({', '.join(repr(float(q)) for q in qs)}))"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, value: object) -> str:
        text = str(value).replace("\\", "\\\\")
        return "'" + text.replace("'", "\\'") + "'"

    def timestamp_literal(self, ts: pd.Timestamp) -> str:
        return f"TIMESTAMP '{_utc_text(ts)}'"

    def epoch_micros(self, expr: str) -> str:
        return f"unix_micros({expr})"

    _describe = "DESCRIBE QUERY"

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def unregister_frame(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)


class _RelationConnection:
    """The connection interface :class:`DuckDBEngine` uses, on a relation: every statement runs through
    ``relation.query`` with the relation visible as :attr:`ALIAS`."""

    ALIAS = "decision_log_relation"

    def __init__(self, relation: Any) -> None:
        self.relation = relation

    def sql(self, statement: str) -> Any:
        return self.relation.query(self.ALIAS, statement)

    def execute(self, statement: str) -> None:
        self.relation.query(self.ALIAS, statement)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        raise ConfigError("cannot register a pandas table next to a DuckDB relation",
                          fix="create the table in the relation's connection and pass its name")


def as_engine(source: Any, **kwargs: Any) -> Engine:
    """An :class:`Engine` from an engine, a Parquet path, a DuckDB relation, a pandas, polars or pyarrow table
    or a Spark DataFrame."""
    if isinstance(source, Engine):
        return source
    if is_duckdb_relation(source):
        return DuckDBEngine.from_relation(source)
    if isinstance(source, str | os.PathLike):
        return DuckDBEngine.from_parquet(source, **kwargs)
    if is_table(source, relations=False):  # pandas, or polars / pyarrow converted once
        return DuckDBEngine.from_frame(to_pandas(source))
    if hasattr(source, "sparkSession") and hasattr(source, "createOrReplaceTempView"):
        return SparkEngine(source)
    if is_duckdb_relation(source):
        return DuckDBEngine.from_relation(source)
    raise FrameTypeError(f"cannot evaluate a {type(source).__name__}", column="data",
                         fix=f"pass a Parquet path, an Engine, a Spark DataFrame or {ACCEPTED}")


def is_duckdb_relation(source: Any) -> bool:
    """``source`` is a DuckDB relation (checked without importing DuckDB)."""
    return type(source).__name__ == "DuckDBPyRelation" and type(source).__module__.split(".")[0] in {
        "duckdb", "_duckdb"}


def count_value(value: Any) -> int:
    """An integer from a SQL result cell (``NULL`` of an empty ``SUM`` is 0)."""
    return 0 if value is None or pd.isna(value) else int(value)


def _utc_text(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def _sql_string(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _duckdb_timestamp(ts: pd.Timestamp) -> str:
    return f"TIMESTAMPTZ '{_utc_text(ts)}'"


def _inline(sql: str, params: list[Any]) -> str:
    """Views cannot hold prepared parameters: render them as DuckDB literals."""
    out = sql
    for p in params:
        out = out.replace("?", _duckdb_timestamp(p) if hasattr(p, "isoformat") else _sql_string(p), 1)
    return out
