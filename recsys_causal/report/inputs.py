"""Checks of an ``experiment.yaml`` against its data: every configured column and label exists (else a
:class:`~recsys_causal.errors.ConfigError` naming the YAML key, the nearest match and the choices), and unit
tables hold one row per unit (exact repeats removed and counted in the data-quality section).

>>> import pandas as pd
>>> try:
...     check_columns(pd.DataFrame({"click": [1]}), [("metrics.primary[0].name", "clik")], "the unit table")
... except ConfigError as exc:
...     print(exc.message)
metrics.primary[0].name: column 'clik' is not in the unit table (did you mean 'click'?)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import ConfigError
from recsys_causal.suggest import choices_text, did_you_mean


def check_columns(frame: pd.DataFrame, refs: list[tuple[str, str]], what: str) -> None:
    """Every ``(yaml key, column)`` in ``refs`` names a column of ``frame``; else a :class:`ConfigError` naming
    the key, the nearest column and the columns present."""
    keys: dict[str, str] = {}
    for key, col in refs:
        keys.setdefault(col, key)
    require_columns(frame, keys, what=what, keys=keys, error=ConfigError)


def check_labels(frame: pd.DataFrame, column: str, refs: list[tuple[str, str]]) -> None:
    """A configured label that no row carries, while the data carries labels the config does not know, is a
    typo: a :class:`ConfigError` naming the YAML key, the labels present and the nearest one."""
    present = set(frame[column].dropna().astype(str).unique())
    unknown = present - {label for _, label in refs}
    for key, label in refs:
        if label not in present and unknown:
            raise ConfigError(f"{key}: no unit has {column} = {label!r}{did_you_mean(label, unknown)}",
                              column=key, fix=f"use the labels of column {column!r}: {choices_text(present)}")


def ab_columns(cfg) -> list[tuple[str, str]]:
    """The columns the A/B plan reads, each with the YAML key that names it."""
    refs = [("variants.column", cfg.variants.column)]
    refs += [(f"covariates[{i}]", c) for i, c in enumerate(cfg.covariates)]
    for role in ("primary", "secondary"):
        for i, m in enumerate(getattr(cfg.metrics, role)):
            key = f"metrics.{role}[{i}]"
            if m.kind == "ratio":
                refs += [(f"{key}.numerator", m.numerator), (f"{key}.denominator", m.denominator)]
            else:
                refs.append((f"{key}.column" if m.column else f"{key}.name", m.column or m.name))
    names = {m.name for m in [*cfg.metrics.primary, *cfg.metrics.secondary]}
    refs += [(f"guardrails[{i}].metric", g.metric) for i, g in enumerate(cfg.guardrails) if g.metric not in names]
    if cfg.segments is not None:
        refs += [(f"segments.columns[{i}]", c) for i, c in enumerate(cfg.segments.columns)]
        if cfg.segments.prior_interactions:
            refs.append(("segments.prior_interactions", cfg.segments.prior_interactions))
    return refs


def holdout_columns(unit: str, h) -> list[tuple[str, str]]:
    """The columns the holdout plan reads, each with its YAML key (the default ghost column is optional)."""
    refs = [("experiment.unit", unit)] + [
        (f"holdout.{k}", getattr(h, k)) for k in ("group_col", "exposed_col", "outcome_col", "revenue_col",
                                                  "attributed_col", "cost_col") if getattr(h, k) is not None]
    refs += [(f"holdout.covariates[{i}]", c) for i, c in enumerate(h.covariates)]
    if h.ghost_col is not None and h.ghost_col != "ghost_exposed":
        refs.append(("holdout.ghost_col", h.ghost_col))
    return refs


def unique_table(frame: pd.DataFrame, unit: str, path: Path, key: str, ctx) -> pd.DataFrame:
    """One row per unit: exact repeats removed and counted in the data-quality section of ``ctx`` (a
    :class:`~recsys_causal.report.context.ReportContext`), other repeats an error."""
    from recsys_causal.checks import unique_units

    check_columns(frame, [("experiment.unit", unit)], f"{key} ({path.name})")
    frame, dedup = unique_units(frame, unit, table=str(path))
    ctx.count_duplicates(key, dedup)
    return frame
