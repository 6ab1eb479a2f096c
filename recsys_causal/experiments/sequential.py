"""Sequential monitoring: always-valid confidence sequences and group-sequential O'Brien–Fleming boundaries.

**Confidence sequence** (asymptotic normal-mixture CS; Howard et al. 2021, Waudby-Smith et al. 2023). For an
estimate ``theta_hat`` with standard error ``se`` at a look, write the information ``I = 1 / se^2``. The
two-sided ``1 - alpha`` boundary of the normal mixture with mixing variance ``rho^2`` is

    theta_hat ± sqrt((I * rho^2 + 1) * log((I * rho^2 + 1) / alpha^2)) / (I * rho)

and holds simultaneously over all looks, so the experiment can be peeked at continuously, provided ``rho^2``
is fixed before the first look. It is tuned to be tightest at the planned final information ``I*``,
``rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / I*``, taken from a :class:`MonitoringPlan` (planned final
sample size or planned final standard error). In z units the boundary at information fraction ``t = I / I*``
is ``sqrt(v log(v / alpha^2) / (v - 1))`` with ``v = 1 + t (-2 log alpha + log(-2 log alpha + 1))``; with a
planned sample size ``t = n / n*`` (the per-unit variance estimated at each look, as in the asymptotic
confidence sequences of Waudby-Smith et al.). Tuning to the last look passed in instead would make the
boundary depend on when the table is built: rebuilt at every look it is a constant ``|z|`` of about 3 and is
not anytime-valid, so :func:`monitoring_table` refuses to run without a plan unless ``retrospective=True``.

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

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError
from recsys_causal.frames import to_pandas

RETROSPECTIVE_WARNING = (
    "retrospective monitoring table: the confidence sequence is tuned to the last look passed in and the "
    "information fractions are relative to it, so it is valid only for a table built once after the experiment "
    "ended; rebuilt at every look it is not anytime-valid (false positives of 7-12% over 200-500 looks). Fix a "
    "MonitoringPlan(planned_n=...) before the first look for live monitoring")


@dataclass(frozen=True)
class MonitoringPlan:
    """What is fixed before the first look of a monitored experiment: the planned final sample size
    ``planned_n`` (units at the last planned look, both arms) or the planned final standard error ``final_se``
    (exactly one), and ``alpha``. The confidence sequence is tuned to be tightest at that planned end and the
    group-sequential information fractions are measured against it; looks beyond it stay valid for the
    confidence sequence (the group-sequential test has spent all its alpha there).

    >>> plan = MonitoringPlan(planned_n=20_000)
    >>> plan.fractions(ses=[0.2, 0.1], n=[5_000, 20_000]).tolist()
    [0.25, 1.0]
    """

    planned_n: float | None = None
    final_se: float | None = None
    alpha: float = 0.05

    def __post_init__(self) -> None:
        given = [k for k in ("planned_n", "final_se") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ConfigError("a monitoring plan needs exactly one of planned_n (planned final sample size) and "
                              f"final_se (planned final standard error); got {given or 'neither'}",
                              fix="fix the planned sample size from the power analysis before the first look")
        value = float(getattr(self, given[0]))
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"monitoring plan {given[0]} must be a positive finite number, got {value!r}",
                              fix=f"give {given[0]} from the experiment's power analysis")
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 1):
            raise ConfigError(f"monitoring plan alpha must be in (0, 1), got {self.alpha!r}", fix="e.g. alpha=0.05")

    def fractions(self, ses: Sequence[float], n: Sequence[float] | None = None) -> np.ndarray:
        """Information fraction of each look against the planned end: ``n / planned_n`` or
        ``(final_se / se)^2``."""
        if self.planned_n is not None:
            if n is None:
                raise ConfigError("a plan by planned_n needs the number of units at each look",
                                  fix="pass n= (e.g. n_treatment + n_control from cumulative_looks)")
            return np.asarray(n, dtype=np.float64) / float(self.planned_n)
        return (float(self.final_se) / np.asarray(ses, dtype=np.float64)) ** 2


def cs_z_boundary(fraction: np.ndarray | float, alpha: float = 0.05) -> np.ndarray:
    """``|z|`` boundary of the normal-mixture confidence sequence tuned to information fraction 1, at
    information fractions ``fraction`` (vectorised; equal to ``cs_radius / se``)."""
    la = -2 * math.log(alpha)
    v = 1.0 + np.asarray(fraction, dtype=np.float64) * (la + math.log(la + 1))
    with np.errstate(divide="ignore"):  # no information yet: an infinite boundary
        return np.sqrt(v * np.log(v / alpha**2) / (v - 1))


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
    """Two-sided z boundaries at the given increasing information fractions (last is usually 1).

    The boundary at a look depends only on the fractions up to it, so the recursion state of every prefix is
    remembered: a table rebuilt at each new look costs one step per look, not the whole schedule again.
    """
    t = np.asarray(fractions, dtype=np.float64)
    if t.size == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1 + 1e-12:
        raise ValueError("information fractions must be increasing in (0, 1]")
    spend = np.diff(np.concatenate([[0.0], obf_spending(t, alpha)]))
    head, ts = (float(alpha), int(grid)), tuple(t.tolist())
    k0 = len(ts)
    while k0 and (head, ts[:k0]) not in _OBF_STATES:
        k0 -= 1
    bounds, dens = _OBF_STATES[(head, ts[:k0])] if k0 else ((), None)
    for k in range(k0, t.size):
        bound, dens = _obf_step(t, k, float(spend[k]), bounds[-1] if k else None, dens, grid)
        bounds = (*bounds, bound)
        _OBF_STATES[(head, ts[:k + 1])] = (bounds, dens)
        if len(_OBF_STATES) > _OBF_MAX_STATES:
            _OBF_STATES.popitem(last=False)
    return np.array(bounds)


#: Recursion state (boundaries so far, density of the score on the continuation region) per prefix of looks.
_OBF_STATES: OrderedDict[tuple, tuple[tuple[float, ...], np.ndarray]] = OrderedDict()
_OBF_MAX_STATES = 1024


def _obf_step(t: np.ndarray, k: int, spend: float, prev_bound: float | None, prev_dens: np.ndarray | None,
              grid: int) -> tuple[float, np.ndarray]:
    """Boundary at look ``k`` and the density of the score ``S_k = Z_k sqrt(t_k)`` on the continuation region
    (Armitage–McPherson–Rowe recursion on a grid)."""
    sd = np.sqrt(t[k])
    step = np.sqrt(t[k] - t[k - 1]) if k else sd
    if k:
        half = min(prev_bound, 12.0) * np.sqrt(t[k - 1])
        x = np.linspace(-half, half, grid)
        dx = x[1] - x[0]
    if spend <= 0:
        bound = np.inf
    elif k == 0:
        bound = float(stats.norm.isf(spend / 2))
    else:
        bound = optimize.brentq(_exceed_minus, 0.01, 40.0, xtol=1e-10, args=(sd, step, x, prev_dens, dx, spend))
    new_x = np.linspace(-min(bound, 12.0) * sd, min(bound, 12.0) * sd, grid)
    if k == 0:
        dens = stats.norm.pdf(new_x / sd) / sd
    else:
        dens = _gauss_smooth(new_x, x, prev_dens, step) * (dx / (step * math.sqrt(2 * math.pi)))
    return float(bound), dens


def _gauss_smooth(new_x: np.ndarray, x: np.ndarray, values: np.ndarray, step: float) -> np.ndarray:
    """``Σ_j exp(-(new_x_i - x_j)² / (2 step²)) values_j`` on a uniform grid ``x``, summing only the band
    ``|new_x_i - x_j| <= 9 step`` (the rest is below 1e-17 of the peak); dense when the band is the whole grid."""
    dx = x[1] - x[0]
    lo = np.clip(np.ceil((new_x - 9 * step - x[0]) / dx).astype(int), 0, x.size - 1)
    hi = np.clip(np.floor((new_x + 9 * step - x[0]) / dx).astype(int), -1, x.size - 1)
    width = int(np.max(hi - lo)) + 1
    if width >= x.size // 2:
        u = (new_x[:, None] - x[None, :]) / step
        return np.exp(-0.5 * u * u) @ values
    idx = lo[:, None] + np.arange(max(width, 1))[None, :]
    inside = idx <= hi[:, None]
    idx = np.minimum(idx, x.size - 1)
    u = (new_x[:, None] - x[idx]) / step
    return np.sum(np.where(inside, np.exp(-0.5 * u * u), 0.0) * values[idx], axis=1)


def monitoring_table(
    estimates: Sequence[float], ses: Sequence[float], *, plan: MonitoringPlan | None = None,
    n: Sequence[float] | None = None, information_fractions: Sequence[float] | None = None,
    alpha: float | None = None, target_se: float | None = None, null: float = 0.0, retrospective: bool = False,
    group_sequential: bool = True,
) -> pd.DataFrame:
    """Per-look table: estimate, fixed-horizon CI, confidence sequence, group-sequential boundary and decisions.

    ``plan`` (a :class:`MonitoringPlan` fixed before the first look) sets alpha, tunes the confidence sequence
    and gives the information fractions (``n`` per look is needed with ``planned_n``); ``target_se=s`` is short
    for ``plan=MonitoringPlan(final_se=s)``. ``information_fractions`` overrides the plan's fractions (they must
    be relative to the planned final information). Without a plan a :class:`~recsys_causal.errors.ConfigError`
    is raised, unless ``retrospective=True``: the old tuning to the last look, valid only for a table built once
    after the experiment, with a warning in ``table.attrs["warnings"]``. The running intersection of the CS is
    in ``cs_low``/``cs_high``; ``cs_reject`` is true once the CS excludes ``null``; ``gs_reject`` once ``|z|``
    crosses the O'Brien–Fleming boundary (both stay true at later looks; ``group_sequential=False`` skips the
    boundaries, whose numerical integration costs a fraction of a second per new look). ``table.attrs["plan"]``
    is the plan. The estimate at each look is ``value``; its old name ``estimate`` is kept as an alias for one
    release.

    >>> plan = MonitoringPlan(planned_n=1000)
    >>> tab = monitoring_table([0.5, 0.4, 0.3], [0.3, 0.2, 0.1], plan=plan, n=[100, 250, 1000])
    >>> list(tab.columns[:5])
    ['look', 'value', 'estimate', 'se', 'z']
    """
    plan, warnings = _resolve_plan(plan, target_se, alpha, retrospective)
    a = plan.alpha if plan is not None else (0.05 if alpha is None else alpha)
    est = np.asarray(estimates, dtype=np.float64)
    se = np.asarray(ses, dtype=np.float64)
    z = (est - null) / se
    if information_fractions is not None:
        frac = np.asarray(information_fractions, dtype=np.float64)
    else:
        frac = plan.fractions(se, n) if plan is not None else (se[-1] / se) ** 2
    rad = cs_z_boundary(frac, a) * se
    lo = np.maximum.accumulate(est - rad)
    hi = np.minimum.accumulate(est + rad)
    bounds, note = _gs_bounds(frac, a) if group_sequential else (np.full(est.size, np.nan), None)
    warnings += [note] if note else []
    zq = stats.norm.ppf(1 - a / 2)
    table = pd.DataFrame({
        "look": np.arange(1, est.size + 1), "value": est, "estimate": est, "se": se, "z": z,
        "information_fraction": frac,
        "ci_low": est - zq * se, "ci_high": est + zq * se, "fixed_reject": np.abs(z) > zq,
        "cs_low": lo, "cs_high": hi, "cs_reject": np.logical_or.accumulate((lo > null) | (hi < null)),
        "gs_bound": bounds, "alpha_spent": obf_spending(np.minimum(frac, 1.0), a),
        "gs_reject": np.logical_or.accumulate(np.abs(z) > bounds),
    })
    table.attrs["plan"] = plan
    table.attrs["warnings"] = warnings
    return table


def _resolve_plan(plan: MonitoringPlan | None, target_se: float | None, alpha: float | None,
                  retrospective: bool) -> tuple[MonitoringPlan | None, list[str]]:
    if plan is not None and target_se is not None:
        raise ConfigError("give either plan= or target_se=, not both", fix="put the final SE in the plan")
    if plan is None and target_se is not None:
        plan = MonitoringPlan(final_se=target_se, alpha=0.05 if alpha is None else alpha)
    if plan is not None:
        if alpha is not None and alpha != plan.alpha:
            raise ConfigError(f"alpha={alpha} differs from the plan's alpha={plan.alpha}",
                              fix="set alpha in the MonitoringPlan only")
        return plan, []
    if not retrospective:
        raise ConfigError(
            "monitoring_table needs a MonitoringPlan fixed before the first look: tuned to the last look passed "
            "in, the confidence sequence is not anytime-valid when the table is rebuilt at each look",
            fix="pass plan=MonitoringPlan(planned_n=<planned final sample size>) and n=<units at each look>, or "
                "retrospective=True for a table built once after the experiment ended")
    return None, [RETROSPECTIVE_WARNING]


def _gs_bounds(frac: np.ndarray, alpha: float) -> tuple[np.ndarray, str | None]:
    """O'Brien–Fleming boundaries at fractions of the planned information; looks after the planned end get an
    infinite boundary (all alpha spent); non-increasing fractions give NaN."""
    bounds = np.full(frac.size, np.nan)
    if frac.size == 0 or np.any(np.diff(frac) <= 0) or frac[0] <= 0:
        return bounds, "information fractions are not increasing: no group-sequential boundaries"
    end = int(np.searchsorted(frac, 1.0, side="left"))  # first look at or beyond the planned end
    upto = min(end + 1, frac.size)
    bounds[:upto] = obrien_fleming_bounds(np.round(np.minimum(frac[:upto], 1.0), 12), alpha)
    bounds[upto:] = np.inf
    note = None
    if frac[-1] > 1 + 1e-9:
        note = (f"information beyond the plan (fraction {frac[-1]:.3g}): the group-sequential test has spent "
                "its alpha at the planned end; the confidence sequence remains valid")
    return bounds, note


@renamed_arguments(df="data")
def cumulative_looks(
    data: pd.DataFrame, *, metric: str, time_col: str, variant_col: str = "variant", control: str = "control",
    treatment: str = "treatment", n_looks: int = 10,
) -> pd.DataFrame:
    """Welch difference in means at ``n_looks`` equally spaced cut-offs of ``time_col`` (units enrolled so far)
    of the unit table ``data`` (old keyword ``df``); variant labels are compared as text.

    Vectorised: each arm is sorted by time once and cumulative sums give every look's mean and variance. The
    difference is ``value``; its old name ``estimate`` is kept as an alias for one release.
    """
    data = to_pandas(data, what="cumulative_looks")
    tvals = data[time_col]
    if pd.api.types.is_datetime64_any_dtype(tvals):
        tnum = (tvals - pd.Timestamp(0, tz=getattr(tvals.dt, "tz", None))).dt.total_seconds().to_numpy()
    else:
        tnum = tvals.to_numpy(dtype=np.float64)
    cuts = np.quantile(tnum, np.linspace(0, 1, n_looks + 1)[1:])
    y = data[metric].to_numpy(dtype=np.float64)
    arms = {}
    variant = data[variant_col].astype(str).to_numpy()
    treatment, control = str(treatment), str(control)
    for label in (treatment, control):
        m = variant == label
        order = np.argsort(tnum[m], kind="stable")
        yy, tt = y[m][order], tnum[m][order]
        k = np.searchsorted(tt, cuts, side="right")
        s1, s2 = np.concatenate([[0.0], np.cumsum(yy)]), np.concatenate([[0.0], np.cumsum(yy**2)])
        n = k.astype(np.float64)
        mean = s1[k] / np.maximum(n, 1)
        var = (s2[k] - n * mean**2) / np.maximum(n - 1, 1)
        arms[label] = (mean, var / np.maximum(n, 1), n)
    (mt, vt, nt), (mc, vc, nc) = arms[treatment], arms[control]
    # each look's cut-off in time_col's units: the time axis of recsys_causal.plotting.plot_cumulative
    time = (pd.to_datetime(cuts, unit="s", utc=True).tz_convert(tvals.dt.tz) if tvals.dt.tz is not None
            else pd.to_datetime(cuts, unit="s")) if pd.api.types.is_datetime64_any_dtype(tvals) else cuts
    return pd.DataFrame({"look": np.arange(1, n_looks + 1), "n_treatment": nt.astype(int),
                         "n_control": nc.astype(int), "value": mt - mc, "estimate": mt - mc, "se": np.sqrt(vt + vc),
                         "time": time})
