"""A/B experiment simulator with exactly known true effects.

Users fall into lifecycle segments by prior interactions (cold-start < 5, casual 5–50, power > 50), drawn as
``floor(exp(N(mu, sigma)))`` so the segment shares are known in closed form. Effects differ by segment;
every truth is a population expectation computed analytically from the design (not from the sample):

* ``revenue`` (mean): ``mu_s * a_i * (1 + r_s T) * g_i`` with unit latent ``a_i`` (mean 1) shared with the
  pre-period covariate ``pre_revenue`` and independent mean-1 noise ``g_i``;
* ``converted`` (proportion): Bernoulli ``p_s (1 + r_s T)``;
* ``ctr`` (ratio ``clicks / impressions``): impressions Poisson ``lambda_s``, clicks Poisson
  ``impressions * ctr_s * b_i * (1 + r_s T)`` with ``b_i`` shared with ``pre_clicks / pre_impressions``;
* ``latency_ms`` (quantiles): lognormal ``exp(m + d T + s Z)``;
* ``hides`` (guardrail): Poisson ``impressions * h_s * (1 + hide_lift T)``.

:func:`simulate_ab_panel` adds a unit × day panel whose effect decays as
``long_run + (initial - long_run) exp(-t / tau)`` over days since first exposure, and :func:`simulate_ab_log`
returns request-level decision-log frames (requests and shown candidates) for the same design.

>>> sim = simulate_ab(n_units=2000, seed=0)
>>> sorted(sim.units["segment"].unique().tolist())
['casual', 'cold_start', 'power']
>>> round(sim.truth["treatment"]["revenue"]["relative"], 4)
0.0181
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.logs.segments import lifecycle_segment
from recsys_causal.simulate.assign import draw_arms

SEGMENTS = ("cold_start", "casual", "power")
PRIOR_MU, PRIOR_SIGMA = 2.5, 1.3
REVENUE = {"cold_start": 1.0, "casual": 3.0, "power": 8.0}
IMPRESSIONS = {"cold_start": 20.0, "casual": 60.0, "power": 150.0}
CTR = {"cold_start": 0.03, "casual": 0.05, "power": 0.07}
CONVERT = {"cold_start": 0.05, "casual": 0.15, "power": 0.30}
HIDE = {"cold_start": 0.010, "casual": 0.008, "power": 0.005}
SEGMENT_LIFT = {"cold_start": 0.04, "casual": 0.02, "power": 0.01}
LATENCY_LOG_MEAN, LATENCY_LOG_SD = np.log(120.0), 0.5
START = pd.Timestamp("2026-03-02", tz="UTC")


def segment_shares() -> dict[str, float]:
    """Exact population share of each segment."""
    cdf = stats.norm.cdf
    p_cold = cdf((np.log(5) - PRIOR_MU) / PRIOR_SIGMA)
    p_power = 1 - cdf((np.log(51) - PRIOR_MU) / PRIOR_SIGMA)
    return {"cold_start": float(p_cold), "casual": float(1 - p_cold - p_power), "power": float(p_power)}


@dataclass(frozen=True)
class SimulatedAB:
    """Simulated unit-level experiment: ``units`` (one row per unit) and ``truth[variant][metric]``."""

    units: pd.DataFrame
    truth: dict[str, dict[str, dict[str, float]]]
    config: dict = field(default_factory=dict)


def _true_effects(lifts: Mapping[str, float], scale: float, hide_lift: float, latency_shift: float) -> dict:
    w = segment_shares()
    r = {s: lifts[s] * scale for s in SEGMENTS}

    def pair(c: float, t: float) -> dict[str, float]:
        return {"control": c, "treatment": t, "absolute": t - c, "relative": t / c - 1}

    out = {
        "revenue": pair(sum(w[s] * REVENUE[s] for s in SEGMENTS),
                        sum(w[s] * REVENUE[s] * (1 + r[s]) for s in SEGMENTS)),
        "converted": pair(sum(w[s] * CONVERT[s] for s in SEGMENTS),
                          sum(w[s] * CONVERT[s] * (1 + r[s]) for s in SEGMENTS)),
        "impressions": pair(sum(w[s] * IMPRESSIONS[s] for s in SEGMENTS),
                            sum(w[s] * IMPRESSIONS[s] for s in SEGMENTS)),
        "hides": pair(sum(w[s] * IMPRESSIONS[s] * HIDE[s] for s in SEGMENTS),
                      sum(w[s] * IMPRESSIONS[s] * HIDE[s] * (1 + hide_lift) for s in SEGMENTS)),
    }
    den = sum(w[s] * IMPRESSIONS[s] for s in SEGMENTS)
    out["ctr"] = pair(sum(w[s] * IMPRESSIONS[s] * CTR[s] for s in SEGMENTS) / den,
                      sum(w[s] * IMPRESSIONS[s] * CTR[s] * (1 + r[s]) for s in SEGMENTS) / den)
    for q in (0.5, 0.95, 0.99):
        z = stats.norm.ppf(q)
        out[f"latency_p{round(100 * q)}"] = pair(float(np.exp(LATENCY_LOG_MEAN + LATENCY_LOG_SD * z)),
                                                 float(np.exp(LATENCY_LOG_MEAN + latency_shift + LATENCY_LOG_SD * z)))
    for s in SEGMENTS:
        out[f"revenue[{s}]"] = pair(REVENUE[s], REVENUE[s] * (1 + r[s]))
    return out


def simulate_ab(
    n_units: int = 10_000, *, split: Mapping[str, float] | None = None, control: str = "control",
    segment_lift: Mapping[str, float] | None = None, effect_scale: Mapping[str, float] | None = None,
    hide_lift: float = 0.0, latency_shift: float = 0.0, srm_drop: float = 0.0, enroll_days: int = 14,
    unit_noise: float = 0.6, seed: int | None = 0,
) -> SimulatedAB:
    """Unit-level A/B data with known truth (see module docstring).

    ``split`` maps variant → share (default 50/50 control/treatment); every non-control variant applies the
    segment lifts times ``effect_scale[variant]`` (default 1). ``srm_drop`` removes that fraction of each
    non-control arm's units at random after assignment (an injected sample-ratio mismatch; the truth is
    unchanged). ``latency_shift`` is the treatment shift of log latency; ``hide_lift`` the relative change in
    hides. Columns: ``unit_id, variant, segment, prior_interactions, first_exposure, covariate_time,
    pre_revenue, pre_clicks, pre_impressions, revenue, converted, impressions, clicks, hides, latency_ms``.
    """
    rng = np.random.default_rng(seed)
    split = dict(split or {control: 0.5, "treatment": 0.5})
    lifts = dict(segment_lift or SEGMENT_LIFT)
    scale = {v: float((effect_scale or {}).get(v, 1.0)) for v in split if v != control}
    names, arm = draw_arms(rng, split, n_units)
    variant = np.asarray(names, dtype=object)[arm]
    prior = np.floor(np.exp(rng.normal(PRIOR_MU, PRIOR_SIGMA, n_units))).astype(np.int64)
    seg = lifecycle_segment(prior)
    code = pd.Index(SEGMENTS).get_indexer(seg)
    r = _per_unit(code, lifts) * np.array([0.0 if v == control else scale[v] for v in names])[arm]
    treated = (variant != control).astype(np.float64)
    outcomes = _unit_outcomes(rng, code, r, treated, unit_noise=unit_noise, hide_lift=hide_lift,
                              latency_shift=latency_shift)
    first = START + pd.to_timedelta(rng.uniform(0, enroll_days * 86400, n_units), unit="s")
    units = pd.DataFrame({
        "unit_id": np.char.add("u", np.arange(n_units).astype(str)), "variant": variant.astype(str),
        "segment": seg, "prior_interactions": prior, "first_exposure": first,
        "covariate_time": START - pd.Timedelta(days=1), **outcomes,
    })
    if srm_drop > 0:
        keep = (variant == control) | (rng.random(n_units) >= srm_drop)
        units = units.loc[keep].reset_index(drop=True)
    truth = {v: _true_effects(lifts, scale[v], hide_lift, latency_shift) for v in scale}
    return SimulatedAB(units, truth, {"split": split, "control": control, "srm_drop": srm_drop, "seed": seed})


def _per_unit(code: np.ndarray, table: Mapping[str, float]) -> np.ndarray:
    """Each unit's value of a per-segment ``table`` (``code`` indexes :data:`SEGMENTS`)."""
    return pd.Series(table).reindex(pd.Index(SEGMENTS)).to_numpy(dtype=np.float64)[code]


