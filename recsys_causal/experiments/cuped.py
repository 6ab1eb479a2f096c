"""CUPED: variance reduction with one or more pre-period covariates (also for ratio metrics).

The adjustment uses the pooled within-arm slope ``theta`` (regression of the metric on the covariates with a
separate intercept per arm), so the adjusted difference equals the treatment coefficient of the ANCOVA
``y ~ 1 + T + (x - mean(x))``. Each arm's adjusted mean is ``mean(y) - theta' (mean_arm(x) - mean_all(x))``
and its variance is the variance of the residuals ``y - theta' x`` over ``n`` (heteroskedasticity-robust).
Covariates must be measured before a unit's first exposure; :func:`check_pre_treatment` rejects those that
are not.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=400); t = np.arange(400) % 2 == 1; y = x + 0.5 * t + rng.normal(0, 0.1, 400)
>>> e = cuped_lift(y, x, t)
>>> abs(e.value - 0.5) < 0.05, e.se < 0.02
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recsys_causal.checks import utc_times, utc_timestamp
from recsys_causal.errors import DataValidationError
from recsys_causal.estimate import Estimate
from recsys_causal.experiments.arm_moments import ArmMoments, cuped_details, cuped_from_moments
from recsys_causal.experiments.covariate_checks import refuse_collinear
from recsys_causal.experiments.means import ArmMean, lift_from_arms, welch_df
from recsys_causal.inference import influence_se


def cuped_theta(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> np.ndarray:  # reference implementation
    """Pooled within-arm OLS slope of ``y`` on ``x`` (shape ``(k,)``)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    xc = x.copy()
    yc = np.asarray(y, dtype=np.float64).copy()
    for arm in (True, False):
        m = treated == arm
        xc[m] -= x[m].mean(axis=0)
        yc[m] -= yc[m].mean()
    theta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return theta


def cuped_arms(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, clusters: np.ndarray | None = None,
) -> tuple[ArmMean, ArmMean, np.ndarray, float]:
    """Adjusted arm means (treatment, control), the slope used, and the unadjusted variance of the difference.

    Works from per-arm sufficient statistics (:func:`~recsys_causal.experiments.arm_moments.cuped_from_moments`
    on means and centred cross-products), so the cost is one pass per arm; with ``clusters`` the residuals are
    formed explicitly for cluster-robust variances.
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    treated = np.asarray(treated, dtype=bool)
    names = tuple(f"x{j}" for j in range(x.shape[1]))
    moments = [ArmMoments.from_array(np.column_stack([x[m], y[m]]), (*names, "y")) for m in (treated, ~treated)]
    t, c, theta, raw = cuped_from_moments(moments[0], moments[1], "y", names)
    if clusters is None:
        return t, c, theta, raw
    arms, raw = [], 0.0
    for adjusted, m in zip((t, c), (treated, ~treated), strict=True):
        cl = np.asarray(clusters)[m]
        resid = y[m] - x[m] @ theta
        arms.append(ArmMean(adjusted.mean, influence_se(resid - resid.mean(), cl) ** 2, int(np.unique(cl).size),
                            clustered=True))
        raw += influence_se(y[m] - y[m].mean(), cl) ** 2
    return arms[0], arms[1], theta, float(raw)


def cuped_lift(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, *, name: str = "lift", relative: bool = False,
    alpha: float = 0.05, details: Mapping | None = None, clusters: np.ndarray | None = None,
) -> Estimate:
    """CUPED-adjusted absolute or relative (Fieller interval) lift, t reference with Welch–Satterthwaite degrees
    of freedom on the residuals (``n - 1 - k/2`` per arm for ``k`` covariates; normal when clustered).

    ``y`` is the per-unit metric (for a ratio metric pass :func:`~recsys_causal.experiments.ratio.linearize`
    values computed per arm), ``x`` one covariate or an ``(n, k)`` matrix, ``treated`` a boolean mask.
    """
    t, c, det = cuped_summary(y, x, treated, clusters=clusters)
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method="cuped", df=welch_df(t, c),
                          details={**det, **dict(details or {})})


def cuped_summary(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, *, clusters: np.ndarray | None = None,
) -> tuple[ArmMean, ArmMean, dict]:
    """Adjusted arm summaries plus details (``theta``, ``variance_reduction``); rows with NaN are dropped."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    treated = np.asarray(treated, dtype=bool)
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    if not ok.all():
        y, x, treated = y[ok], x[ok], treated[ok]
        clusters = None if clusters is None else np.asarray(clusters)[ok]
    refuse_collinear(y, x, treated)
    t, c, theta, raw_var = cuped_arms(y, x, treated, clusters)
    return t, c, cuped_details(t, c, theta, raw_var)


def check_pre_treatment(
    df: pd.DataFrame, covariates: list[str], *, first_exposure_col: str | None = None,
    covariate_times: Mapping[str, str | pd.Timestamp] | None = None, unit_col: str | None = None,
) -> None:
    """Reject covariates measured after a unit's first exposure.

    ``covariate_times`` maps a covariate to either a column of measurement timestamps or one declared
    measurement time. Each is compared with ``first_exposure_col``; any measurement at or after first exposure
    raises :class:`~recsys_causal.errors.DataValidationError`.
    """
    if not covariate_times:
        return
    if first_exposure_col is None or first_exposure_col not in df.columns:
        raise DataValidationError(
            "covariate measurement times were given but there is no first-exposure column to compare with",
            column=first_exposure_col, fix="pass first_exposure_col naming each unit's first exposure time")
    ids_all = df[unit_col].to_numpy() if unit_col and unit_col in df.columns else None
    first = utc_times(df[first_exposure_col], column=first_exposure_col, ids=ids_all)
    for cov, when in covariate_times.items():
        if cov not in covariates:
            continue
        if isinstance(when, str) and when in df.columns:
            measured = utc_times(df[when], column=when, ids=ids_all)
        else:
            declared = utc_timestamp(when, key=f"covariate_times[{cov!r}]",
                                     unreadable="is neither a column nor a timestamp",
                                     fix="name a timestamp column or give an ISO-8601 time such as "
                                         "'2026-03-01T00:00:00Z'")
            measured = pd.Series(declared, index=df.index)
        late = (measured >= first).to_numpy()
        if late.any():
            ids = df.loc[late, unit_col].unique()[:5].tolist() if unit_col else df.index[late][:5].tolist()
            raise DataValidationError(
                f"covariate {cov!r} is measured after first exposure for {int(late.sum())} units, so it can be "
                "affected by the treatment and would bias the CUPED lift",
                column=cov, count=int(late.sum()), examples=ids,
                fix="use a covariate computed only from the pre-period (before each unit's first exposure)",
            )
