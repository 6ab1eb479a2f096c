"""Guards on CUPED covariates that need no timestamps: balance between arms and collinearity with the outcome.

A covariate measured after exposure can absorb the treatment effect (with the covariate equal to the outcome
the CUPED lift is exactly 0 with a zero-width interval). Timestamps prove a covariate is pre-treatment
(:func:`~recsys_causal.experiments.pretreatment.check_pre_treatment`); without them two checks run by default:

* **Balance.** Randomisation makes a pre-period covariate independent of the arm, so its difference in means
  between arms is centred at 0 with the Welch (cluster-robust with clusters) standard error. The two-sided
  p-value of that difference is uniform under randomisation; below ``balance_threshold`` (default 0.001, the
  sample-ratio threshold) the covariate is treated as affected by the treatment and refused. When timestamps
  have already shown it is pre-treatment, an imbalance is a chance one (CUPED corrects it) and is only a warning.
* **Collinearity.** The pooled within-arm R² of the metric on the covariates (the regression CUPED uses) above
  ``max_r2`` (default 0.999) means the covariate is, up to noise, the outcome itself: refused.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = np.arange(2000) % 2 == 1
>>> pre = rng.normal(size=2000); y = pre + 0.5 * t + rng.normal(size=2000)
>>> b = covariate_balance(pre, t); 0 < b.p_value <= 1
True
>>> round(within_arm_r2(y, y[:, None], t), 6)
1.0
>>> covariate_balance(y, t).p_value < 1e-6  # the outcome "as a covariate" is imbalanced
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import AssumptionWarning, caveat
from recsys_causal.errors import DataValidationError
from recsys_causal.estimate import reference_distribution
from recsys_causal.kernel.arm_moments import ArmMoments
from recsys_causal.kernel.contrast import ArmMean, welch_df
from recsys_causal.kernel.influence import influence_se

BALANCE_THRESHOLD = 0.001
MAX_R2 = 0.999


@dataclass(frozen=True)
class Balance:
    """Difference in a covariate's means between arms (treatment − control), its standardised mean difference
    (difference / pooled standard deviation), the Welch statistic and its two-sided p-value."""

    covariate: str
    difference: float
    smd: float
    statistic: float
    p_value: float


def covariate_balance(
    x: np.ndarray, treated: np.ndarray, clusters: np.ndarray | None = None, *, name: str = "x",
) -> Balance:
    """Welch test of equal covariate means between arms (cluster-robust standard error with ``clusters``,
    normal reference; otherwise the Welch–Satterthwaite t reference). Non-finite values are left out."""
    x = np.asarray(x, dtype=np.float64)
    treated = np.asarray(treated, dtype=bool)
    ok = np.isfinite(x)
    xt, xc = x[ok & treated], x[ok & ~treated]
    if xt.size < 2 or xc.size < 2:
        return Balance(name, float("nan"), float("nan"), float("nan"), float("nan"))
    if clusters is None:
        return _welch(name, float(xt.mean() - xc.mean()), float(xt.var(ddof=1)), xt.size, float(xc.var(ddof=1)),
                      xc.size)
    cl = np.asarray(clusters)
    st = influence_se(xt - xt.mean(), cl[ok & treated])
    sc = influence_se(xc - xc.mean(), cl[ok & ~treated])
    return _welch(name, float(xt.mean() - xc.mean()), float(xt.var(ddof=1)), xt.size, float(xc.var(ddof=1)),
                  xc.size, se=float(np.hypot(st, sc)))


def _welch(name: str, diff: float, vt: float, nt: int, vc: float, nc: int, *, se: float | None = None) -> Balance:
    """Balance from the arms' difference, variances and sizes (Welch–Satterthwaite t reference), or from a
    given (cluster-robust) standard error with a normal reference."""
    sd = np.sqrt((vt + vc) / 2)
    smd = diff / sd if sd > 0 else (0.0 if diff == 0 else float("inf"))
    if se is None:
        t, c = ArmMean(0.0, vt / nt, nt), ArmMean(0.0, vc / nc, nc)
        se = float(np.sqrt(t.var_mean + c.var_mean))
        ref = reference_distribution(welch_df(t, c))
    else:
        ref = reference_distribution(None)
    stat = (0.0 if diff == 0 else float("inf")) if se == 0 else diff / se
    p = float(2 * ref.sf(abs(stat))) if np.isfinite(stat) else 0.0
    return Balance(name, diff, float(smd), float(stat), p)


def within_arm_r2(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> float:
    """R² of the pooled within-arm regression of ``y`` on the columns of ``x`` (each arm centred on its own
    means, as CUPED's slope); rows with a non-finite value are left out. NaN when ``y`` has no within-arm
    variance."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    treated = np.asarray(treated, dtype=bool)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    y, x, treated = y[ok], x[ok], treated[ok]
    yc, xc = y.copy(), x.copy()
    for arm in (True, False):
        m = treated == arm
        if m.any():
            yc[m] -= yc[m].mean()
            xc[m] -= xc[m].mean(axis=0)
    sst = float(yc @ yc)
    if sst <= 0:
        return float("nan")
    beta = np.linalg.lstsq(xc, yc, rcond=None)[0]
    resid = yc - xc @ beta
    return float(1 - (resid @ resid) / sst)


def r2_from_cross(sxx: np.ndarray, sxy: np.ndarray, syy: float) -> float:
    """R² of a regression from its centred cross-products (``Σxxᵀ``, ``Σxy``, ``Σy²``); NaN without variance."""
    return float(np.linalg.lstsq(sxx, sxy, rcond=None)[0] @ sxy / syy) if syy > 0 else float("nan")


def within_arm_r2_many(outcomes: dict[str, np.ndarray], x: np.ndarray, treated: np.ndarray) -> dict[str, float]:
    """:func:`within_arm_r2` of every outcome on the same covariates: when every value is finite, one pass over
    the data (the arm-centred cross-product matrix of the covariates and all outcomes, then a small solve per
    outcome); otherwise outcome by outcome."""
    treated = np.asarray(treated, dtype=bool)
    x = np.asarray(x, dtype=np.float64).reshape(len(treated), -1)
    z = np.column_stack([x, *(np.asarray(y, dtype=np.float64) for y in outcomes.values())])
    if not np.isfinite(z).all():
        return {name: within_arm_r2(y, x, treated) for name, y in outcomes.items()}
    t = treated.astype(np.float64)
    n_t, n_c = t.sum(), len(t) - t.sum()
    mean_t = t @ z / max(n_t, 1.0)
    mean_c = (z.sum(axis=0) - t @ z) / max(n_c, 1.0)
    z -= np.where(treated[:, None], mean_t, mean_c)
    gram = z.T @ z
    p = x.shape[1]
    out = {}
    for j, name in enumerate(outcomes):
        sxy, syy = gram[:p, p + j], gram[p + j, p + j]
        out[name] = r2_from_cross(gram[:p, :p], sxy, syy)
    return out


def refuse_collinear(y: np.ndarray, x: np.ndarray, treated: np.ndarray, *, max_r2: float = MAX_R2) -> None:
    """Raise when the covariates (columns of ``x``) reproduce ``y`` within arms (pooled R² above ``max_r2``)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    r2 = within_arm_r2(y, x, treated)
    if np.isfinite(r2) and r2 > max_r2:
        raise DataValidationError(
            f"the CUPED covariates reproduce the metric within arms (R² = {r2:.6f} > {max_r2:g}): a covariate is the "
            "outcome itself or measured after exposure, and would absorb the effect", count=int(len(y)),
            fix="use covariates computed only from the pre-period (before first exposure)")


def check_cuped_covariates(
    df: pd.DataFrame, covariates: Sequence[str], outcomes: dict[str, np.ndarray], treated: np.ndarray, *,
    clusters: np.ndarray | None = None, balance_threshold: float | None = BALANCE_THRESHOLD,
    max_r2: float = MAX_R2, pre_verified: bool = False, comparison: str = "treatment vs control",
    refuse_imbalance: bool = True,
) -> list[str]:
    """Refuse CUPED covariates collinear with an outcome or imbalanced between arms; return warnings.

    ``df`` holds the covariate columns for the rows of one comparison, ``treated`` marks its treatment rows,
    ``outcomes`` maps a metric name to its per-row values (what CUPED regresses on the covariates). Raises
    :class:`~recsys_causal.errors.DataValidationError` naming the covariate and the fix; an imbalance of a
    covariate whose timestamps were checked (``pre_verified``), or any imbalance with ``refuse_imbalance=False``,
    is returned as a warning instead.
    """
    covariates = list(covariates)
    if not covariates:
        return []
    x = np.column_stack([df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in covariates])
    for metric, r2 in within_arm_r2_many(outcomes, x, treated).items():
        y = outcomes[metric]
        if np.isfinite(r2) and r2 > max_r2:
            single = [within_arm_r2(y, x[:, j], treated) for j in range(len(covariates))]
            _refuse_collinear(metric, covariates, r2, single, int(np.isfinite(y).sum()), comparison, max_r2)
    if balance_threshold is None:
        return []
    balances = [(covariate_balance(x[:, j], treated, clusters, name=cov), int(np.isfinite(x[:, j]).sum()))
                for j, cov in enumerate(covariates)]
    return _imbalance_warnings(balances, balance_threshold, pre_verified=pre_verified, comparison=comparison,
                               refuse_imbalance=refuse_imbalance)


def check_cuped_arms(
    treatment: ArmMoments, control: ArmMoments, metrics: Sequence, covariates: Sequence[str], *,
    balance_threshold: float | None = BALANCE_THRESHOLD, max_r2: float = MAX_R2, pre_verified: bool = False,
    comparison: str = "treatment vs control",
) -> list[str]:
    """:func:`check_cuped_covariates` of every metric from the two arms' moments over complete units (every
    column the metrics and covariates read; a ratio through its per-arm linearisation): the pooled within-arm
    R² from the summed centred cross-products and each covariate's Welch balance from its arm means and
    variances; same errors and warnings."""
    for metric in metrics:
        covs = list(metric.covariates_for(covariates))
        if not covs:
            continue
        names = list(dict.fromkeys([*metric.columns, *covs]))
        (t, y), (c, _) = (metric.outcome(arm.select(names)) for arm in (treatment, control))
        idx = [[m.index(k) for k in (*covs, y)] for m in (t, c)]
        cp = t.cross[np.ix_(idx[0], idx[0])] + c.cross[np.ix_(idx[1], idx[1])]
        k = len(covs)
        sxx, sxy, syy = cp[:k, :k], cp[:k, k], cp[k, k]
        r2 = r2_from_cross(sxx, sxy, syy)
        if np.isfinite(r2) and r2 > max_r2:
            single = [sxy[j] ** 2 / (sxx[j, j] * syy) if sxx[j, j] > 0 else float("nan") for j in range(k)]
            _refuse_collinear(metric.name, covs, r2, single, t.n + c.n, comparison, max_r2)
    if balance_threshold is None or min(treatment.n, control.n) < 2:
        return []
    balances = []
    for cov in dict.fromkeys(c for m in metrics for c in m.covariates_for(covariates)):
        jt, jc = treatment.index(cov), control.index(cov)
        balances.append((_welch(cov, float(treatment.mean[jt] - control.mean[jc]),
                                float(treatment.cross[jt, jt] / (treatment.n - 1)), treatment.n,
                                float(control.cross[jc, jc] / (control.n - 1)), control.n), treatment.n + control.n))
    return _imbalance_warnings(balances, balance_threshold, pre_verified=pre_verified, comparison=comparison)


def _refuse_collinear(metric: str, covariates: Sequence[str], r2: float, single: Sequence[float], count: int,
                      comparison: str, max_r2: float) -> None:
    worst = covariates[int(np.nanargmax(single))] if np.isfinite(single).any() else covariates[0]
    raise DataValidationError(
        f"CUPED covariate {worst!r} reproduces metric {metric!r} within arms (R² = {r2:.6f} > {max_r2:g}, "
        f"{comparison}): it is the outcome itself or measured after exposure, and would absorb the effect",
        column=worst, count=count,
        fix=f"use a covariate computed only from the pre-period (before first exposure), or drop {worst!r} "
            "from covariates")


def _imbalance_warnings(balances: Sequence[tuple[Balance, int]], balance_threshold: float, *, pre_verified: bool,
                        comparison: str, refuse_imbalance: bool = True) -> list[str]:
    """Warnings (or the error) of the covariates whose balance p-value is below ``balance_threshold``;
    ``balances`` pairs each :class:`Balance` with the covariate's count of finite values."""
    warnings = []
    for b, count in balances:
        if not (np.isfinite(b.p_value) and b.p_value < balance_threshold):
            continue
        cov = b.covariate
        text = (f"CUPED covariate {cov!r} differs between arms ({comparison}: difference {b.difference:.4g}, "
                f"standardised {b.smd:.3g}, Welch p = {b.p_value:.2g} < {balance_threshold:g})")
        if pre_verified:
            warnings.append(caveat(text + "; its timestamps are pre-exposure, so this is a chance imbalance that "
                                          "CUPED corrects", AssumptionWarning))
            continue
        if not refuse_imbalance:
            warnings.append(caveat(text + ": if it was measured after exposure it is moved by the treatment and "
                                   f"biases the CUPED-adjusted estimates (a pre-period covariate differs this much by "
                                   f"chance in {balance_threshold:.1%} of experiments)", AssumptionWarning))
            continue
        raise DataValidationError(
            text + ": randomisation cannot produce such a difference in a pre-period covariate, so it is probably "
            "measured after exposure and affected by the treatment, which would bias the CUPED lift",
            column=cov, count=count,
            fix=f"use a covariate computed only from the pre-period, or give its measurement time (YAML "
                f"covariate_times: {{{cov}: <column>}}; covariate_times= in Python) so a chance imbalance is "
                "accepted; check the randomisation if the covariate is truly pre-period")
    return warnings