def _unit_outcomes(rng: np.random.Generator, code: np.ndarray, r: np.ndarray, treated: np.ndarray, *,
                   unit_noise: float, hide_lift: float, latency_shift: float) -> dict[str, np.ndarray]:
    """Pre-period covariates and outcomes of every unit (see the module docstring); ``r`` is each unit's
    relative lift (0 in control)."""
    n_units = code.size
    k = 1 / unit_noise**2
    a = rng.gamma(k, 1 / k, n_units)
    b = rng.gamma(4.0, 0.25, n_units)
    mu = _per_unit(code, REVENUE)
    pre_revenue = mu * a * rng.gamma(4.0, 0.25, n_units)
    revenue = mu * a * (1 + r) * rng.gamma(4.0, 0.25, n_units)
    pre_imp = rng.poisson(_per_unit(code, IMPRESSIONS))
    pre_clicks = rng.poisson(pre_imp * _per_unit(code, CTR) * b)
    imp = rng.poisson(_per_unit(code, IMPRESSIONS))
    clicks = rng.poisson(imp * _per_unit(code, CTR) * b * (1 + r))
    hides = rng.poisson(imp * _per_unit(code, HIDE) * (1 + hide_lift * treated))
    converted = (rng.random(n_units) < np.minimum(_per_unit(code, CONVERT) * (1 + r), 1.0)).astype(np.float64)
    latency = np.exp(LATENCY_LOG_MEAN + latency_shift * treated + LATENCY_LOG_SD * rng.normal(size=n_units))
    return {"pre_revenue": pre_revenue, "pre_clicks": pre_clicks.astype(np.float64),
            "pre_impressions": pre_imp.astype(np.float64), "revenue": revenue, "converted": converted,
            "impressions": imp.astype(np.float64), "clicks": clicks.astype(np.float64),
            "hides": hides.astype(np.float64), "latency_ms": latency}


