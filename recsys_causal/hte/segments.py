"""Treatment effects by pre-defined segment, heterogeneity tests and harm detection.

Per segment and metric: difference in means (Welch standard error; CUPED within the segment when pre-period
covariates are given). Heterogeneity: Cochran's Q across segments (statsmodels meta-analysis) and a joint Wald
test of the treatment × segment interactions (statsmodels OLS, HC1). Each segment is also compared with the
rest of the population. Multiplicity across segments: Holm (default) or Benjamini–Hochberg (statsmodels).
Harm: a one-sided test that the segment is worse in the metric's bad direction, adjusted across segments.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> units = pd.DataFrame({"variant": rng.choice(["control", "treatment"], 4000),
...                       "device": rng.choice(["ios", "android"], 4000)})
>>> units["clicks"] = rng.normal(size=4000) + 0.2 * (units.variant == "treatment")
>>> r = segment_effects(units, metrics=["clicks"], segments=["device"])
>>> sorted(r.effects.to_frame()["segment"])
['android', 'ios']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.caveats import DataQualityWarning, caveat, emits_caveats
from recsys_causal.checks import require_columns, unique_units
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import DataValidationError, SchemaError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.frames import to_pandas
from recsys_causal.kernel import cuped_adjust, group_mean
from recsys_causal.kernel.contrast import arm_mean, welch_df
from recsys_causal.kernel.multiplicity import adjust_pvalues
from recsys_causal.logs.segments import lifecycle_segment
from recsys_causal.results import ResultProtocol

DIRECTIONS = ("decrease_is_bad", "increase_is_bad")
SMALL = "other (small segments)"


@dataclass
class SegmentReadout(ResultProtocol):
    """Segment effects, heterogeneity tests, segment-vs-rest comparisons and harm flags."""

    effects: EstimateTable
    heterogeneity: pd.DataFrame
    versus_rest: pd.DataFrame
    harms: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.effects.to_frame()

    def forest_plot(self, metric: str, dimension: str | None = None):
        """A matplotlib forest plot of the segment effects of one metric (returns the Figure)."""
        from recsys_causal.hte.plots import forest_plot

        frame = self.to_frame()
        frame = frame[frame["metric"] == metric]
        if dimension is not None:
            frame = frame[frame["dimension"] == dimension]
        return forest_plot(frame, title=f"{metric}: effect by segment")

    def plot(self, metric: str | None = None, dimension: str | None = None):
        """A matplotlib forest plot (Figure, shown inline in Jupyter) of the segment effects of ``metric``
        (default: the only one) in ``dimension`` (default: every dimension), labelled ``dimension=segment``."""
        from recsys_causal.estimate import interval_label
        from recsys_causal.plotting import Rows, rows_figure

        frame = self.to_frame()
        metrics = frame["metric"].unique().tolist()
        metric = metrics[0] if metric is None and len(metrics) == 1 else metric
        if metric not in metrics:
            raise SchemaError(f"no segment effects of metric {metric!r}", fix=f"pass metric= one of {metrics}")
        rows = frame[(frame["metric"] == metric) & ((frame["dimension"] == dimension) if dimension else True)]
        return rows_figure(Rows([f"{d}={s}" for d, s in zip(rows["dimension"], rows["segment"], strict=True)],
                                rows["value"], rows["ci_low"], rows["ci_high"], title=f"{metric}: effect by segment",
                                xlabel="effect (treatment − control)", interval=interval_label(rows["alpha"].max())),
                           what=f"segments of dimension {dimension!r}")

    def __repr__(self) -> str:
        lines = [f"SegmentReadout({len(self.effects)} segment effects)"]
        lines += [f"  {e!r}" for e in self.effects]
        for _, h in self.heterogeneity.iterrows():
            lines.append(f"  heterogeneity {h['metric']} by {h['dimension']}: Cochran Q={h['cochran_q']:.3g} "
                         f"(p={h['cochran_p']:.3g}), interaction Wald p={h['interaction_p']:.3g}")
        for _, h in self.harms.iterrows():
            lines.append(f"  HARM: {h['metric']} in {h['dimension']}={h['segment']} (adjusted p={h['p_adjusted']:.3g})")
        return "\n".join(lines)

    def _sections(self) -> list[tuple[str, Any]]:
        return [("effects", self.effects), ("Heterogeneity", self.heterogeneity),
                ("Segment versus the rest", self.versus_rest), ("Harmed segments", self.harms)]

    def _title(self) -> str:
        return self.effects.title or "Effects by segment"


@renamed_arguments(units="data", correction="multiplicity")
@emits_caveats
def segment_effects(
    data: pd.DataFrame,
    *,
    metrics: Sequence[str],
    segments: Sequence[str] = (),
    variant_col: str = "variant",
    control: object = "control",
    treatment: object = "treatment",
    prior_interactions_col: str | None = None,
    covariates: Sequence[str] = (),
    directions: Mapping[str, str] | None = None,
    min_units: int = 30,
    merge_small: bool = False,
    multiplicity: str = "holm",
    alpha: float = 0.05,
    unit_col: str | None = None,
) -> SegmentReadout:
    """Effects of ``treatment`` vs ``control`` per segment of each column in ``segments`` of the unit table
    ``data`` (old keyword ``units``; old ``correction=`` is now ``multiplicity=``: ``"holm"``, ``"fdr_bh"`` or another statsmodels
    ``multipletests`` method).

    Variant labels are compared as text (``str(label)``), so integer labels such as ``0`` / ``1`` work.
    ``prior_interactions_col`` adds the lifecycle dimension (cold-start < 5, casual 5–50, power > 50).
    ``directions`` maps a metric to ``decrease_is_bad`` (default) or ``increase_is_bad`` for harm detection.
    Segments with fewer than ``min_units`` units in an arm are an error unless ``merge_small=True``.
    With ``unit_col``, repeated units are an error (exact copies are removed and counted in ``warnings``).
    ``versus_rest`` and ``harms`` carry the point estimate as ``value``; their old columns ``difference`` and
    ``effect`` are kept as aliases for one release.
    """
    data = to_pandas(data, what="segment_effects")
    directions = dict(directions or {})
    for m, d in directions.items():
        if d not in DIRECTIONS:
            raise SchemaError(f"direction {d!r} of metric {m!r} is unknown", fix=f"use one of {list(DIRECTIONS)}")
    need = [variant_col, *metrics, *segments, *covariates] + ([prior_interactions_col] if prior_interactions_col else [])
    require_columns(data, need, what="segment unit table")
    u, dims, treated, x, warnings = _prepare(data, segments, variant_col, str(control), str(treatment),
                                             prior_interactions_col, covariates, unit_col)
    effects, het_rows, rest_rows = [], [], []
    for dim in dims:
        seg = u[dim].astype("string").fillna("(missing)").to_numpy(dtype=object)
        seg, note = _check_sizes(seg, treated, dim, min_units, merge_small)
        if note:
            warnings.append(note)
        for metric in metrics:
            y = pd.to_numeric(u[metric], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(y)
            if (~ok).any():
                warnings.append(caveat(f"{metric}: {int((~ok).sum())} units with a missing value excluded (not 0)",
                                       DataQualityWarning))
            seg_est = _dimension_effects(y, ok, seg, treated, x, metric, dim, str(treatment), alpha, rest_rows)
            effects.extend(seg_est)
            het_rows.append(_heterogeneity(metric, dim, seg_est, y[ok], treated[ok], seg[ok],
                                           None if x is None else x[ok]))
    effects, harms = _adjusted_and_harms(effects, directions, multiplicity, alpha)
    return SegmentReadout(EstimateTable(effects, title="Effects by segment"), pd.DataFrame(het_rows),
                          _versus_rest(rest_rows, multiplicity), harms, warnings)


def _prepare(data, segments, variant_col, control, treatment, prior_interactions_col, covariates, unit_col):
    """The units of the two arms (labels compared as text), the segment dimensions, the treated mask and the
    covariate matrix; repeated units are removed (exact copies) or an error."""
    dedup = None
    if unit_col is not None:
        data, dedup = unique_units(data, unit_col, table="segment unit table")
    variant = data[variant_col].astype(str)
    u = data[variant.isin([control, treatment]).to_numpy()].copy()
    dims = list(segments)
    if prior_interactions_col:
        u["lifecycle"] = lifecycle_segment(pd.to_numeric(u[prior_interactions_col]).to_numpy())
        dims.append("lifecycle")
    if not dims:
        raise SchemaError("no segments given", fix="pass segments=[...] or prior_interactions_col=")
    treated = (u[variant_col].astype(str) == treatment).to_numpy()
    x = u[list(covariates)].to_numpy(dtype=float) if covariates else None
    if x is not None:
        const = [c for c, sd in zip(covariates, x.std(axis=0), strict=True) if sd == 0]
        if const:
            raise DataValidationError(f"covariate(s) {const} are constant", column=const[0],
                                      fix="drop constant covariates; they cannot reduce variance")
    warnings: list[str] = [dedup.message()] if dedup is not None and dedup.rows_removed else []
    return u, dims, treated, x, warnings


def _dimension_effects(y, ok, seg, treated, x, metric, dim, treatment, alpha, rest_rows) -> list[Estimate]:
    """The effect of each segment of one dimension on one metric; appends its comparison with the rest."""
    seg_est = []
    for v in pd.unique(seg):
        m = ok & (seg == v)
        est = _contrast(y[m], treated[m], None if x is None else x[m], alpha)
        est = replace(est, name=f"{metric} | {dim}={v}",
                      details={"metric": metric, "dimension": dim, "segment": v,
                               "n_control": int((m & ~treated).sum()), "n_treatment": int((m & treated).sum()),
                               "quantity": "lift", "variant": treatment})
        seg_est.append(est)
        rest = ok & (seg != v)
        if rest.any():
            r_est = _contrast(y[rest], treated[rest], None if x is None else x[rest], alpha)
            diff = est.value - r_est.value
            se = float(np.hypot(est.se, r_est.se))
            rest_rows.append({"metric": metric, "dimension": dim, "segment": v, "value": diff, "difference": diff,
                              "se": se, "p_value": float(2 * stats.norm.sf(abs(diff) / se))})
    return seg_est


def _adjusted_and_harms(effects: list[Estimate], directions: Mapping[str, str], multiplicity: str,
                        alpha: float) -> tuple[list[Estimate], pd.DataFrame]:
    """Segment effects with p-values adjusted across segments (per metric and dimension), and the segments
    harmed: a one-sided test in the metric's bad direction, adjusted the same way, below ``alpha``."""
    frame = pd.DataFrame([e.row() for e in effects])
    frame["p_adjusted"] = np.nan
    harm_rows = []
    for (metric, dim), idx in frame.groupby(["metric", "dimension"]).groups.items():
        sub = frame.loc[idx]
        frame.loc[idx, "p_adjusted"] = adjust_pvalues(sub["p_value"], multiplicity)
        bad_up = directions.get(metric, "decrease_is_bad") == "increase_is_bad"
        z = sub["value"] / sub["se"]
        p_harm = stats.norm.sf(z) if bad_up else stats.norm.cdf(z)  # one-sided, in the bad direction
        p_harm_adj = adjust_pvalues(p_harm, multiplicity)
        for (_, row), p_raw, p_adj in zip(sub.iterrows(), p_harm, p_harm_adj, strict=True):
            if p_adj < alpha:
                harm_rows.append({"metric": metric, "dimension": dim, "segment": row["segment"],
                                  "value": row["value"], "effect": row["value"], "ci_low": row["ci_low"],
                                  "ci_high": row["ci_high"], "p_one_sided": float(p_raw),
                                  "p_adjusted": float(p_adj), "correction": multiplicity})
    effects = [replace(e, details={**e.details, "p_adjusted": float(p)})
               for e, p in zip(effects, frame["p_adjusted"], strict=True)]
    harms = pd.DataFrame(harm_rows, columns=["metric", "dimension", "segment", "value", "effect", "ci_low",
                                             "ci_high", "p_one_sided", "p_adjusted", "correction"])
    return effects, harms


