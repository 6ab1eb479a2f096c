"""The two samples of a surrogate-index analysis, checked and accounted for: the historical sample (surrogates,
covariates and the long-term outcome) and the experiment (variant, surrogates, covariates; the long-term outcome
too in the validation mode).

Rows are never dropped silently. A row whose surrogate or covariate is missing or not finite is quarantined
(reason ``missing_surrogate_or_covariate``); a historical row without the long-term outcome (a window not yet
closed) and, in the validation mode, such an experiment row are excluded (``long_term_missing``), as are
experiment rows of other variants (``other_variant``). For each sample read = used + quarantined + excluded.

>>> import pandas as pd
>>> h = pd.DataFrame({"s": [1.0, 2.0, None, 4.0], "y": [1.0, None, 3.0, 5.0]})
>>> s = prepare_sample(h, "historical", ["s"], outcome="y")
>>> s.counts["read"], s.counts["used"], s.counts["quarantined"], s.counts["excluded"]
(4, 2, {'missing_surrogate_or_covariate': 1}, {'long_term_missing': 1})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.checks import require_columns
from recsys_causal.errors import DataValidationError, SchemaError, format_examples

MISSING_FEATURE = "missing_surrogate_or_covariate"
MISSING_OUTCOME = "long_term_missing"
OTHER_VARIANT = "other_variant"


@dataclass(frozen=True)
class Sample:
    """The usable rows of one sample: features ``z`` (surrogates then covariates), the outcome ``y`` (or
    ``None``), the treatment indicator ``treated`` (experiment only) and the accounting ``counts``."""

    name: str
    z: np.ndarray
    y: np.ndarray | None
    treated: np.ndarray | None
    counts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def reconciles(self) -> bool:
        """read = used + quarantined + excluded."""
        c = self.counts
        return c["read"] == c["used"] + sum(c["quarantined"].values()) + sum(c["excluded"].values())


def _numeric(frame: pd.DataFrame, columns: Sequence[str], name: str) -> np.ndarray:
    bad = [c for c in columns if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        raise SchemaError(f"the {name} sample's column(s) {bad} are not numeric (dtype {frame[bad[0]].dtype})",
                          source=name, column=bad[0], count=len(bad),
                          fix="encode categories as numbers (e.g. one indicator column per level) before the call")
    if not columns:
        return np.empty((len(frame), 0))
    return np.column_stack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns])


def _ids(frame: pd.DataFrame, mask: np.ndarray, unit_col: str | None) -> list:
    values = frame[unit_col] if unit_col and unit_col in frame.columns else frame.index.to_series()
    return list(values.to_numpy()[mask][:5])


def prepare_sample(
    frame: pd.DataFrame, name: str, features: Sequence[str], *, outcome: str | None = None,
    variant_col: str | None = None, arms: tuple[str, str] | None = None, unit_col: str | None = None,
) -> Sample:
    """Check one sample and keep its usable rows (``arms = (control, treatment)`` for the experiment)."""
    needed = [*features, *([outcome] if outcome else []), *([variant_col] if variant_col else [])]
    require_columns(frame, needed, what=f"the {name} sample", source=name,
                    fix="name the surrogates, covariates and outcome as they are spelt in both samples")
    n = len(frame)
    keep = np.ones(n, dtype=bool)
    excluded: dict[str, int] = {}
    notes: list[str] = []
    treated = None
    if variant_col is not None and arms is not None:
        labels = frame[variant_col].astype(str).to_numpy()
        in_arms = np.isin(labels, arms)
        if (~in_arms).any():
            excluded[OTHER_VARIANT] = int((~in_arms).sum())
            notes.append(f"{name}: {excluded[OTHER_VARIANT]} rows of variants other than {list(arms)} were excluded "
                         f"(e.g. {format_examples(_ids(frame, ~in_arms, unit_col))})")
        keep &= in_arms
        treated = labels == arms[1]
    z = _numeric(frame, features, name)
    bad_z = ~np.isfinite(z).all(axis=1) & keep
    keep &= ~bad_z
    quarantined = {MISSING_FEATURE: int(bad_z.sum())} if bad_z.any() else {}
    if bad_z.any():
        notes.append(f"{name}: {int(bad_z.sum())} rows with a missing or non-finite surrogate or covariate were "
                     f"quarantined (e.g. {format_examples(_ids(frame, bad_z, unit_col))})")
    y = None
    if outcome is not None:
        y = _numeric(frame, [outcome], name)[:, 0]
        no_y = ~np.isfinite(y) & keep
        keep &= ~no_y
        if no_y.any():
            excluded[MISSING_OUTCOME] = int(no_y.sum())
            notes.append(f"{name}: {int(no_y.sum())} rows without the long-term outcome {outcome!r} (window not "
                         f"closed) were excluded (e.g. {format_examples(_ids(frame, no_y, unit_col))})")
        y = y[keep]
    counts = {"read": n, "used": int(keep.sum()), "quarantined": quarantined, "excluded": excluded}
    return Sample(name, z[keep], y, None if treated is None else treated[keep], counts, notes)


def require_rows(sample: Sample, minimum: int, what: str, fix: str) -> None:
    """Raise :class:`DataValidationError` when fewer than ``minimum`` usable rows are left in ``what``."""
    if sample.treated is None:
        counts = {what: int(sample.counts["used"])}
    else:
        counts = {f"{what} ({arm})": int(n) for arm, n in (("control", (~sample.treated).sum()),
                                                           ("treatment", sample.treated.sum()))}
    short = {k: v for k, v in counts.items() if v < minimum}
    if short:
        first = next(iter(short))
        raise DataValidationError(f"{first} has {short[first]} usable rows, fewer than the {minimum} needed "
                                  f"(read {sample.counts['read']}, quarantined {sample.counts['quarantined']}, "
                                  f"excluded {sample.counts['excluded']})", source=sample.name,
                                  count=short[first], fix=fix)


def overlap_note(historical: pd.DataFrame, experiment: pd.DataFrame, unit_col: str | None) -> str | None:
    """A note when units of the experiment are in the historical sample too (only with ``unit_col`` in both)."""
    if not unit_col or unit_col not in historical.columns or unit_col not in experiment.columns:
        return None
    shared = np.intersect1d(historical[unit_col].dropna().to_numpy(), experiment[unit_col].dropna().to_numpy())
    if shared.size == 0:
        return None
    return (f"{shared.size} units are in both the historical sample and the experiment (e.g. "
            f"{format_examples(shared[:5])}): if those rows are the same observations, the index saw their "
            "long-term outcome and the projection is optimistic; use disjoint samples (e.g. an earlier period)")