def decay_effect(t: np.ndarray, *, initial: float, long_run: float, tau: float) -> np.ndarray:
    """True effect at ``t`` days since first exposure."""
    return long_run + (initial - long_run) * np.exp(-np.asarray(t, dtype=np.float64) / tau)


def simulate_ab_panel(
    n_units: int = 4000, *, n_days: int = 28, enroll_days: int = 7, initial: float = 0.3, long_run: float = 0.1,
    tau: float = 3.0, noise: float = 1.0, control: str = "control", seed: int | None = 0,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Unit × day panel with a decaying (novelty) effect; returns ``(panel, truth)``.

    Units enrol on a uniform day in ``[0, enroll_days)`` and are observed every day until ``n_days``; the daily
    metric is ``base_i + effect(days_since_exposure) * T + noise``. ``initial == long_run`` gives no decay.

    >>> panel, truth = simulate_ab_panel(n_units=200, n_days=10, seed=1)
    >>> {"unit_id", "variant", "day", "days_since_exposure", "value"} <= set(panel.columns)
    True
    """
    rng = np.random.default_rng(seed)
    treated = rng.random(n_units) < 0.5
    enrol = rng.integers(0, enroll_days, n_units)
    base = rng.normal(1.0, 0.5, n_units)
    length = n_days - enrol
    unit = np.repeat(np.arange(n_units), length)
    starts = np.repeat(np.cumsum(length) - length, length)
    dse = np.arange(length.sum()) - starts
    day = enrol[unit] + dse
    eff = decay_effect(dse, initial=initial, long_run=long_run, tau=tau)
    value = base[unit] + eff * treated[unit] + rng.normal(0, noise, unit.size)
    panel = pd.DataFrame({
        "unit_id": unit, "variant": np.where(treated[unit], "treatment", control),
        "day": (START + pd.to_timedelta(day, unit="D")), "days_since_exposure": dse, "value": value,
    })
    return panel, {"initial": initial, "long_run": long_run, "tau": tau}


def simulate_ab_log(
    n_users: int = 2000, *, split: Mapping[str, float] | None = None, control: str = "control",
    slate_size: int = 5, requests_per_user: float = 6.0, days: int = 30, segment_lift: Mapping[str, float] | None
    = None, latency_shift: float = 0.0, user_latency_sd: float = 0.4, n_dual_assigned: int = 0,
    experiment_id: str = "exp1", seed: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Request-level decision-log frames for a user-randomised experiment: ``(requests, candidates, truth)``.

    Requests carry ``request_id, decision_time, user_id, surface, experiment_id, variant, segment,
    latency_ms``; candidates (all shown, ``slate_size`` per request) carry ``request_id, item_id, shown,
    position, click, purchase, hide``. Log latency is ``m + d T + u_user + e`` with a user random effect, so
    request latencies are correlated within users (analyse with clustering by user); its marginal quantiles
    are known exactly (``truth['latency_p50']`` etc.). ``n_dual_assigned`` users get extra requests logged
    under another variant (the classic logging bug). Feed to ``DecisionLog.from_frames(requests, candidates)``.

    >>> req, cand, truth = simulate_ab_log(n_users=50, seed=0)
    >>> len(cand) == 5 * len(req)
    True
    """
    rng = np.random.default_rng(seed)
    names, arm = draw_arms(rng, dict(split or {control: 0.5, "treatment": 0.5}), n_users)
    prior = np.floor(np.exp(rng.normal(PRIOR_MU, PRIOR_SIGMA, n_users))).astype(np.int64)
    seg = lifecycle_segment(prior)
    code = pd.Index(SEGMENTS).get_indexer(seg)
    lifts = dict(segment_lift or SEGMENT_LIFT)
    treated_user = np.asarray(names)[arm] != control
    r = np.array([lifts[s] for s in SEGMENTS])[code] * treated_user
    n_req = 1 + rng.poisson(requests_per_user - 1, n_users)
    user = np.repeat(np.arange(n_users), n_req)
    first = START + pd.to_timedelta(rng.uniform(0, 14 * 86400, n_users), unit="s")
    offset = rng.uniform(0, days * 86400, user.size)
    is_first = np.r_[True, user[1:] != user[:-1]]
    offset[is_first] = 0.0
    t = first[user] + pd.to_timedelta(offset, unit="s")
    u_lat = rng.normal(0, user_latency_sd, n_users)
    e_sd = np.sqrt(max(LATENCY_LOG_SD**2 - user_latency_sd**2, 1e-6))
    latency = np.exp(LATENCY_LOG_MEAN + latency_shift * treated_user[user] + u_lat[user]
                     + rng.normal(0, e_sd, user.size))
    variant = np.asarray(names, dtype=object)[arm][user].astype(str)
    if n_dual_assigned > 0:
        variant = _dual_assign(rng, variant, names, user, n_req, is_first, n_dual_assigned)
    n = user.size
    requests = pd.DataFrame({
        "request_id": np.char.add("r", np.arange(n).astype(str)), "decision_time": t,
        "user_id": np.char.add("u", user.astype(str)),
        "surface": np.where(rng.random(n) < 0.7, "home", "search"), "experiment_id": experiment_id,
        "variant": variant, "segment": seg[user], "latency_ms": latency,
    })
    p_click = (np.array([CTR[s] for s in SEGMENTS])[code] * (1 + r))[user]
    candidates = _shown_slates(rng, requests["request_id"].to_numpy(), p_click, slate_size)
    return requests, candidates, _latency_truth(latency_shift)


def _dual_assign(rng: np.random.Generator, variant: np.ndarray, names: list[str], user: np.ndarray,
                 n_req: np.ndarray, is_first: np.ndarray, n_dual: int) -> np.ndarray:
    """``variant`` with the later requests of ``n_dual`` random users (with more than one request) logged
    under another variant."""
    bad = rng.choice(np.flatnonzero(n_req > 1), size=min(n_dual, int((n_req > 1).sum())), replace=False)
    flip = np.isin(user, bad) & ~is_first
    other = {v: next(w for w in names if w != v) for v in names}
    return np.where(flip, pd.Series(variant).map(other).to_numpy(), variant).astype(str)


def _shown_slates(rng: np.random.Generator, request_id: np.ndarray, p_click: np.ndarray,
                  slate_size: int) -> pd.DataFrame:
    """``slate_size`` shown candidates per request, clicked with the request's ``p_click``."""
    n = request_id.size
    rows = n * slate_size
    req_of = np.repeat(np.arange(n), slate_size)
    click = (rng.random(rows) < p_click[req_of]).astype(np.float64)
    return pd.DataFrame({
        "request_id": request_id[req_of],
        "item_id": np.char.add("i", rng.integers(0, 10_000, rows).astype(str)), "shown": True,
        "position": np.tile(np.arange(1, slate_size + 1), n).astype(np.float64), "click": click,
        "purchase": click * (rng.random(rows) < 0.1), "hide": (rng.random(rows) < 0.01).astype(np.float64),
    })


def _latency_truth(latency_shift: float) -> dict[str, dict[str, float]]:
    """Exact marginal latency quantiles and mean effect of :func:`simulate_ab_log`."""
    truth = {}
    for q in (0.5, 0.95, 0.99):
        z = stats.norm.ppf(q)
        c = float(np.exp(LATENCY_LOG_MEAN + LATENCY_LOG_SD * z))
        truth[f"latency_p{round(100 * q)}"] = {"control": c, "absolute": c * (np.exp(latency_shift) - 1),
                                               "relative": float(np.exp(latency_shift) - 1)}
    truth["latency_mean"] = {"absolute": float(np.exp(LATENCY_LOG_MEAN + LATENCY_LOG_SD**2 / 2)
                                               * (np.exp(latency_shift) - 1))}
    return truth
