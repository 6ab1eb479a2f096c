"""Input checks shared by every analysis (A/B, holdout, switchback, segments, report, SQL engines): required
columns (:func:`require_columns`), a significance level, a pandas frame, known variant labels, one variant per unit
(:class:`Quarantine`), one row per unit (:func:`unique_units`, :func:`join_units`, :class:`Deduplication`),
non-constant metrics, timestamps in UTC.

>>> import pandas as pd
>>> try:
...     require_columns(pd.DataFrame({"click": [1]}), ["clik"], what="unit table")
... except SchemaError as exc:
...     print(exc.message)
unit table has no column(s) ['clik'] (did you mean 'click'?)
>>> t = pd.DataFrame({"user_id": ["a", "a", "b"], "x": [1.0, 1.0, 2.0]})
>>> clean, dedup = unique_units(t, "user_id", table="users.parquet")
>>> len(clean), dedup.rows_removed
(2, 1)
>>> try:
...     unique_units(t.assign(x=[1.0, 3.0, 2.0]), "user_id", table="users.parquet")
... except DataValidationError as exc:
...     print(exc.count, exc.examples)
1 ['a']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from recsys_causal.caveats import DataQualityWarning, caveat
from recsys_causal.errors import (
    ConfigError,
    DataValidationError,
    EstimationError,
    RecsysCausalError,
    SchemaError,
    format_examples,
)
from recsys_causal.suggest import choices_text, did_you_mean


class _Removal:
    """A record of rows removed before analysis; its message is ``TEMPLATE`` filled with its fields and ``ex``,
    up to five example ids."""

    TEMPLATE: ClassVar[str] = ""

    def message(self) -> str:
        return caveat(self.TEMPLATE.format(self, ex=format_examples(self.examples[:5])), DataQualityWarning)


@dataclass(frozen=True)
class Quarantine(_Removal):
    """Units removed before analysis because they were logged in more than one variant."""

    TEMPLATE: ClassVar[str] = (
        "{0.count} units in column {0.column!r} appear in more than one variant ({0.rows} rows) and were "
        "quarantined (e.g. {ex}); check assignment logging (exposure logged before bucketing, id collisions, or "
        "cache reuse across variants)")
    column: str
    count: int = 0
    rows: int = 0
    examples: list = field(default_factory=list)


@dataclass(frozen=True)
class Deduplication(_Removal):
    """Exact duplicate rows removed from a table keyed by unit (each unit counted once, never a doubled ``n``)."""

    TEMPLATE: ClassVar[str] = (
        "{0.table}: {0.rows_removed} exact duplicate rows of {0.units} units (key column {0.column!r}, e.g. {ex}) "
        "were removed so that each unit counts once; check the export or the join that repeated them")
    table: str
    column: str
    rows_removed: int = 0
    units: int = 0
    examples: list = field(default_factory=list)


def require_columns(data: pd.DataFrame | Iterable[object], needed: Iterable[object], *, what: str = "unit table",
                    source: str | None = None, fix: str | None = None, code: str | None = None,
                    keys: Mapping[object, str] | None = None, message: str | None = None,
                    reserved: Iterable[object] = (), error: type[RecsysCausalError] = SchemaError) -> None:
    """Raise ``error`` unless every column in ``needed`` is among ``data``'s columns (a frame, or the column names
    of a table an engine holds).

    The message names ``what`` lacks which columns and the nearest existing match; the fix lists the existing
    columns (after ``fix``, when given). ``keys`` maps a column to the configuration key it was named under (e.g.
    ``metrics.primary[0].name``): the message then starts with the key of the first missing column. ``message``
    replaces the opening words, with ``{missing}`` (the missing columns) and ``{first}`` (the first of them)
    filled in; the nearest match still follows. Columns in ``reserved`` have a meaning of their own and are never
    offered as the nearest match (``slate_propensity`` is no stand-in for a missing ``propensity``). The error's
    ``count`` is the number of missing columns.

    >>> try:
    ...     require_columns(["user_id", "click"], ["clicks"], message="reward column {first!r} does not exist")
    ... except SchemaError as exc:
    ...     print(exc.message)
    reward column 'clicks' does not exist (did you mean 'click'?)
    """
    present = pd.Index(data.columns if isinstance(data, pd.DataFrame) else list(data))
    missing = [c for c in dict.fromkeys(needed) if c not in present]
    if not missing:
        return
    first, hint = missing[0], did_you_mean(missing[0], present.difference(pd.Index(list(reserved)), sort=False))
    existing = choices_text(present)
    fix = f"{fix} (existing columns: {existing})" if fix else f"pass one of the existing columns {existing} or add the column"
    column, more = first, f" (and {len(missing) - 1} more: {missing[1:6]})" if len(missing) > 1 else ""
    if message is not None:
        text = message.format(missing=missing, first=first) + hint
    elif keys is None:
        text = f"{what} has no column(s) {missing}{hint}"
    else:
        column, text = keys[first], f"{keys[first]}: column {first!r} is not in {what}{hint}{more}"
    raise error(text, source=source, column=column, count=len(missing), fix=fix, code=code)


def check_alpha(alpha: object, *, what: str = "alpha") -> float:
    """A significance level strictly between 0 and 1 (booleans, NaN and infinities are errors)."""
    ok = isinstance(alpha, int | float | np.number) and not isinstance(alpha, bool) and 0 < float(alpha) < 1
    if not ok:
        raise ConfigError(f"{what} must be a number strictly between 0 and 1, got {alpha!r}",
                          column=what, fix="pass e.g. alpha=0.05")
    return float(alpha)


def require_frame(obj: object, what: str, hint: str) -> None:
    """Raise :class:`~recsys_causal.frames.FrameTypeError` (a ``ConfigError``) unless ``obj`` is a pandas
    DataFrame."""
    if not isinstance(obj, pd.DataFrame):
        from recsys_causal.frames import ACCEPTED, FrameTypeError

        raise FrameTypeError(f"{what} needs a table with one row per unit, got {type(obj).__name__}",
                             fix=f"{hint}; pass {ACCEPTED}")


def unique_units(df: pd.DataFrame, key: str | Sequence[str], *, table: str = "unit table",
                 ) -> tuple[pd.DataFrame, Deduplication]:
    """``df`` with one row per ``key``: exact duplicate rows are removed and counted; rows that repeat a key with
    different values raise :class:`~recsys_causal.errors.DataValidationError` naming the table, the key column,
    the number of repeated units, example ids and the fix."""
    keys = [key] if isinstance(key, str) else list(key)
    label = keys[0] if len(keys) == 1 else "+".join(keys)
    require_columns(df, keys, what=table)
    repeated = df.duplicated(keys, keep=False).to_numpy()
    if not repeated.any():
        return df, Deduplication(table, label)
    try:
        exact = df.duplicated(keep="first").to_numpy()
    except TypeError:  # unhashable cells (lists): compare keys only
        exact = np.zeros(len(df), dtype=bool)
    kept = df.loc[~exact]
    conflict = kept.duplicated(keys, keep=False).to_numpy()
    if conflict.any():
        ids = _key_examples(kept.loc[conflict], keys)
        n_units = int(len(kept.loc[conflict].drop_duplicates(keys)))
        raise DataValidationError(
            f"{n_units} units appear in more than one row with different values (key column {label!r}, "
            f"{int(conflict.sum())} rows); {table} must hold one row per unit", source=table, column=label,
            count=n_units, examples=ids,
            fix=f"aggregate {table} to one row per {label!r} (e.g. sum counts, keep the pre-period value), or fix "
                "the join or export that repeated them")
    removed = df.loc[exact]
    return kept, Deduplication(table, label, rows_removed=int(exact.sum()),
                               units=int(len(removed.drop_duplicates(keys))), examples=_key_examples(removed, keys))


def join_units(units: pd.DataFrame, table: pd.DataFrame, on: str, *, name: str = "joined table",
               ) -> tuple[pd.DataFrame, Deduplication]:
    """Left-join a unit-keyed ``table`` (covariates, retention, revenue, ...) onto ``units``.

    ``table`` goes through :func:`unique_units` first (exact repeats counted and removed, conflicting repeats an
    error), so a join can never multiply units; a non-key column present in both tables is an error (the join
    would rename it)."""
    require_columns(units, [on], what="unit table")
    table, dedup = unique_units(table, on, table=name)
    both = [c for c in table.columns if c != on and c in units.columns]
    if both:
        raise SchemaError(f"{name} and the unit table both have column(s) {both}", source=name, column=both[0],
                          fix=f"drop or rename them in {name} (only {on!r} may appear in both)")
    return units.merge(table, on=on, how="left", validate="many_to_one"), dedup


def check_variants(df: pd.DataFrame, variant_col: str, known: Sequence[str], *, unit_col: str | None = None) -> None:
    """Raise if any row carries a variant label outside ``known``."""
    labels = df[variant_col]
    bad = ~labels.isin(list(known))
    if bad.any():
        values = labels[bad].astype(str).value_counts()
        ids = df.loc[bad, unit_col].unique()[:5] if unit_col and unit_col in df.columns else []
        raise DataValidationError(
            f"{int(bad.sum())} rows have unknown variant labels {list(values.index[:5])} in column {variant_col!r}; "
            f"expected one of {list(known)}{did_you_mean(values.index[0], known)}",
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


def utc_timestamp(value: object, *, key: str = "as_of", unreadable: str = "is not a timestamp",
                  fix: str = "pass e.g. '2026-06-20T00:00:00Z'") -> pd.Timestamp:
    """One timestamp in UTC (a value without a timezone is read as UTC); an unreadable or missing one is a
    :class:`~recsys_causal.errors.ConfigError` naming ``key``.

    >>> utc_timestamp("2026-06-20")
    Timestamp('2026-06-20 00:00:00+0000', tz='UTC')
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{key}: {value!r} {unreadable}", column=key, fix=fix) from exc
    if pd.isna(ts):
        raise ConfigError(f"{key} is missing", column=key, fix=fix)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