def guard_cuped(
    df: pd.DataFrame, metrics: Sequence, covariates: Sequence[str], *, variant_col: str, control: str,
    cluster_col: str | None = None, pre_verified: bool = False, balance_threshold: float | None = BALANCE_THRESHOLD,
    arms: Any = None,
) -> list[str]:
    """:func:`check_cuped_covariates` for every treatment against ``control`` and every moment-based metric
    (``metrics`` are :class:`~recsys_causal.experiments.metric_base.Metric` objects; a ratio metric is checked
    through its per-arm linearisation, what CUPED adjusts). With ``arms`` (the readout's
    :class:`~recsys_causal.experiments.frame_arms.FrameArms` of ``df``) the checks run on its arm moments
    (:func:`check_cuped_arms`) whenever every arm has them."""
    checked = [m for m in metrics if m.covariates_for(covariates)]
    moments = {v: arms.arm_moments(v) for v in arms.labels} if arms is not None and all(
        arms.plain(m, [*m.columns, *m.covariates_for(covariates)]) for m in checked) else {}
    if moments and all(m is not None for m in moments.values()) and control in moments:
        warnings = []
        for v in sorted(set(moments) - {control}):
            warnings += check_cuped_arms(moments[v], moments[control], checked, covariates,
                                         balance_threshold=balance_threshold, pre_verified=pre_verified,
                                         comparison=f"{v} vs {control}")
        return list(dict.fromkeys(warnings))
    variant = df[variant_col].astype(str).to_numpy()
    warnings: list[str] = []
    for v in sorted(set(variant) - {control}):
        rows = (variant == v) | (variant == control)
        sub, treated = df.loc[rows], variant[rows] == v
        clusters = sub[cluster_col].to_numpy() if cluster_col else None
        by_covs: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
        for m in metrics:
            covs = tuple(m.covariates_for(covariates))
            if covs:
                by_covs.setdefault(covs, {})[m.name] = _outcome(sub, m, treated)
        for covs, outcomes in by_covs.items():
            warnings += check_cuped_covariates(sub, covs, outcomes, treated, clusters=clusters,
                                               balance_threshold=balance_threshold, pre_verified=pre_verified,
                                               comparison=f"{v} vs {control}")
    return list(dict.fromkeys(warnings))


