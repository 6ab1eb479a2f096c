"""Effects on the units that take a feature up because they were assigned (compliers), by segment.

With random assignment ``Z`` and imperfect take-up ``D``, the Wald ratio ITT(outcome) ÷ ITT(take-up) is the
average effect of take-up on compliers (Imbens & Angrist's LATE). By segment it is the same ratio within each
segment, computed here as one just-identified 2SLS with segment interactions,

``Y = Σ_s α_s 1{s} + γ'X + Σ_s β_s D·1{s}``, instruments ``1{s}``, ``X`` and ``Z·1{s}``,

with a heteroskedasticity-robust (HC1) sandwich (:func:`recsys_causal.hte.iv2sls.tsls`); ``X`` are optional
pre-period covariates (precision only: assignment is random). Without covariates ``β_s`` is exactly the
per-segment Wald ratio. Heterogeneity: the Wald χ² that every ``β_s`` is equal (``S − 1`` degrees of freedom).

>>> from recsys_causal.simulate.takeup import simulate_takeup
>>> sim = simulate_takeup(n_units=20_000, seed=3)
>>> r = complier_effects(sim.units, outcome="outcome", takeup="taken_up", assignment="assigned",
...                      segment="segment", covariates=["pre_spend"])
>>> r.estimates["complier effect: loyal"].ci_low < sim.true_segment_effects["loyal"] < r.estimates[
...     "complier effect: loyal"].ci_high
True
>>> bool(r.heterogeneity["p_value"].iloc[0] < 0.01)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.checks import check_alpha, require_columns, unique_units
from recsys_causal.errors import DataValidationError, EstimationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.hte.iv2sls import TSLSFit, tsls
from recsys_causal.results import ResultProtocol

ASSUMPTIONS = (
    "Randomisation: assignment is random and independent of potential outcomes and take-up types.",
    "Exclusion: assignment changes outcomes only through take-up.",
    "Monotonicity: no unit takes the feature up only when not assigned (no defiers).",
    "Relevance: assignment changes take-up in every segment (first-stage F reported).",
)
METHOD = "2SLS (Wald ratio ITT ÷ take-up ITT), HC1 robust SE"


@dataclass
class ComplierReadout(ResultProtocol):
    """Complier effects overall and by segment, segment differences, the heterogeneity test, first stages and
    data counts (read = used + excluded)."""

    estimates: EstimateTable
    heterogeneity: pd.DataFrame
    first_stage: pd.DataFrame
    counts: dict[str, int]
    assumptions: tuple[str, ...] = ASSUMPTIONS
    warnings: list[str] = field(default_factory=list)

    def _sections(self) -> list[tuple[str, Any]]:
        return [("estimates", self.estimates), ("Heterogeneity", self.heterogeneity),
                ("First stage", self.first_stage), ("Assumptions", list(self.assumptions))]

    def _title(self) -> str:
        return "Complier effects by segment"

    def _data(self) -> dict[str, Any]:
        return {"counts": self.counts}

    def __repr__(self) -> str:
        lines = [f"ComplierReadout({', '.join(f'{k}={v}' for k, v in self.counts.items())})"]
        lines += [f"  {e!r}" for e in self.estimates]
        lines += [f"  heterogeneity: chi2={h.chi2:.4g}, df={h.df}, p={h.p_value:.3g}"
                  for h in self.heterogeneity.itertuples()]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


def complier_effects(
    data: pd.DataFrame,
    *,
    outcome: str,
    takeup: str,
    assignment: str,
    segment: str | None = None,
    covariates: Sequence[str] = (),
    labels: tuple[object, object] | None = None,
    reference: object | None = None,
    unit_col: str = "unit_id",
    min_first_stage_f: float = 10.0,
    alpha: float = 0.05,
    source: str | None = None,
) -> ComplierReadout:
    """Complier effects (Wald / 2SLS) of take-up ``takeup`` instrumented by ``assignment`` on ``outcome``,
    overall and by ``segment``, with the differences from the ``reference`` segment (default: the first in
    sorted order) and a χ² test that all segment effects are equal.

    ``assignment`` and ``takeup`` are booleans or 0/1; with ``labels=(assigned, control)`` the assignment
    column holds those two labels (compared as text). Units with a missing outcome, take-up or segment are
    excluded and counted (``counts``); unknown assignment values and missing covariates are errors.
    """
    src = source or "complier table"
    alpha = check_alpha(alpha)
    require_columns(data, [outcome, takeup, assignment, *([segment] if segment else []), *covariates],
                    what="the unit table", source=src, fix="name the columns with outcome=, takeup=, assignment=")
    u = _prepare(data, outcome=outcome, takeup=takeup, assignment=assignment, segment=segment,
                 covariates=covariates, labels=labels, unit_col=unit_col, src=src)
    warnings = list(u["warnings"])
    est = [_overall(u, alpha)]
    het = pd.DataFrame(columns=["dimension", "chi2", "df", "p_value"])
    first = _first_stage(u, segment)
    if segment is not None:
        levels = list(u["levels"])
        ref = levels[0] if reference is None else str(reference)
        if ref not in levels:
            raise DataValidationError(f"reference segment {ref!r} is not among {levels[:5]}", source=src,
                                      column=segment, fix="pass one of the segment values as reference=")
        fit = _segment_fit(u, src, segment)
        est += _segment_estimates(fit, levels, ref, u, segment, alpha)
        chi2, df, p = fit.wald_equal(np.arange(len(levels)) + len(levels) + u["x"].shape[1])
        het = pd.DataFrame({"dimension": [segment], "chi2": [chi2], "df": [df], "p_value": [p]})
    weak = first[first["F"] < min_first_stage_f]
    if len(weak):
        warnings.append(f"weak first stage (F < {min_first_stage_f:g}) in {list(weak['segment'][:5])}: complier "
                        "effects there are unreliable and their intervals may under-cover")
    return ComplierReadout(EstimateTable(est, title="Complier effects"), het, first, u["counts"], ASSUMPTIONS,
                           warnings)


def _binary(col: pd.Series, name: str, ids: np.ndarray, src: str, labels=None) -> np.ndarray:
    """0/1 values of a boolean, 0/1 or two-label column (missing stays NaN); other values are an error."""
    if labels is not None:
        text = col.astype("string").to_numpy(dtype=object, na_value=None)
        out = np.where(text == str(labels[0]), 1.0, np.where(text == str(labels[1]), 0.0, np.nan))
        bad = pd.isna(out) & pd.notna(text)
    else:
        num = col.astype("Float64") if pd.api.types.is_bool_dtype(col) else pd.to_numeric(col, errors="coerce")
        out = num.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isnan(out) & ~np.isin(out, (0.0, 1.0)) | np.isnan(out) & col.notna().to_numpy()
    if bad.any():
        raise DataValidationError(f"{int(bad.sum())} units have {name} values that are not 0/1",
                                  source=src, column=name, count=int(bad.sum()), examples=ids[bad][:5],
                                  fix="use booleans or 0/1, or pass labels=(assigned, control)")
    return out


def _prepare(data, *, outcome, takeup, assignment, segment, covariates, labels, unit_col, src) -> dict:
    units, dedup = unique_units(data, unit_col, table=src) if unit_col in data.columns else (data, None)
    ids = units[unit_col].to_numpy() if unit_col in units.columns else np.arange(len(units))
    z = _binary(units[assignment], assignment, ids, src, labels)
    if np.isnan(z).any():
        raise DataValidationError(f"{int(np.isnan(z).sum())} units have no {assignment}", source=src,
                                  column=assignment, count=int(np.isnan(z).sum()), examples=ids[np.isnan(z)][:5],
                                  fix="every analysed unit needs its randomised assignment")
    d = _binary(units[takeup], takeup, ids, src)
    y = pd.to_numeric(units[outcome], errors="coerce").to_numpy(dtype=float)
    seg = (units[segment].astype("string").to_numpy(dtype=object, na_value=None) if segment
           else np.full(len(units), "all", dtype=object))
    reasons = {"missing_outcome": np.isnan(y), "missing_takeup": np.isnan(d) & ~np.isnan(y),
               "missing_segment": pd.isna(seg) & ~np.isnan(y) & ~np.isnan(d)}
    keep = ~np.logical_or.reduce(list(reasons.values()))
    x = units[list(covariates)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)[keep]
    if np.isnan(x).any():
        bad = np.isnan(x).any(axis=1)
        raise DataValidationError(f"pre-period covariates are missing for {int(bad.sum())} units", source=src,
                                  column=str(np.asarray(covariates)[np.isnan(x).any(axis=0)][0]),
                                  count=int(bad.sum()), examples=ids[keep][bad][:5],
                                  fix="impute pre-period covariates (e.g. 0 activity) before the analysis")
    n_dup = dedup.rows_removed if dedup is not None else 0
    counts = {"rows_read": len(units) + n_dup, "duplicate_rows_removed": n_dup, "used": int(keep.sum()),
              **{k: int(v.sum()) for k, v in reasons.items()}}
    warnings = [dedup.message()] if dedup is not None and dedup.rows_removed else []
    warnings += [f"{v} units with {k.replace('_', ' ')} excluded (not counted as 0)" for k, v in counts.items()
                 if k.startswith("missing") and v]
    levels = sorted(pd.unique(seg[keep]))
    return {"y": y[keep], "d": d[keep], "z": z[keep], "x": x - x.mean(axis=0), "seg": seg[keep],
            "levels": levels, "counts": counts, "warnings": warnings, "ids": ids[keep]}


def _overall(u: dict, alpha: float) -> Estimate:
    one = np.ones((len(u["y"]), 1))
    fit = tsls(u["y"], np.hstack([one, u["x"], u["d"][:, None]]), np.hstack([one, u["x"], u["z"][:, None]]))
    return Estimate.from_normal(name="complier effect (all units)", value=fit.params[-1], se=fit.bse[-1],
                                n=fit.n, method=METHOD + (" + covariates" if u["x"].shape[1] else ""),
                                alpha=alpha, details={"quantity": "complier effect", "segment": "all"})


def _segment_fit(u: dict, src: str, segment: str) -> TSLSFit:
    S = (u["seg"][:, None] == np.asarray(u["levels"], dtype=object)[None, :]).astype(float)
    arms = np.stack([(S * u["z"][:, None]).sum(0), (S * (1 - u["z"][:, None])).sum(0)])
    small = [lv for lv, m in zip(u["levels"], arms.min(axis=0), strict=True) if m < 2]
    if small:
        raise EstimationError(f"segments {small[:5]} have fewer than 2 units in an arm", source=src,
                              column=segment, fix="merge small segments before the analysis")
    return tsls(u["y"], np.hstack([S, u["x"], S * u["d"][:, None]]), np.hstack([S, u["x"], S * u["z"][:, None]]))


def _segment_estimates(fit: TSLSFit, levels: list, ref: str, u: dict, segment: str, alpha: float) -> list:
    k0 = len(levels) + u["x"].shape[1]
    n_seg = {lv: int((u["seg"] == lv).sum()) for lv in levels}
    method = METHOD + (" + covariates" if u["x"].shape[1] else "")
    out = [Estimate.from_normal(name=f"complier effect: {lv}", value=fit.params[k0 + i], se=fit.bse[k0 + i],
                                n=n_seg[lv], method=method, alpha=alpha,
                                details={"quantity": "complier effect", "segment": lv, "dimension": segment})
           for i, lv in enumerate(levels)]
    r = levels.index(ref)
    for i, lv in enumerate(levels):
        if i == r:
            continue
        c = np.zeros(len(fit.params))
        c[k0 + i], c[k0 + r] = 1.0, -1.0
        value, se = fit.contrast(c)
        out.append(Estimate.from_normal(name=f"difference: {lv} − {ref}", value=value, se=se,
                                        n=n_seg[lv] + n_seg[ref], method=method, alpha=alpha,
                                        details={"quantity": "complier effect difference", "segment": lv,
                                                 "reference": ref, "dimension": segment}))
    return out


def _first_stage(u: dict, segment: str | None) -> pd.DataFrame:
    """Take-up by arm and the first-stage F (squared robust t of the take-up difference) per segment."""
    frame = pd.DataFrame({"segment": u["seg"], "z": u["z"], "d": u["d"]})
    g = frame.groupby(["segment", "z"])["d"].agg(["mean", "var", "count"]).unstack("z")
    diff = g[("mean", 1.0)] - g[("mean", 0.0)]
    se = np.sqrt(g[("var", 1.0)] / g[("count", 1.0)] + g[("var", 0.0)] / g[("count", 0.0)])
    out = pd.DataFrame({"segment": g.index.astype(str), "units": (g[("count", 1.0)] + g[("count", 0.0)]).to_numpy(),
                        "takeup_assigned": g[("mean", 1.0)].to_numpy(), "takeup_control": g[("mean", 0.0)].to_numpy(),
                        "first_stage": diff.to_numpy(),
                        "F": np.divide(diff ** 2, se ** 2, out=np.full(len(g), np.inf), where=se > 0)})
    return out.reset_index(drop=True) if segment else out.assign(segment="all").reset_index(drop=True)