def _versus_rest(rest_rows: list[dict], multiplicity: str) -> pd.DataFrame:
    """Segment-versus-rest differences with p-values adjusted across segments (per metric and dimension)."""
    rest = pd.DataFrame(rest_rows)
    if len(rest):
        for _, idx in rest.groupby(["metric", "dimension"]).groups.items():
            rest.loc[idx, "p_adjusted"] = adjust_pvalues(rest.loc[idx, "p_value"], multiplicity)
    return rest


def _contrast(y, treated, x, alpha) -> Estimate:
    if treated.sum() < 2 or (~treated).sum() < 2:
        raise DataValidationError("a segment has fewer than 2 units in an arm", fix="use larger segments")
    y_adj = cuped_adjust(y, x, treated.astype(int)) if x is not None else y
    lin = group_mean(y_adj, treated) - group_mean(y_adj, ~treated)
    df = welch_df(arm_mean(y_adj[treated]), arm_mean(y_adj[~treated]))
    return Estimate.from_normal(name="effect", value=lin.value, se=lin.se, n=y.size, alpha=alpha, df=df,
                                method="Welch difference in means" + (" + CUPED" if x is not None else ""))


def _check_sizes(seg, treated, dim, min_units, merge_small):
    counts = pd.DataFrame({"s": seg, "t": treated}).groupby("s")["t"].agg(["sum", "size"])
    counts["control"] = counts["size"] - counts["sum"]
    small = counts[(counts["sum"] < min_units) | (counts["control"] < min_units)]
    if small.empty:
        return seg, None
    desc = ", ".join(f"{s} ({int(r['control'])} control / {int(r['sum'])} treatment)" for s, r in small.head(5).iterrows())
    if not merge_small:
        raise DataValidationError(
            f"{len(small)} segments of {dim!r} have fewer than {min_units} units in an arm: {desc}", column=dim,
            count=len(small), fix="pass merge_small=True to pool them into one segment, or lower min_units")
    seg = np.where(np.isin(seg, small.index.to_numpy()), SMALL, seg)
    return seg, f"{dim}: {len(small)} small segments merged into {SMALL!r}: {desc}"


