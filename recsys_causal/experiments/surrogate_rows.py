"""The estimate rows of a surrogate-index analysis, from the per-unit index of the experiment and the bootstrap
replicates of its arm means (both samples resampled).

* lift: ``mean_t - mean_c`` of the index, standard error from the bootstrap, normal interval;
* relative lift: ``mean_t / mean_c - 1`` with the kernel's delta method (:func:`~recsys_causal.kernel.delta_ratio`)
  and Fieller interval (:func:`~recsys_causal.kernel.fieller_bounds`) on the bootstrap covariance of the two arm
  means (they share the fitted index, so they are correlated);
* the experiment-only lift: Welch on the index as if it were known (understates the uncertainty);
* validation: the realised lift (Welch) and the gap ``surrogate − realised`` with the bootstrap standard error of
  the difference on the same resampled units.

>>> import numpy as np
>>> boot = np.array([[2.1, 1.0], [1.9, 1.0], [2.0, 1.1], [2.0, 0.9]])
>>> rows = index_estimates(np.array([2.0, 2.0, 1.0, 1.0]), np.array([True, True, False, False]), boot)
>>> [e.name for e in rows][:2], rows[0].value, round(rows[0].se, 4)
(['long-term lift (surrogate index)', 'long-term relative lift (surrogate index)'], 1.0, 0.1155)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.kernel import (
    arm_mean,
    delta_ratio,
    fieller_bounds,
    lift_from_arms,
    reference_quantile,
    welch_df,
)

BOTH = "surrogate index, bootstrap over both samples"
UNDERSTATES = ("experiment-only standard error: treats the fitted index as known and ignores the historical "
               "sample, so it understates the uncertainty; read the row with the bootstrap over both samples")


def _linear_rows(cov: np.ndarray) -> np.ndarray:
    """Rows ``L`` with ``L Lᵀ = cov`` (symmetric square root; negative rounding clipped)."""
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _relative(means: np.ndarray, cov: np.ndarray, absolute: Estimate, alpha: float, details: dict) -> Estimate:
    mt, mc = float(means[0]), float(means[1])
    if mc == 0:
        return Estimate(name="long-term relative lift (surrogate index)", value=np.nan, se=np.nan, ci_low=np.nan,
                        ci_high=np.nan, n=absolute.n, method=BOTH + "+fieller", alpha=alpha,
                        warnings=("control mean of the index is 0; relative lift undefined",),
                        details={**details, "quantity": "relative lift"})
    lin = _linear_rows(cov)
    r, psi = delta_ratio(mt, mc, lin[0], lin[1])
    lo, hi = fieller_bounds(mt, mc, cov[0, 0], cov[1, 1], cov[0, 1], reference_quantile(alpha, None))
    warn = () if np.isfinite(lo) and np.isfinite(hi) else (
        "the control mean of the index is not distinguishable from 0, so the relative interval is unbounded",)
    return Estimate(name="long-term relative lift (surrogate index)", value=float(r - 1),
                    se=float(np.sqrt(np.sum(psi**2))), ci_low=float(lo) - 1, ci_high=float(hi) - 1, n=absolute.n,
                    method=BOTH + "+fieller", alpha=alpha, p_value=absolute.p_value, null=0.0, warnings=warn,
                    details={**details, "quantity": "relative lift"})


def _welch(values: np.ndarray, treated: np.ndarray, name: str, method: str, alpha: float, details: dict) -> Estimate:
    """The Welch lift of ``values`` (treatment − control) with Welch–Satterthwaite degrees of freedom."""
    t, c = arm_mean(values[treated]), arm_mean(values[~treated])
    return lift_from_arms(t, c, name=name, method=method, alpha=alpha, df=welch_df(t, c), details=details)


def index_estimates(index: np.ndarray, treated: np.ndarray, boot: np.ndarray, *, alpha: float = 0.05,
                    details: dict[str, Any] | None = None) -> list[Estimate]:
    """Lift and relative lift of the index over both samples, and the experiment-only lift."""
    details = dict(details or {})
    means = np.array([index[treated].mean(), index[~treated].mean()])
    cov = np.cov(boot, rowvar=False)
    base = {**details, "mean_treatment": means[0], "mean_control": means[1], "n_treatment": int(treated.sum()),
            "n_control": int((~treated).sum())}
    absolute = Estimate.from_normal(name="long-term lift (surrogate index)", value=float(means[0] - means[1]),
                                    se=float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))),
                                    n=int(treated.size), method=BOTH, alpha=alpha,
                                    details={**base, "quantity": "lift"})
    known = _welch(index, treated, "long-term lift (experiment-only SE)", "surrogate index, Welch (index known)",
                   alpha, details)
    return [absolute, _relative(means, cov, absolute, alpha, base), known.with_warning(UNDERSTATES)]


def validation_estimates(y: np.ndarray, treated: np.ndarray, surrogate: Estimate, boot: np.ndarray,
                         realised_boot: np.ndarray, *, alpha: float = 0.05,
                         details: dict[str, Any] | None = None) -> list[Estimate]:
    """The realised long-term lift of the experiment (Welch) and the gap ``surrogate − realised``."""
    details = dict(details or {})
    realised = _welch(y, treated, "realised long-term lift", "welch (long-term outcome observed)", alpha, details)
    diff = (boot[:, 0] - boot[:, 1]) - (realised_boot[:, 0] - realised_boot[:, 1])
    gap = Estimate.from_normal(name="validation gap (surrogate − realised)", value=surrogate.value - realised.value,
                               se=float(np.std(diff, ddof=1)), n=int(treated.size), method=BOTH, alpha=alpha,
                               details={**details, "quantity": "validation gap"})
    return [realised, gap]
