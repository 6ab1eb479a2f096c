"""SQL literals of the engines: every difference between the SQL dialects the engines speak lives here and on
the engines (:mod:`recsys_causal.scale.engines`), never in the estimators or policies that render SQL.

A plain ``1.0`` is a DECIMAL literal in Spark SQL, so numbers are written as DOUBLE casts, which DuckDB and Spark
read alike.

>>> SQL.number(0.5), SQL.one, SQL.zero
("CAST('0.5' AS DOUBLE)", 'CAST(1 AS DOUBLE)', "CAST('0.0' AS DOUBLE)")
"""

from __future__ import annotations

import math

from recsys_causal.errors import ConfigError


class SQLDialect:
    """Literal helpers; :class:`~recsys_causal.scale.engines.Engine` derives from this class, so an engine is
    what :meth:`recsys_causal.ope.Estimator.sql_terms` receives."""

    @property
    def one(self) -> str:
        """The DOUBLE constant 1."""
        return "CAST(1 AS DOUBLE)"

    @property
    def zero(self) -> str:
        """The DOUBLE constant 0."""
        return self.number(0)

    def number(self, x: float) -> str:
        """A finite number as a DOUBLE literal that round-trips ``x`` exactly (cast from its shortest text, so
        no engine reads it as a DECIMAL first)."""
        x = float(x)
        if not math.isfinite(x):
            raise ConfigError(f"{x!r} cannot be written as a SQL number", fix="use a finite value")
        return f"CAST('{x!r}' AS DOUBLE)"


SQL = SQLDialect()  # the literals shared by every engine (for SQL rendered before an engine is chosen)