def _outcome(df: pd.DataFrame, metric, treated: np.ndarray) -> np.ndarray:
    """The per-unit values CUPED regresses on the covariates (:meth:`Metric.unit_outcome`; a ratio's per-arm
    linearisation)."""
    raw = {c: df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in metric.columns}
    vals = metric.values(raw.__getitem__)
    ok = np.logical_and.reduce([np.isfinite(v) for v in vals.values()])
    return metric.unit_outcome(vals, (treated & ok, ~treated & ok))


def check_moments(
    treatment: ArmMoments, control: ArmMoments, y: str, covariates: Sequence[str], *, metric: str,
    comparison: str, balance_threshold: float | None = BALANCE_THRESHOLD, max_r2: float = MAX_R2,
) -> None:
    """The checks of :func:`check_cuped_covariates` from per-arm moments (what a SQL engine returns): pooled
    within-arm R² of ``y`` on ``covariates`` and the Welch balance test of each covariate; raises only."""
    covariates = list(covariates)
    if not covariates:
        return
    k = len(covariates)
    sxx, sxy, syy = np.zeros((k, k)), np.zeros(k), 0.0
    for m in (treatment, control):
        idx = [m.index(c) for c in (*covariates, y)]
        cp = m.cross[np.ix_(idx, idx)]
        sxx, sxy, syy = sxx + cp[:k, :k], sxy + cp[:k, k], syy + cp[k, k]
    if syy > 0:
        r2 = r2_from_cross(sxx, sxy, syy)
        if r2 > max_r2:
            single = [sxy[j] ** 2 / (sxx[j, j] * syy) if sxx[j, j] > 0 else 0.0 for j in range(k)]
            worst = covariates[int(np.argmax(single))]
            raise DataValidationError(
                f"CUPED covariate {worst!r} reproduces metric {metric!r} within arms (R² = {r2:.6f} > {max_r2:g}, "
                f"{comparison}): it is the outcome itself or measured after exposure, and would absorb the effect",
                column=worst, count=treatment.n + control.n,
                fix=f"use a covariate computed only from the pre-period (before first exposure), or drop {worst!r} "
                    "from covariates")
    if balance_threshold is None or min(treatment.n, control.n) < 2:
        return
    for cov in covariates:
        jt, jc = treatment.index(cov), control.index(cov)
        b = _welch(cov, float(treatment.mean[jt] - control.mean[jc]), treatment.cross[jt, jt] / (treatment.n - 1),
                   treatment.n, control.cross[jc, jc] / (control.n - 1), control.n)
        if np.isfinite(b.p_value) and b.p_value < balance_threshold:
            raise DataValidationError(
                f"CUPED covariate {cov!r} differs between arms ({comparison}: difference {b.difference:.4g}, "
                f"standardised {b.smd:.3g}, Welch p = {b.p_value:.2g} < {balance_threshold:g}): randomisation "
                "cannot produce such a difference in a pre-period covariate, so it is probably measured after "
                "exposure and affected by the treatment, which would bias the CUPED lift",
                column=cov, count=treatment.n + control.n,
                fix="use a covariate computed only from the pre-period; check the randomisation if it truly is one")


def check_metric_moments(metric, treatment: ArmMoments, control: ArmMoments, covariates: Sequence[str], *,
                         comparison: str) -> None:
    """:func:`check_moments` for a moment-based metric, on the column whose arm mean is the metric
    (:meth:`Metric.outcome`; a ratio's per-arm linearisation, what CUPED adjusts)."""
    if not covariates:
        return
    treatment, y = metric.outcome(treatment)
    control, _ = metric.outcome(control)
    check_moments(treatment, control, y, covariates, metric=metric.name, comparison=comparison)
