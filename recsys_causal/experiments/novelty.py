"""Novelty and primacy: the effect by days since first exposure and by calendar day, and a fitted decay curve.

Input is a unit × day panel (one row per unit and day with the daily metric; :func:`novelty_panel` builds it
from a decision log). :func:`effect_by_day` gives the
Welch difference in means per day-since-exposure (cohort-aligned) or per calendar day. :func:`fit_decay` fits

    effect(t) = long_run + (initial - long_run) * exp(-t / tau)

by weighted least squares with the daily standard errors (``scipy.optimize.curve_fit(sigma=se,
absolute_sigma=True)``), reporting the long-run effect with its interval. The same units contribute to many
days, so daily effects are correlated; :func:`effect_covariance` computes their full covariance from the panel
and ``fit_decay(..., cov=...)`` then fits by generalised least squares (``sigma`` = that matrix), which keeps the
long-run interval honest. Without it the interval is too narrow whenever units persist across days. The test of ``initial = long_run``
is the likelihood-ratio (weighted chi-square) comparison with a constant effect, referred to chi-square with
2 degrees of freedom (``tau`` is not identified under the null, which makes 2 df the usual conservative choice).
Label: ``stable`` if that test is not significant at ``alpha``; otherwise ``novelty`` if the effect falls over
time (``initial > long_run``: a positive effect fading, or a harm deepening) and ``primacy`` if it grows.

The long-run effect is only reported when the decay is identified: not when the label is ``stable`` (no decay
to extrapolate; with a flat curve ``tau`` and ``long_run`` are not identified), not when ``tau`` sits at a bound
of its search range, and not when the long-run interval is more than :data:`MAX_WIDTH_RATIO` times as wide as
the range the daily intervals span. Then ``DecayFit.effect`` is the constant-effect GLS mean of the daily effects
(``constant``, with the same covariance) and ``DecayFit.note`` says why the decay was not identified.
:func:`decay_from_panel` is the default from a panel: it always uses the covariance of the daily effects.

>>> import numpy as np
>>> t = np.arange(14.0); se = np.full(14, 0.01)
>>> fit = fit_decay(t, 0.02 + 0.08 * np.exp(-t / 3), se)
>>> fit.label, round(fit.long_run.value, 3), fit.identified
('novelty', 0.02, True)
>>> flat = fit_decay(t, np.full(14, 0.02), se)
>>> flat.identified, round(flat.effect.value, 3), flat.effect.name
(False, 0.02, 'constant_effect')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from recsys_causal.caveats import emits_caveats
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.frames import to_pandas
from recsys_causal.logs.model import DecisionLog
from recsys_causal.plotting import plot_decay, plot_effect_by_day  # noqa: F401 (their plots, re-exported)
from recsys_causal.results import ResultProtocol

#: The long-run interval is called absurd (decay not identified) above this many times the daily intervals' range.
MAX_WIDTH_RATIO = 3.0
TAU_MIN = 0.05
TAU_SPAN_MAX = 50.0


def effect_by_day(
    panel: pd.DataFrame, *, metric: str, by: str = "days_since_exposure", variant_col: str = "variant",
    control: str = "control", treatment: str = "treatment", alpha: float = 0.05, min_units: int = 2,
) -> pd.DataFrame:
    """Per-day difference in means (treatment − control) with Welch standard errors and normal intervals.

    ``by`` is ``days_since_exposure`` (cohort-aligned) or a calendar-day column. Vectorised by groupby. The
    difference is ``value`` (``effect``, its former name, is kept as an alias for one release).
    """
    panel = to_pandas(panel, what="effect_by_day")
    sub = panel.loc[panel[variant_col].isin([treatment, control]), [by, variant_col, metric]]
    g = sub.groupby([by, variant_col], observed=True)[metric].agg(["mean", "var", "count"]).unstack(variant_col)
    mt, mc = g[("mean", treatment)], g[("mean", control)]
    vt = g[("var", treatment)] / g[("count", treatment)]
    vc = g[("var", control)] / g[("count", control)]
    out = pd.DataFrame({by: g.index, "effect": (mt - mc).to_numpy(), "se": np.sqrt(vt + vc).to_numpy(),
                        "n_treatment": g[("count", treatment)].to_numpy(), "n_control": g[("count", control)].to_numpy()})
    out = out[(out["n_treatment"] >= min_units) & (out["n_control"] >= min_units)].reset_index(drop=True)
    z = stats.norm.ppf(1 - alpha / 2)
    out["ci_low"] = out["effect"] - z * out["se"]
    out["ci_high"] = out["effect"] + z * out["se"]
    out.insert(1, "value", out["effect"])
    return out


def effect_covariance(
    panel: pd.DataFrame, *, metric: str, unit_col: str = "unit_id", by: str = "days_since_exposure",
    variant_col: str = "variant", control: str = "control", treatment: str = "treatment",
    days: Sequence | None = None,
) -> np.ndarray:
    """Covariance matrix of the per-day effects of :func:`effect_by_day` (units repeat across days).

    For each arm, ``cov(mean_d, mean_e) = sum_i (y_id - mean_d)(y_ie - mean_e) / (n_d n_e)`` over units
    observed on both days; the effect covariance is the sum over the two arms. ``days`` selects and orders
    the rows (default: every value of ``by``, sorted).
    """
    day_index = pd.Index(sorted(panel[by].unique()) if days is None else list(days))
    total = np.zeros((len(day_index), len(day_index)))
    for arm in (treatment, control):
        sub = panel.loc[panel[variant_col] == arm, [unit_col, by, metric]]
        d = day_index.get_indexer(sub[by])
        keep = d >= 0
        u, _ = pd.factorize(sub[unit_col].to_numpy()[keep])
        d = d[keep]
        y = sub[metric].to_numpy(dtype=np.float64)[keep]
        n = np.bincount(d, minlength=len(day_index)).astype(np.float64)
        mean = np.bincount(d, weights=y, minlength=len(day_index)) / np.maximum(n, 1)
        mat = np.zeros((u.max() + 1 if u.size else 0, len(day_index)))
        mat[u, d] = y - mean[d]
        total += (mat.T @ mat) / np.outer(np.maximum(n, 1), np.maximum(n, 1))
    return total


def _curve(t: np.ndarray, long_run: float, initial: float, tau: float) -> np.ndarray:
    return long_run + (initial - long_run) * np.exp(-t / tau)


@dataclass(frozen=True)
class DecayFit(ResultProtocol):
    """Fitted decay curve: long-run and initial effects, ``tau``, the test of initial = long_run and a label."""

    long_run: Estimate
    initial: Estimate
    tau: float
    lr_stat: float
    p_value: float
    label: str
    days: np.ndarray
    effects: np.ndarray
    ses: np.ndarray
    constant: Estimate | None = None
    identified: bool = True
    note: str = ""

    @property
    def effect(self) -> Estimate:
        """What to report: the long-run effect when the decay is identified, else the constant-effect mean."""
        return self.long_run if self.identified or self.constant is None else self.constant

    def predict(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if not self.identified and self.constant is not None:
            return np.full_like(t, self.constant.value)
        return _curve(t, self.long_run.value, self.initial.value, self.tau)

    def __repr__(self) -> str:
        e = self.effect
        what = "long-run" if self.identified else "long-run not identified; constant effect"
        return (f"DecayFit({self.label}: {what} {e.value:.4g} [{e.ci_low:.4g}, {e.ci_high:.4g}], "
                f"initial {self.initial.value:.4g}, tau={self.tau:.3g} days, "
                f"p(initial=long_run)={self.p_value:.3g})")

    def _headline(self) -> str:
        return repr(self)

    def plot(self):
        """A matplotlib Figure: the daily effects by days since exposure with their normal intervals (``±z·se``
        at the fit's alpha), the fitted decay curve and the reported effect's interval as a band."""
        z = stats.norm.ppf(1 - self.long_run.alpha / 2)
        table = pd.DataFrame({"days_since_exposure": self.days, "effect": self.effects,
                              "ci_low": self.effects - z * self.ses, "ci_high": self.effects + z * self.ses})
        return plot_decay(self, table)

    def _title(self) -> str:
        return "Novelty / primacy decay fit"

    def _sections(self) -> list[tuple[str, Any]]:
        fitted = [self.long_run, self.initial, *([self.constant] if self.constant is not None else [])]
        daily = pd.DataFrame({"days_since_exposure": self.days, "value": self.effects, "se": self.ses})
        return [("decay fit", EstimateTable(fitted, title="Decay fit")), ("Daily effects", daily)]

    def _warnings(self) -> list[str]:
        return [self.note] if self.note else []

    def _data(self) -> dict[str, Any]:
        return {"label": self.label, "tau": self.tau, "lr_stat": self.lr_stat, "p_value": self.p_value,
                "identified": self.identified}


@emits_caveats(of=lambda fit: fit.long_run.warnings)
def fit_decay(days: np.ndarray, effects: np.ndarray, ses: np.ndarray, *, cov: np.ndarray | None = None,
              alpha: float = 0.05) -> DecayFit:
    """Weighted (or, with ``cov``, generalised) least-squares fit of the decay curve (see module docstring)."""
    t = np.asarray(days, dtype=np.float64)
    y = np.asarray(effects, dtype=np.float64)
    s = np.asarray(ses, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(y) & np.isfinite(s) & (s > 0)
    t, y, s = t[ok], y[ok], s[ok]
    if cov is not None:
        cov = np.asarray(cov, dtype=np.float64)[np.ix_(ok, ok)]
    if t.size < 4:
        raise EstimationError(f"decay fit needs at least 4 days with a finite effect and se, got {t.size}",
                              count=int(t.size), fix="run the experiment longer or use a finer day grid")
    W = np.linalg.inv(cov) if cov is not None else np.diag(1 / s**2)
    sigma = cov if cov is not None else s
    one = np.ones_like(y)
    const = float(one @ W @ y / (one @ W @ one))
    chi0 = float((y - const) @ W @ (y - const))
    span = max(t.max() - t.min(), 1.0)
    best = None
    for tau0 in (0.5, 2.0, span / 3, span):
        try:
            p, pcov = optimize.curve_fit(_curve, t, y, p0=[y[-3:].mean(), y[:2].mean(), tau0], sigma=sigma,
                                        absolute_sigma=True, bounds=([-np.inf, -np.inf, TAU_MIN],
                                                                     [np.inf, np.inf, TAU_SPAN_MAX * span]),
                                        max_nfev=2000)
        except (RuntimeError, ValueError):
            continue
        r = y - _curve(t, *p)
        chi = float(r @ W @ r)
        if best is None or chi < best[0]:
            best = (chi, p, pcov)
    if best is None:
        chi1, p, pcov = chi0, np.array([const, const, np.nan]), np.full((3, 3), np.nan)
        pcov[0, 0] = pcov[1, 1] = 1 / float(one @ W @ one)
    else:
        chi1, p, pcov = best
    lr = max(chi0 - chi1, 0.0)
    pval = float(stats.chi2.sf(lr, df=2))
    if pval >= alpha:
        label = "stable"
    else:
        label = "novelty" if p[1] > p[0] else "primacy"
    n = int(t.size)
    method = ("decay fit (GLS, covariance of the daily effects)" if cov is not None
              else "decay fit (WLS, daily se, days treated as independent)")
    warn = () if cov is not None else (
        "daily effects treated as independent; when they come from one panel of units pass "
        "cov=effect_covariance(panel, ...) (or use decay_from_panel), else the interval is too narrow",)
    long_run = Estimate.from_normal(name="long_run_effect", value=p[0], se=float(np.sqrt(pcov[0, 0])), n=n,
                                    method=method, alpha=alpha, warnings=warn, details={"quantity": "lift"})
    initial = Estimate.from_normal(name="initial_effect", value=p[1], se=float(np.sqrt(pcov[1, 1])), n=n,
                                   method=method, alpha=alpha, warnings=warn, details={"quantity": "lift"})
    constant = Estimate.from_normal(name="constant_effect", value=const, se=float(np.sqrt(1 / (one @ W @ one))),
                                    n=n, method=method.replace("decay fit", "constant-effect mean"), alpha=alpha,
                                    warnings=warn, details={"quantity": "lift"})
    note = _not_identified(label, float(p[2]), span, long_run, y, s, alpha, converged=best is not None)
    if note:
        long_run = replace(long_run, warnings=(*long_run.warnings, f"long-run effect not identified: {note}"))
    return DecayFit(long_run, initial, float(p[2]), lr, pval, label, t, y, s, constant, not note, note)


def _not_identified(label: str, tau: float, span: float, long_run: Estimate, y: np.ndarray, s: np.ndarray,
                    alpha: float, *, converged: bool) -> str:
    """Why the long-run effect of a decay fit is not identified ('' when it is)."""
    if not converged:
        return "the decay curve did not converge"
    if label == "stable":
        return "no decay detected: the test of initial = long-run is not significant, so tau and the long-run " \
               "effect are not identified"
    if not np.isfinite(tau) or tau <= TAU_MIN * 1.01 or tau >= TAU_SPAN_MAX * span * 0.99:
        return f"tau = {tau:.3g} days sits at a bound of its range [{TAU_MIN:g}, {TAU_SPAN_MAX * span:g}]"
    z = float(stats.norm.ppf(1 - alpha / 2))
    daily_range = float(np.max(y + z * s) - np.min(y - z * s))
    width = long_run.ci_high - long_run.ci_low
    if not np.isfinite(width) or width > MAX_WIDTH_RATIO * daily_range:
        return (f"the long-run interval is {width / daily_range:.3g} times as wide as the range of the daily "
                "intervals (an extrapolation the data do not support)")
    return ""


@emits_caveats(of=lambda out: out[1].long_run.warnings)
def decay_from_panel(
    panel: pd.DataFrame, *, metric: str, unit_col: str = "unit_id", variant_col: str = "variant",
    control: str = "control", treatment: str = "treatment", alpha: float = 0.05, min_units: int = 2,
) -> tuple[pd.DataFrame, DecayFit]:
    """Daily effects by days since exposure (:func:`effect_by_day`) and their decay fit by GLS with the
    covariance of the daily effects (:func:`effect_covariance`), the default whenever the days share units.

    >>> from recsys_causal.simulate.ab import simulate_ab_panel
    >>> panel, truth = simulate_ab_panel(n_units=2000, n_days=21, initial=0.6, long_run=0.1, tau=3, seed=2)
    >>> daily, fit = decay_from_panel(panel, metric="value")
    >>> fit.label, fit.identified, fit.effect.ci_low < 0.1 < fit.effect.ci_high
    ('novelty', True, True)
    """
    panel = to_pandas(panel, what="decay_from_panel")
    daily = effect_by_day(panel, metric=metric, variant_col=variant_col, control=control, treatment=treatment,
                          alpha=alpha, min_units=min_units)
    cov = effect_covariance(panel, metric=metric, unit_col=unit_col, variant_col=variant_col, control=control,
                            treatment=treatment, days=daily["days_since_exposure"].tolist())
    fit = fit_decay(daily["days_since_exposure"].to_numpy(np.float64), daily["effect"].to_numpy(),
                    daily["se"].to_numpy(), cov=cov, alpha=alpha)
    return daily, fit


@renamed_arguments(log="data")
def novelty_panel(data: DecisionLog, *, metric: str, unit: str, variant_col: str, as_of: object, days: int,
                  ) -> pd.DataFrame:
    """Unit × day-since-first-exposure panel of a per-request outcome sum (0 on days without requests) from the
    decision log ``data`` (old keyword ``log``).

    Only days that have fully closed by ``as_of`` enter; units seen in several variants are left out. The panel
    is the input of :func:`decay_from_panel` (``metric="value"``).

    >>> from recsys_causal.logs.model import DecisionLog
    >>> req = pd.DataFrame({"request_id": ["a", "b"], "user_id": ["u1", "u1"], "variant": "treatment",
    ...                     "decision_time": pd.to_datetime(["2026-06-01T10:00Z", "2026-06-03T11:00Z"])})
    >>> cand = pd.DataFrame({"request_id": ["a", "b"], "item_id": "i", "shown": True, "position": 1.0,
    ...                      "click": 1.0})
    >>> log = DecisionLog.from_frames(req, cand)
    >>> novelty_panel(log, metric="click", unit="user_id", variant_col="variant", as_of="2026-06-05T00:00Z",
    ...               days=7)["value"].tolist()
    [1.0, 0.0, 1.0]
    """
    req = data.requests
    value = data.per_request_sum(np.where(data.shown & np.isfinite(data.reward(metric)), data.reward(metric), 0.0))
    frame = pd.DataFrame({"unit_id": req[unit].to_numpy(), "variant": req[variant_col].to_numpy(),
                          "t": pd.DatetimeIndex(req["decision_time"]), "value": value})
    single = frame.groupby("unit_id")["variant"].transform("nunique") == 1
    frame = frame.loc[single.to_numpy()]
    first = frame.groupby("unit_id")["t"].transform("min")
    frame["days_since_exposure"] = ((frame["t"] - first) // pd.Timedelta(days=1)).astype(int)
    per = frame.groupby(["unit_id", "days_since_exposure"])["value"].sum()
    units = frame.groupby("unit_id").agg(variant=("variant", "first"), first=("t", "min"))
    as_of = pd.Timestamp(as_of)
    closed = ((as_of - units["first"]) // pd.Timedelta(days=1)).clip(upper=days).astype(int).to_numpy()
    uid = np.repeat(units.index.to_numpy(), closed)
    dse = np.concatenate([np.arange(c) for c in closed]) if closed.sum() else np.array([], dtype=int)
    panel = pd.DataFrame({"unit_id": uid, "variant": np.repeat(units["variant"].to_numpy(), closed),
                          "days_since_exposure": dse})
    idx = pd.MultiIndex.from_arrays([panel["unit_id"], panel["days_since_exposure"]])
    panel["value"] = per.reindex(idx).fillna(0.0).to_numpy()
    return panel
