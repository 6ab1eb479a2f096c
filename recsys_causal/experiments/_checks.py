"""Input checks shared by the A/B estimators: known variant labels, one variant per unit, non-constant metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys_causal.errors import DataValidationError, EstimationError, SchemaError


@dataclass(frozen=True)
class Quarantine:
    """Units removed before analysis because they were logged in more than one variant."""

    column: str
    count: int = 0
    rows: int = 0
    examples: list = field(default_factory=list)

    def message(self) -> str:
        ex = ", ".join(repr(_plain(v)) for v in self.examples[:5])
        return (f"{self.count} units in column {self.column!r} appear in more than one variant ({self.rows} rows) "
                f"and were quarantined (e.g. {ex}); check assignment logging (exposure logged before bucketing, "
                f"id collisions, or cache reuse across variants)")


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, what: str = "unit table") -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what} has no column(s) {missing}", column=missing[0],
            fix=f"pass one of the existing columns {sorted(map(str, df.columns))[:20]} or add the column",
        )


def check_variants(df: pd.DataFrame, variant_col: str, known: Sequence[str], *, unit_col: str | None = None) -> None:
    """Raise if any row carries a variant label outside ``known``."""
    labels = df[variant_col]
    bad = ~labels.isin(list(known))
    if bad.any():
        values = labels[bad].astype(str).value_counts()
        ids = df.loc[bad, unit_col].unique()[:5] if unit_col and unit_col in df.columns else []
        raise DataValidationError(
            f"{int(bad.sum())} rows have unknown variant labels {list(values.index[:5])} in column {variant_col!r}; "
            f"expected one of {list(known)}",
            column=variant_col, count=int(bad.sum()), examples=list(ids),
            fix="map the labels to the configured variants, add them to expected_split, or filter them out",
        )


def quarantine_multi_assigned(df: pd.DataFrame, unit_col: str, variant_col: str) -> tuple[pd.DataFrame, Quarantine]:
    """Drop every unit seen in more than one variant; return the clean frame and what was removed."""
    n_var = df.groupby(unit_col, sort=False, observed=True)[variant_col].nunique()
    bad_units = n_var.index[n_var.to_numpy() > 1]
    if len(bad_units) == 0:
        return df, Quarantine(unit_col)
    bad = df[unit_col].isin(bad_units).to_numpy()
    q = Quarantine(unit_col, count=len(bad_units), rows=int(bad.sum()), examples=list(bad_units[:5]))
    return df.loc[~bad], q


def check_variance(values: np.ndarray, *, metric: str, variant: str) -> None:
    """Raise if a metric is constant (or has fewer than 2 finite values) within an arm."""
    v = values[np.isfinite(values)]
    if v.size < 2 or np.all(v == v[0]):
        const = v[0] if v.size else float("nan")
        raise EstimationError(
            f"metric {metric!r} has no variance in variant {variant!r} ({v.size} units, all equal to {const})",
            column=metric, count=int(v.size),
            fix="drop the metric, check that it is populated for this variant, or use more units",
        )


def as_float(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _plain(value: object) -> object:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
