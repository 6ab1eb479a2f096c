"""Incrementality holdout readout: intent-to-treat, effect on the exposed (Wald and ghost), over-credit.

>>> from recsys_causal.simulate import simulate_holdout
>>> h = simulate_holdout(n_units=20_000, seed=1)
>>> r = analyze_holdout(h.units, revenue_col="revenue", attributed_col="attributed", cost_col="cost",
...                     covariates=["pre_conversions"])
>>> [e.name for e in r.estimates][:3]
['exposure rate (treated)', 'exposure rate (holdout)', 'ITT lift (absolute)']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.caveats import AssumptionWarning, DataQualityWarning, caveat, emits_caveats
from recsys_causal.checks import check_alpha, require_columns, unique_units
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError, DataValidationError, EstimationError
from recsys_causal.estimate import Estimate, EstimatesView, EstimateTable
from recsys_causal.experiments.covariate_checks import check_cuped_covariates
from recsys_causal.frames import to_pandas
from recsys_causal.kernel import (
    Linearized,
    cuped_adjust,
    fieller_interval,
    group_mean,
    ratio,
)
from recsys_causal.logs.model import DecisionLog

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
    log_units: Any = field(default=None, repr=False)  # HoldoutUnits when read from a decision log

    def __repr__(self) -> str:
        head = "HoldoutReadout(" + ", ".join(f"{k}={v}" for k, v in self.counts.items()) + ")"
        lines = [head] + [f"  {e!r}" for e in self.estimates] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _sections(self) -> list[tuple[str, Any]]:
        return [("estimates", self.estimates), ("Assumptions", list(self.assumptions))]

    def _data(self) -> dict[str, Any]:
        return {"counts": self.counts}

    def plot(self, quantities: Sequence[str] | None = ("lift", "effect on exposed", "relative lift")):
        """A matplotlib Figure (shown inline in Jupyter) of the estimates of ``quantities`` (``None``: all) with
        their intervals, one panel per scale: the absolute effects on an outcome (ITT lift and effects on the
        exposed) together, every other quantity and metric apart."""
        from recsys_causal.plotting import Rows, rows_figure

        def scale(e: Estimate) -> tuple[str, str]:
            q = e.details.get("quantity", e.name)
            return ("effect" if q in ("lift", "effect on exposed") else q, e.details.get("metric", ""))

        chosen = [e for e in self.estimates if quantities is None or e.details.get("quantity") in quantities]
        groups: dict[tuple[str, str], list[Estimate]] = {}
        for e in chosen:
            groups.setdefault(scale(e), []).append(e)
        return rows_figure(*(Rows.of(es, title=f"{q} on {m}" if m else q, xlabel=q) for (q, m), es in groups.items()),
                           what=f"estimates of {list(quantities or [])}")


@dataclass
class _Units:
    """The validated unit table of a holdout: the used rows, their ids, arms, outcome and exposure."""

    rows: pd.DataFrame
    ids: np.ndarray
    treated: np.ndarray
    y: np.ndarray
    exposed: np.ndarray
    leak: np.ndarray
    missing: int
    n_read: int
    n_dup: int
    warnings: list[str]

    @property
    def holdout(self) -> np.ndarray:
        return ~self.treated


@renamed_arguments(units="data")
@emits_caveats
def analyze_holdout(
    data: pd.DataFrame,
    *,
    group_col: str = "group",
    holdout_label: object = "holdout",
    treated_label: object = "treated",
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
    **log_options: Any,
) -> HoldoutReadout:
    """Analyse a holdout from a unit-level table ``data`` (one row per unit; the old keyword ``units`` is
    deprecated), or from a :class:`~recsys_causal.logs.model.DecisionLog` with a holdout arm (``log_options``:
    ``window``, ``as_of``, ``module``, ``unit_table``, ... of :func:`~recsys_causal.incrementality.from_log.
    analyze_holdout_log`; ``outcome_col`` names the outcome, ``group_col`` defaults to the log's ``variant``).

    Group labels are compared as text (``str(label)``), so integer labels such as ``0`` / ``1`` work. Units with
    a missing outcome are excluded and counted (unknown is not zero). Exact duplicate rows of a ``unit_col``
    value are removed and counted (``counts["duplicate_rows_removed"]``), conflicting repeats are an error.
    ``covariates`` are pre-period columns used for CUPED adjustment of the ITT and Wald estimates.
    """
    if isinstance(data, DecisionLog):
        return _from_log(data, locals())
    data = to_pandas(data, what="analyze_holdout")
    src = source or "holdout units"
    alpha = check_alpha(alpha)
    if ghost_col == "ghost_exposed" and ghost_col not in data.columns:  # the default: optional
        ghost_col = None
    cols = [group_col, exposed_col, outcome_col, *covariates]
    cols += [c for c in (ghost_col, revenue_col, attributed_col, cost_col) if c is not None]
    require_columns(data, cols, what="the unit table", source=src, fix="name the columns with the *_col arguments")
    units = _validated_units(data, group_col=group_col, holdout_label=str(holdout_label),
                             treated_label=str(treated_label), outcome_col=outcome_col, exposed_col=exposed_col,
                             covariates=covariates, unit_col=unit_col, src=src)
    assumptions, wald_warn = _exposure_assumptions(units, allow_holdout_exposure, exposed_col, src)
    if attributed_col is not None:
        _check_attribution(units, attributed_col, src)
    if min(units.treated.sum(), units.holdout.sum()) < 2:
        raise EstimationError("each group needs at least 2 units", source=src, fix="check the group labels")
    warnings = units.warnings
    warnings += check_cuped_covariates(units.rows, covariates, {outcome_col: units.y}, units.treated,
                                       comparison="treated vs holdout",
                                       refuse_imbalance=False)  # collinear: an error; imbalanced: a warning
    est = _HoldoutEstimates(units, covariates, alpha, metric=outcome_col)
    est.itt_and_wald(wald_warn, exposed_col, src)
    if ghost_col is not None:
        est.ghost(ghost_col)
    est.incremental(revenue_col, cost_col)
    if attributed_col is not None:
        est.over_credit(attributed_col)
    return HoldoutReadout(EstimateTable(est.out, title="Incrementality holdout"), _counts(units), assumptions,
                          warnings + est.warnings)


def _counts(units: _Units) -> dict[str, int]:
    n_t, n_h = int(units.treated.sum()), int(units.holdout.sum())
    return {"units": units.n_read - units.n_dup, "used": n_t + n_h, "treated": n_t, "holdout": n_h,
            "missing_outcome": units.missing, "holdout_exposed": int(units.leak.sum()),
            "rows_read": units.n_read, "duplicate_rows_removed": units.n_dup}


def _from_log(log: DecisionLog, args: dict[str, Any]) -> HoldoutReadout:
    """``analyze_holdout`` on a decision log: its table options mapped onto :func:`analyze_holdout_log`."""
    from recsys_causal.incrementality.from_log import analyze_holdout_log

    options = dict(args.pop("log_options"))
    group = args["group_col"]
    if "variant_col" not in options and (group != "group" or group in log.requests.columns):
        options["variant_col"] = group
    if args["unit_col"] != "unit_id":
        options.setdefault("unit_col", args["unit_col"])
    table_only = {"exposed_col": "exposed", "ghost_col": "ghost_exposed"}
    changed = [k for k, v in table_only.items() if args[k] != v]
    if changed:
        raise ConfigError(f"{changed[0]} names a unit-table column; from a decision log exposure and ghost "
                          "exposure are derived from shown and suppressed module items", column=changed[0],
                          fix="drop it, or pass the unit table instead of the log")
    keep = ("holdout_label", "treated_label", "revenue_col", "attributed_col", "cost_col", "covariates",
            "allow_holdout_exposure", "alpha", "source")
    return analyze_holdout_log(log, outcome=args["outcome_col"], **{k: args[k] for k in keep}, **options)


def _validated_units(data: pd.DataFrame, *, group_col: str, holdout_label: str, treated_label: str,
                     outcome_col: str, exposed_col: str, covariates: Sequence[str], unit_col: str,
                     src: str) -> _Units:
    """One row per unit with a known group and an outcome; unknown groups and missing covariates are errors."""
    units, dedup = unique_units(data, unit_col, table=src) if unit_col in data.columns else (data, None)
    ids = units[unit_col].to_numpy() if unit_col in units.columns else np.arange(len(units))
    group = units[group_col].astype("string").to_numpy(dtype=object, na_value=None)
    bad = (group != holdout_label) & (group != treated_label)
    if bad.any():
        raise DataValidationError(
            f"{int(bad.sum())} units have unknown {group_col} values {list(pd.unique(group[bad])[:5])}",
            source=src, column=group_col, count=int(bad.sum()), examples=ids[bad][:5],
            fix=f"use {holdout_label!r} / {treated_label!r} or pass holdout_label= and treated_label=")
    y_all = pd.to_numeric(units[outcome_col], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(y_all)
    warnings = [dedup.message()] if dedup is not None and dedup.rows_removed else []
    if (~keep).any():
        warnings.append(caveat(f"{int((~keep).sum())} units with missing {outcome_col} excluded (not counted as 0)",
                               DataQualityWarning))
    for c in covariates:
        cv = pd.to_numeric(units[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(cv[keep]).any():
            raise DataValidationError(f"covariate {c!r} is missing for {int(np.isnan(cv[keep]).sum())} units",
                                      source=src, column=c, examples=ids[keep & np.isnan(cv)][:5],
                                      fix="impute pre-period covariates (e.g. 0 interactions) before the analysis")
    rows = units.loc[keep]
    treated = group[keep] == treated_label
    exposed = _bool(rows[exposed_col])
    n_dup = dedup.rows_removed if dedup is not None else 0
    return _Units(rows, ids[keep], treated, y_all[keep], exposed, ~treated & exposed, int((~keep).sum()),
                  int(len(units)) + n_dup, n_dup, warnings)


def _exposure_assumptions(units: _Units, allow_holdout_exposure: bool, exposed_col: str,
                          src: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The assumptions and the Wald warning: exposed holdout units are an error, or (when allowed) turn the
    Wald estimate into a complier effect under two-sided non-compliance."""
    leak = units.leak
    if not leak.any():
        return ASSUMPTIONS, ()
    if not allow_holdout_exposure:
        raise DataValidationError(
            f"{int(leak.sum())} holdout units are recorded as exposed (a holdout leak)", source=src,
            column=exposed_col, count=int(leak.sum()), examples=units.ids[leak][:5],
            fix="fix the suppression of the module for the holdout; pass allow_holdout_exposure=True (YAML: "
                "holdout.allow_holdout_exposure: true) to analyse with two-sided non-compliance (a complier effect)")
    assumptions = tuple(TWO_SIDED.format(n=int(leak.sum())) if a.startswith("One-sided") else a
                        for a in ASSUMPTIONS)
    wald_warn = (f"{int(leak.sum())} holdout units were exposed (allow_holdout_exposure): the Wald estimate is "
                 "the effect on compliers, not on all exposed units (two-sided non-compliance)",)
    units.warnings.append(caveat(wald_warn[0] + "; fix the holdout suppression to measure the effect on the exposed",
                                 AssumptionWarning))
    return assumptions, wald_warn


def _check_attribution(units: _Units, attributed_col: str, src: str) -> None:
    attributed = pd.to_numeric(units.rows[attributed_col], errors="coerce").fillna(0).to_numpy(dtype=float)
    over = attributed > units.y + 1e-12
    if over.any():
        raise DataValidationError(
            f"{int(over.sum())} units have more attributed conversions than conversions", source=src,
            column=attributed_col, count=int(over.sum()), examples=units.ids[over][:5],
            fix="attribution must credit a subset of the unit's conversions; check the attribution join")


class _HoldoutEstimates:
    """Builds the holdout's estimates in order; CUPED-adjusted outcomes when covariates are given."""

    def __init__(self, units: _Units, covariates: Sequence[str], alpha: float, metric: str) -> None:
        self.u, self.alpha, self.metric = units, alpha, metric
        self.z = float(stats.norm.ppf(1 - alpha / 2))
        self.x = units.rows[list(covariates)].to_numpy(dtype=float) if covariates else None
        self.sfx = " + CUPED" if self.x is not None else ""
        self.n_t = int(units.treated.sum())
        self.out: list[Estimate] = []
        self.warnings: list[str] = []

    def adjusted(self, values: np.ndarray) -> np.ndarray:
        # CUPED on the holdout's own arms (cuped_adjust); to move onto the kernel's CUPED from moments
        return cuped_adjust(values, self.x, self.u.treated.astype(int)) if self.x is not None else values

    def contrast(self, values: np.ndarray) -> Linearized:
        return group_mean(values, self.u.treated) - group_mean(values, self.u.holdout)

    def add(self, name: str, lin: Linearized, method: str, quantity: str, *, ci: tuple[float, float] | None = None,
            null: float | None = 0.0, warn: tuple[str, ...] = (), metric: str | None = None) -> Estimate:
        est = Estimate.from_normal(name=name, value=lin.value, se=lin.se, n=len(self.u.y), method=method,
                                   alpha=self.alpha, null=null, warnings=warn,
                                   details={"quantity": quantity, "metric": metric or self.metric})
        if ci is not None:
            est = replace(est, ci_low=ci[0], ci_high=ci[1])
        self.out.append(est)
        return est

    def itt_and_wald(self, wald_warn: tuple[str, ...], exposed_col: str, src: str) -> None:
        u, e = self.u, self.u.exposed.astype(float)
        self.add("exposure rate (treated)", group_mean(e, u.treated), "mean", "value", null=None, metric=exposed_col)
        self.add("exposure rate (holdout)", group_mean(e, u.holdout), "mean", "value", null=None, metric=exposed_col)
        self.itt = self.contrast(self.adjusted(u.y))
        itt_est = self.add("ITT lift (absolute)", self.itt, "difference in means" + self.sfx, "lift")
        base = group_mean(u.y, u.holdout)
        # relative lift: delta method (ratio) with a Fieller interval; to move onto the kernel's relative lift
        rel = self.add("ITT lift (relative)", ratio(self.itt, base), "Fieller interval" + self.sfx, "relative lift",
                       ci=fieller_interval(self.itt, base, self.z))
        self.out[-1] = replace(rel, p_value=itt_est.p_value)  # one hypothesis: the ITT's p-value
        first_stage = self.contrast(self.adjusted(e))
        if abs(first_stage.value) < 1e-12 or first_stage.se == 0 and first_stage.value == 0:
            raise EstimationError("exposure does not differ between treated and holdout: the effect on the exposed "
                                  "is not identified", source=src, column=exposed_col,
                                  fix="check that exposure is logged for treated units")
        self.add("effect on exposed (Wald)", ratio(self.itt, first_stage), "Wald / Bloom (delta method)" + self.sfx
                 + ("; complier effect (two-sided non-compliance)" if wald_warn else ""), "effect on exposed",
                 warn=wald_warn)

    def ghost(self, ghost_col: str) -> None:
        u = self.u
        exposed_t, ghost_h = u.treated & u.exposed, u.holdout & _bool(u.rows[ghost_col])
        if exposed_t.sum() >= 2 and ghost_h.sum() >= 2:
            self.add("effect on exposed (ghost)", group_mean(u.y, exposed_t) - group_mean(u.y, ghost_h),
                     "exposed treated vs ghost-exposed holdout (Welch)", "effect on exposed")
        else:
            self.warnings.append("too few exposed or ghost-exposed units for the ghost comparison")

    def incremental(self, revenue_col: str | None, cost_col: str | None) -> None:
        self.add("incremental conversions (treated population)", self.itt.scale(self.n_t),
                 "ITT × treated units" + self.sfx, "incremental total")
        if revenue_col is None:
            return
        rev = pd.to_numeric(self.u.rows[revenue_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        inc_rev = self.contrast(self.adjusted(rev)).scale(self.n_t)
        self.add("incremental revenue (treated population)", inc_rev, "ITT × treated units" + self.sfx,
                 "incremental total", metric=revenue_col)
        if cost_col is None:
            return
        cost = float(pd.to_numeric(self.u.rows[cost_col], errors="coerce").fillna(0).to_numpy()[self.u.treated].sum())
        if cost > 0:
            self.add("iROAS", inc_rev.scale(1 / cost), "incremental revenue / cost", "ratio", null=None,
                     metric=revenue_col)
        else:
            self.warnings.append("total cost of the treated group is 0: iROAS not computed")

    def over_credit(self, attributed_col: str) -> None:
        attributed = pd.to_numeric(self.u.rows[attributed_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        credited = group_mean(attributed, self.u.treated)
        ci = fieller_interval(credited, self.itt, self.z)
        warn = () if np.isfinite(ci[0]) else (
            "incremental conversions are not distinguishable from 0, so the over-credit ratio is unbounded",)
        self.add("attribution over-credit (attributed / incremental)", ratio(credited, self.itt),
                 "ratio, Fieller interval", "ratio", ci=ci, null=1.0, warn=warn, metric=attributed_col)


def _bool(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).to_numpy(dtype=bool)
    return pd.to_numeric(col, errors="coerce").fillna(0).to_numpy(dtype=float) > 0