_TZ_SUFFIX = r"[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|UTC|[+-]\d{2}(?::?\d{2})?)\s*$"


def utc_times(values: pd.Series, *, column: str, source: str | None = None,
              ids: Sequence[object] | None = None) -> pd.Series:
    """Timestamps in UTC; unparsable, timezone-naive or mixed naive/aware values raise
    :class:`~recsys_causal.errors.DataValidationError` naming the column, the count and examples."""
    s = pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    present = s.notna().to_numpy()
    if pd.api.types.is_datetime64_dtype(s.dtype):
        naive = present
    else:
        text = s.astype("string")
        is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        aware_str = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
        aware_obj = s.map(lambda v: getattr(v, "tzinfo", None) is not None).to_numpy(dtype=bool)
        naive = present & ~np.where(is_str, aware_str, aware_obj)
    parsed = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    bad = present & parsed.isna().to_numpy()
    for mask, text, fix in (
        (bad, "cannot be parsed as timestamps", "write ISO-8601 timestamps with a timezone, e.g. '2026-06-01T10:00:00Z'"),
        (naive, "have no timezone" + (" (others do)" if naive.sum() < present.sum() else ""),
         "write timezone-aware timestamps (e.g. '2026-06-01T10:00:00Z') or localise the column to UTC"),
    ):
        if mask.any():
            examples = list(np.asarray(ids)[mask][:5]) if ids is not None else list(s[mask].astype(str)[:5])
            raise DataValidationError(f"{int(mask.sum())} values of {column!r} {text}", source=source, column=column,
                                      count=int(mask.sum()), examples=examples, fix=fix)
    return parsed


def _key_examples(frame: pd.DataFrame, keys: list[str]) -> list:
    first = frame.drop_duplicates(keys).head(5)
    if len(keys) == 1:
        return first[keys[0]].tolist()
    return ["/".join(str(v) for v in row) for row in first[keys].itertuples(index=False)]

