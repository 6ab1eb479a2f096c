"""Sequential monitoring: always-valid confidence sequences and group-sequential O'Brien–Fleming boundaries.

**Confidence sequence** (asymptotic normal-mixture CS; Howard et al. 2021, Waudby-Smith et al. 2023). For an
estimate ``theta_hat`` with standard error ``se`` at a look, write the information ``I = 1 / se^2``. The
two-sided ``1 - alpha`` boundary of the normal mixture with mixing variance ``rho^2`` is

    theta_hat ± sqrt((I * rho^2 + 1) * log((I * rho^2 + 1) / alpha^2)) / (I * rho)

and holds simultaneously over all looks, so the experiment can be peeked at continuously. ``rho^2`` is tuned
to be tightest at a planned information ``I*`` (default: the last look's):
``rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / I*``.

**Group-sequential**: Lan–DeMets spending with the O'Brien–Fleming-type function, symmetric two-sided: each
side spends ``alpha_1(t) = 2 - 2 Phi(z_{1-alpha/4} / sqrt(t))`` (the one-sided ``alpha/2`` convention of
gsDesign/ldbounds) at information fractions ``t``; boundaries are found by numerical integration of the score
process on a grid (Armitage–McPherson–Rowe recursion).

>>> import numpy as np
>>> b = obrien_fleming_bounds([0.25, 0.5, 0.75, 1.0])
>>> np.round(b, 2).tolist()
[4.33, 2.96, 2.36, 2.01]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats


def cs_rho2(target_information: float | np.ndarray, alpha: float = 0.05) -> float | np.ndarray:
    """Mixing variance that makes the confidence sequence tightest at ``target_information`` (vectorised)."""
    la = -2 * np.log(alpha)
    out = (la + np.log(la + 1)) / np.asarray(target_information, dtype=np.float64)
    return float(out) if out.ndim == 0 else out


def cs_radius(se: np.ndarray | float, *, alpha: float = 0.05, rho2: float | np.ndarray) -> np.ndarray:
    """Half-width of the normal-mixture confidence sequence at looks with standard errors ``se`` (vectorised)."""
    info = 1.0 / np.asarray(se, dtype=np.float64) ** 2
    v = info * rho2 + 1.0
    return np.sqrt(v * np.log(v / alpha**2)) / (info * np.sqrt(rho2))


def obf_spending(t: np.ndarray | float, alpha: float = 0.05) -> np.ndarray:
    """Cumulative two-sided alpha spent by information fraction ``t`` (both sides, O'Brien–Fleming type)."""
    t = np.asarray(t, dtype=np.float64)
    z = stats.norm.ppf(1 - alpha / 4)
    return np.where(t > 0, 4 * stats.norm.sf(z / np.sqrt(np.maximum(t, 1e-300))), 0.0)


def _exceed_minus(c: float, sd: float, step: float, x: np.ndarray, dens: np.ndarray, dx: float,
                  target: float) -> float:
    """P(continue so far and cross +-c at this look) minus the alpha to spend at this look."""
    b = c * sd
    mass = stats.norm.sf((b - x) / step) + stats.norm.cdf((-b - x) / step)
    return float(np.sum(mass * dens) * dx) - target


def obrien_fleming_bounds(fractions: Sequence[float], alpha: float = 0.05, grid: int = 1201) -> np.ndarray:
    """Two-sided z boundaries at the given increasing information fractions (last is usually 1)."""
    t = np.asarray(fractions, dtype=np.float64)
    if np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1 + 1e-12:
        raise ValueError("information fractions must be increasing in (0, 1]")
    spend = np.diff(np.concatenate([[0.0], obf_spending(t, alpha)]))
    bounds = np.empty(t.size)
    # density of the score S_k = Z_k sqrt(t_k) on the continuation region, on a grid
    x = dens = None
    dx = 0.0
    for k in range(t.size):
        sd = np.sqrt(t[k])
        if spend[k] <= 0:
            bounds[k] = np.inf
        elif k == 0:
            bounds[k] = float(stats.norm.isf(spend[k] / 2))
        else:
            bounds[k] = optimize.brentq(_exceed_minus, 0.01, 40.0, xtol=1e-10,
                                        args=(sd, np.sqrt(t[k] - t[k - 1]), x, dens, dx, spend[k]))
        b = min(bounds[k], 12.0) * sd
        new_x = np.linspace(-b, b, grid)
        if k == 0:
            new_dens = stats.norm.pdf(new_x / sd) / sd
        else:
            step = np.sqrt(t[k] - t[k - 1])
            new_dens = (stats.norm.pdf((new_x[:, None] - x[None, :]) / step) / step) @ dens * dx
        x, dens, dx = new_x, new_dens, new_x[1] - new_x[0]
    return bounds


def monitoring_table(
    estimates: Sequence[float], ses: Sequence[float], *, information_fractions: Sequence[float] | None = None,
    alpha: float = 0.05, target_se: float | None = None, null: float = 0.0,
) -> pd.DataFrame:
    """Per-look table: estimate, fixed-horizon CI, confidence sequence, group-sequential boundary and decisions.

    ``information_fractions`` default to ``(se_last / se_k)^2``. ``target_se`` tunes the confidence sequence
    (default: the last look's standard error). The running intersection of the CS is reported in
    ``cs_low``/``cs_high``; ``cs_reject`` is true once the CS excludes ``null``; ``gs_reject`` once
    ``|z|`` crosses the O'Brien–Fleming boundary (these stay true at later looks).

    >>> tab = monitoring_table([0.5, 0.4, 0.3], [0.3, 0.2, 0.1])
    >>> list(tab.columns[:4])
    ['look', 'estimate', 'se', 'z']
    """
    est = np.asarray(estimates, dtype=np.float64)
    se = np.asarray(ses, dtype=np.float64)
    z = (est - null) / se
    frac = (np.asarray(information_fractions, dtype=np.float64) if information_fractions is not None
            else (se[-1] / se) ** 2)
    rho2 = cs_rho2(1.0 / (target_se if target_se is not None else se[-1]) ** 2, alpha)
    rad = cs_radius(se, alpha=alpha, rho2=rho2)
    lo = np.maximum.accumulate(est - rad)
    hi = np.minimum.accumulate(est + rad)
    bounds = _obf_cached(tuple(np.round(np.minimum(frac, 1.0), 12)), alpha) if np.all(np.diff(frac) > 0) else \
        np.full(est.size, np.nan)
    zq = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({
        "look": np.arange(1, est.size + 1), "estimate": est, "se": se, "z": z, "information_fraction": frac,
        "ci_low": est - zq * se, "ci_high": est + zq * se, "fixed_reject": np.abs(z) > zq,
        "cs_low": lo, "cs_high": hi, "cs_reject": np.logical_or.accumulate((lo > null) | (hi < null)),
        "gs_bound": bounds, "alpha_spent": obf_spending(np.minimum(frac, 1.0), alpha),
        "gs_reject": np.logical_or.accumulate(np.abs(z) > bounds),
    })


@functools.lru_cache(maxsize=256)
def _obf_cached(fractions: tuple[float, ...], alpha: float) -> np.ndarray:
    """Boundaries depend only on the information fractions: computed once per schedule of looks."""
    out = obrien_fleming_bounds(list(fractions), alpha)
    out.setflags(write=False)
    return out


def cumulative_looks(
    df: pd.DataFrame, *, metric: str, time_col: str, variant_col: str = "variant", control: str = "control",
    treatment: str = "treatment", n_looks: int = 10,
) -> pd.DataFrame:
    """Welch difference in means at ``n_looks`` equally spaced cut-offs of ``time_col`` (units enrolled so far).

    Vectorised: each arm is sorted by time once and cumulative sums give every look's mean and variance.
    """
    tvals = df[time_col]
    if pd.api.types.is_datetime64_any_dtype(tvals):
        tnum = (tvals - pd.Timestamp(0, tz=getattr(tvals.dt, "tz", None))).dt.total_seconds().to_numpy()
    else:
        tnum = tvals.to_numpy(dtype=np.float64)
    cuts = np.quantile(tnum, np.linspace(0, 1, n_looks + 1)[1:])
    y = df[metric].to_numpy(dtype=np.float64)
    arms = {}
    for label in (treatment, control):
        m = (df[variant_col] == label).to_numpy()
        order = np.argsort(tnum[m], kind="stable")
        yy, tt = y[m][order], tnum[m][order]
        k = np.searchsorted(tt, cuts, side="right")
        s1, s2 = np.concatenate([[0.0], np.cumsum(yy)]), np.concatenate([[0.0], np.cumsum(yy**2)])
        n = k.astype(np.float64)
        mean = s1[k] / np.maximum(n, 1)
        var = (s2[k] - n * mean**2) / np.maximum(n - 1, 1)
        arms[label] = (mean, var / np.maximum(n, 1), n)
    (mt, vt, nt), (mc, vc, nc) = arms[treatment], arms[control]
    return pd.DataFrame({"look": np.arange(1, n_looks + 1), "n_treatment": nt.astype(int),
                         "n_control": nc.astype(int), "estimate": mt - mc, "se": np.sqrt(vt + vc)})
