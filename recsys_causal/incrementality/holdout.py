"""Incrementality holdout readout: intent-to-treat, effect on the exposed (Wald and ghost), over-credit.

>>> from recsys_causal.simulate import simulate_holdout
>>> h = simulate_holdout(n_units=20_000, seed=1)
>>> r = analyze_holdout(h.units, revenue_col="revenue", attributed_col="attributed", cost_col="cost",
...                     covariates=["pre_conversions"])
>>> [e.name for e in r.estimates][:3]
['exposure rate (treated)', 'exposure rate (holdout)', 'ITT lift (absolute)']
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.checks import check_alpha, require_columns, require_frame, unique_units
from recsys_causal.contrast import (
    Linearized,
    cuped_adjust,
    fieller_interval,
    group_mean,
    ratio,
)
from recsys_causal.errors import DataValidationError, EstimationError
from recsys_causal.estimate import Estimate, EstimatesView, EstimateTable
from recsys_causal.experiments.covariate_checks import check_cuped_covariates

ASSUMPTIONS = (
    "Randomisation: holdout membership is random and independent of outcomes.",
    "Exclusion (Wald): assignment changes outcomes only through exposure to the module.",
    "One-sided non-compliance (Wald): holdout units cannot be exposed, so ITT / exposure-rate difference is the "
    "average effect on the exposed.",
    "Ghost exposures: the holdout's ghost-exposure flag marks exactly the units that would have been exposed, "
    "with the same rule as in the treated group.",
    "No interference: one unit's exposure does not change another unit's outcome.",
)
#: Replaces the one-sided non-compliance assumption when holdout units were exposed (allow_holdout_exposure).
TWO_SIDED = ("Two-sided non-compliance (Wald): {n} holdout units were exposed, so ITT / exposure-rate difference is "
             "the average effect on compliers (units exposed because they were not held out), not on every exposed "
             "unit; it also needs monotonicity (no unit is exposed only when held out).")


@dataclass
class HoldoutReadout(EstimatesView):
    """All holdout estimates (an :class:`EstimateTable`), the assumptions behind them and data counts."""

    estimates: EstimateTable
    counts: dict[str, int]
    assumptions: tuple[str, ...] = ASSUMPTIONS
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        head = "HoldoutReadout(" + ", ".join(f"{k}={v}" for k, v in self.counts.items()) + ")"
        lines = [head] + [f"  {e!r}" for e in self.estimates] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(a)}</li>" for a in self.assumptions)
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (self.estimates._repr_html_() + f"<p>Assumptions</p><ul>{items}</ul>"
                + (f"<p>Warnings</p><ul>{warn}</ul>" if warn else ""))


def analyze_holdout(
    units: pd.DataFrame,
    *,
    group_col: str = "group",
    holdout_label: str = "holdout",
    treated_label: str = "treated",
    exposed_col: str = "exposed",
    ghost_col: str | None = "ghost_exposed",
    outcome_col: str = "converted",
    revenue_col: str | None = None,
    attributed_col: str | None = None,
    cost_col: str | None = None,
    covariates: Sequence[str] = (),
    unit_col: str = "unit_id",
    allow_holdout_exposure: bool = False,
    alpha: float = 0.05,
    source: str | None = None,
) -> HoldoutReadout:
    """Analyse a holdout from a unit-level table (one row per unit).

    Units with a missing outcome are excluded and counted (unknown is not zero). Exact duplicate rows of a
    ``unit_col`` value are removed and counted (``counts["duplicate_rows_removed"]``); repeated units whose rows
    differ are an error. ``covariates`` are
    pre-period columns used for CUPED adjustment of the ITT and Wald estimates.
    """
    src = source or "holdout units"
    require_frame(units, "analyze_holdout", "pass the unit table (one row per unit, with group and outcome columns)")
    alpha = check_alpha(alpha)
    cols = [group_col, exposed_col, outcome_col, *covariates]
    cols += [c for c in (ghost_col, revenue_col, attributed_col, cost_col) if c is not None]
    if ghost_col == "ghost_exposed" and ghost_col not in units.columns:  # the default: optional
        ghost_col = None
        cols.remove("ghost_exposed")
    require_columns(units, cols, what="the unit table", source=src, fix="name the columns with the *_col arguments")
    units, dedup = unique_units(units, unit_col, table=src) if unit_col in units.columns else (units, None)
    ids = units[unit_col].to_numpy() if unit_col in units.columns else np.arange(len(units))
    group = units[group_col].astype("string").to_numpy(dtype=object, na_value=None)
    unknown = pd.unique(group[(group != holdout_label) & (group != treated_label)])
    if unknown.size:
        bad = (group != holdout_label) & (group != treated_label)
        raise DataValidationError(
            f"{int(bad.sum())} units have unknown {group_col} values {list(unknown[:5])}", source=src,
            column=group_col, count=int(bad.sum()), examples=ids[bad][:5],
            fix=f"use {holdout_label!r} / {treated_label!r} or pass holdout_label= and treated_label=")
    y_all = pd.to_numeric(units[outcome_col], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(y_all)
    warnings = [dedup.message()] if dedup is not None and dedup.rows_removed else []
    if (~keep).any():
        warnings.append(f"{int((~keep).sum())} units with missing {outcome_col} excluded (not counted as 0)")
    for c in covariates:
        cv = pd.to_numeric(units[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(cv[keep]).any():
            raise DataValidationError(f"covariate {c!r} is missing for {int(np.isnan(cv[keep]).sum())} units",
                                      source=src, column=c, examples=ids[keep & np.isnan(cv)][:5],
                                      fix="impute pre-period covariates (e.g. 0 interactions) before the analysis")
    u = units.loc[keep]
    ids = ids[keep]
    treated = (group[keep] == treated_label)
    holdout = ~treated
    y = y_all[keep]
    exposed = _bool(u[exposed_col])
    leak = holdout & exposed
    if leak.any() and not allow_holdout_exposure:
        raise DataValidationError(
            f"{int(leak.sum())} holdout units are recorded as exposed (a holdout leak)", source=src,
            column=exposed_col, count=int(leak.sum()), examples=ids[leak][:5],
            fix="fix the suppression of the module for the holdout; pass allow_holdout_exposure=True (YAML: "
                "holdout.allow_holdout_exposure: true) to analyse with two-sided non-compliance (a complier effect)")
    assumptions = ASSUMPTIONS
    wald_warn: tuple[str, ...] = ()
    if leak.any():
        assumptions = tuple(TWO_SIDED.format(n=int(leak.sum())) if a.startswith("One-sided") else a
                            for a in ASSUMPTIONS)
        wald_warn = (f"{int(leak.sum())} holdout units were exposed (allow_holdout_exposure): the Wald estimate is "
                     "the effect on compliers, not on all exposed units (two-sided non-compliance)",)
        warnings.append(wald_warn[0] + "; fix the holdout suppression to measure the effect on the exposed")
    if attributed_col is not None:
        attributed = pd.to_numeric(u[attributed_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        over = attributed > y + 1e-12
        if over.any():
            raise DataValidationError(
                f"{int(over.sum())} units have more attributed conversions than conversions", source=src,
                column=attributed_col, count=int(over.sum()), examples=ids[over][:5],
                fix="attribution must credit a subset of the unit's conversions; check the attribution join")
    n_t, n_h = int(treated.sum()), int(holdout.sum())
    if min(n_t, n_h) < 2:
        raise EstimationError("each group needs at least 2 units", source=src, fix="check the group labels")

    warnings += check_cuped_covariates(u, covariates, {outcome_col: y}, treated, comparison="treated vs holdout",
                                       refuse_imbalance=False)  # collinear: an error; imbalanced: a warning
    z = float(stats.norm.ppf(1 - alpha / 2))
    x = u[list(covariates)].to_numpy(dtype=float) if covariates else None
    groups = treated.astype(int)
    y_adj = cuped_adjust(y, x, groups) if x is not None else y
    e = exposed.astype(float)
    e_adj = cuped_adjust(e, x, groups) if x is not None else e
    method_sfx = " + CUPED" if x is not None else ""

    out: list[Estimate] = []

    def add(name, lin: Linearized, method, ci=None, null=0.0, extra_warn=()):
        est = Estimate.from_normal(name=name, value=lin.value, se=lin.se, n=n_t + n_h, method=method, alpha=alpha,
                                   null=null, warnings=extra_warn)
        if ci is not None:
            est = Estimate(**{**est.__dict__, "ci_low": ci[0], "ci_high": ci[1]})
        out.append(est)
        return est

    rate_t, rate_h = group_mean(e, treated), group_mean(e, holdout)
    add("exposure rate (treated)", rate_t, "mean", null=None)
    add("exposure rate (holdout)", rate_h, "mean", null=None)
    itt = group_mean(y_adj, treated) - group_mean(y_adj, holdout)
    itt_est = add("ITT lift (absolute)", itt, "difference in means" + method_sfx)
    base = group_mean(y, holdout)
    rel = add("ITT lift (relative)", ratio(itt, base), "Fieller interval" + method_sfx, ci=fieller_interval(itt, base, z))
    out[-1] = Estimate(**{**rel.__dict__, "p_value": itt_est.p_value})  # one hypothesis: the ITT's p-value
    first_stage = group_mean(e_adj, treated) - group_mean(e_adj, holdout)
    if abs(first_stage.value) < 1e-12 or first_stage.se == 0 and first_stage.value == 0:
        raise EstimationError("exposure does not differ between treated and holdout: the effect on the exposed "
                              "is not identified", source=src, column=exposed_col,
                              fix="check that exposure is logged for treated units")
    wald = ratio(itt, first_stage)
    add("effect on exposed (Wald)", wald, "Wald / Bloom (delta method)" + method_sfx
        + ("; complier effect (two-sided non-compliance)" if wald_warn else ""), extra_warn=wald_warn)
    if ghost_col is not None:
        ghost = _bool(u[ghost_col])
        exposed_t, ghost_h = treated & exposed, holdout & ghost
        if exposed_t.sum() >= 2 and ghost_h.sum() >= 2:
            add("effect on exposed (ghost)", group_mean(y, exposed_t) - group_mean(y, ghost_h),
                "exposed treated vs ghost-exposed holdout (Welch)")
        else:
            warnings.append("too few exposed or ghost-exposed units for the ghost comparison")
    inc_conv = itt.scale(n_t)
    add("incremental conversions (treated population)", inc_conv, "ITT × treated units" + method_sfx)
    if revenue_col is not None:
        rev = pd.to_numeric(u[revenue_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        rev_adj = cuped_adjust(rev, x, groups) if x is not None else rev
        inc_rev = (group_mean(rev_adj, treated) - group_mean(rev_adj, holdout)).scale(n_t)
        add("incremental revenue (treated population)", inc_rev, "ITT × treated units" + method_sfx)
        if cost_col is not None:
            cost = float(pd.to_numeric(u[cost_col], errors="coerce").fillna(0).to_numpy()[treated].sum())
            if cost > 0:
                add("iROAS", inc_rev.scale(1 / cost), "incremental revenue / cost", null=None)
            else:
                warnings.append("total cost of the treated group is 0: iROAS not computed")
    if attributed_col is not None:
        attributed = pd.to_numeric(u[attributed_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        credited = group_mean(attributed, treated)
        over_credit = ratio(credited, itt)
        ci = fieller_interval(credited, itt, z)
        warn = () if np.isfinite(ci[0]) else (
            "incremental conversions are not distinguishable from 0, so the over-credit ratio is unbounded",)
        add("attribution over-credit (attributed / incremental)", over_credit, "ratio, Fieller interval",
            ci=ci, null=1.0, extra_warn=warn)
    n_dup = dedup.rows_removed if dedup is not None else 0
    counts = {"units": int(len(units)), "used": n_t + n_h, "treated": n_t, "holdout": n_h,
              "missing_outcome": int((~keep).sum()), "holdout_exposed": int(leak.sum()),
              "rows_read": int(len(units)) + n_dup, "duplicate_rows_removed": n_dup}
    return HoldoutReadout(EstimateTable(out, title="Incrementality holdout"), counts, assumptions, warnings)


def _bool(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).to_numpy(dtype=bool)
    return pd.to_numeric(col, errors="coerce").fillna(0).to_numpy(dtype=float) > 0