def _heterogeneity(metric, dim, seg_est, y, treated, seg, x) -> dict:
    import statsmodels.api as sm
    from statsmodels.stats.meta_analysis import combine_effects

    eff = np.array([e.value for e in seg_est])
    var = np.array([e.se**2 for e in seg_est])
    row = {"metric": metric, "dimension": dim, "segments": len(seg_est)}
    if len(seg_est) < 2:
        return {**row, "cochran_q": np.nan, "cochran_df": 0, "cochran_p": np.nan, "interaction_wald": np.nan,
                "interaction_df": 0, "interaction_p": np.nan}
    q = combine_effects(eff, var).test_homogeneity()
    # joint Wald test of treatment x segment interactions (segment main effects and covariates included)
    dummies = pd.get_dummies(pd.Series(seg), drop_first=True).to_numpy(dtype=float)
    t = treated.astype(float)
    cols = [np.ones(t.size), t, dummies, t[:, None] * dummies]
    if x is not None:
        cols.append(x - x.mean(axis=0))
    X = np.column_stack(cols)
    fit = sm.OLS(y, X).fit(cov_type="HC1")
    k = dummies.shape[1]
    R = np.zeros((k, X.shape[1]))
    R[:, 2 + k : 2 + 2 * k] = np.eye(k)
    w = fit.wald_test(R, scalar=True)
    return {**row, "cochran_q": float(q.statistic), "cochran_df": int(q.df), "cochran_p": float(q.pvalue),
            "interaction_wald": float(w.statistic), "interaction_df": k, "interaction_p": float(w.pvalue)}
