"""Novelty decay: an unidentified long-run effect is not reported; the constant-effect GLS mean is, with the
covariance of the daily effects by default (decay_from_panel)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from recsys_causal.experiments import decay_from_panel, effect_by_day, effect_covariance, fit_decay
from recsys_causal.simulate.ab import simulate_ab_panel


def test_constant_effect_is_the_gls_mean_of_statsmodels():
    panel, _ = simulate_ab_panel(n_units=800, n_days=10, initial=0.1, long_run=0.1, seed=11)
    daily, fit = decay_from_panel(panel, metric="value")
    cov = effect_covariance(panel, metric="value", days=daily["days_since_exposure"])
    gls = sm.GLS(daily["effect"].to_numpy(), np.ones(len(daily)), sigma=cov).fit()
    assert fit.constant.value == pytest.approx(gls.params[0], rel=1e-9)
    # statsmodels scales bse by the residual variance; the known-covariance standard error is bse / sqrt(scale)
    assert fit.constant.se == pytest.approx(gls.bse[0] / np.sqrt(gls.scale), rel=1e-9)
    assert "GLS" in fit.constant.method


def test_stable_fit_reports_the_constant_effect_not_the_long_run():
    t = np.arange(10.0)
    y = 0.01 + np.array([0.002, -0.001, 0.0, 0.001, -0.002, 0.0, 0.001, -0.001, 0.002, 0.0])
    fit = fit_decay(t, y, np.full(10, 0.01))
    assert fit.label == "stable" and not fit.identified
    assert fit.effect is fit.constant and fit.effect.name == "constant_effect"
    assert fit.effect.value == pytest.approx(y.mean())                   # equal weights: the plain mean
    assert fit.effect.se == pytest.approx(0.01 / np.sqrt(10))
    assert "not identified" in fit.note and "not identified" in repr(fit)
    assert any("not identified" in w for w in fit.long_run.warnings)
    assert np.allclose(fit.predict(np.array([0.0, 50.0])), fit.constant.value)


def test_tau_at_its_upper_bound_is_not_identified():
    t = np.arange(12.0)
    fit = fit_decay(t, 1.0 - 0.05 * t, np.full(12, 0.001))  # a straight decline: no plateau in sight
    assert fit.label == "novelty"
    assert not fit.identified and ("bound" in fit.note or "wide" in fit.note)
    assert fit.effect is fit.constant


def test_identified_decay_reports_the_long_run_effect():
    t = np.arange(21.0)
    fit = fit_decay(t, 0.1 + 0.4 * np.exp(-t / 3), np.full(21, 0.01))
    assert fit.identified and fit.note == "" and fit.effect is fit.long_run
    assert fit.effect.value == pytest.approx(0.1, abs=1e-6)


def test_fit_without_covariance_says_so():
    t = np.arange(8.0)
    fit = fit_decay(t, 0.1 + 0.3 * np.exp(-t / 2), np.full(8, 0.01))
    assert "independent" in fit.long_run.method
    assert any("effect_covariance" in w for w in fit.long_run.warnings)


def _coverage(runs: int, initial: float, seed: int) -> tuple[float, float]:
    hits, ident = [], []
    for s in range(runs):
        panel, truth = simulate_ab_panel(n_units=1500, n_days=21, enroll_days=5, initial=initial, long_run=0.1,
                                         tau=3.0, seed=seed + s)
        _, fit = decay_from_panel(panel, metric="value")
        hits.append(fit.effect.ci_low <= truth["long_run"] <= fit.effect.ci_high)
        ident.append(fit.identified)
    return float(np.mean(hits)), float(np.mean(ident))


def test_reported_effect_covers_with_and_without_decay():
    """60 panels each (1,500 units, 21 days). With decay (0.4 → 0.1, tau 3 days) the decay is identified and
    the long-run interval covers 0.1; without decay the constant-effect GLS mean covers 0.1. At a true 95%,
    fewer than 52 of 60 covered has probability < 1%. (300 runs by hand: 93.7% and 95.0%; the same GLS mean
    without the covariance covered 65%; validation/studies_cupednov.py has the full study.)"""
    covered, identified = _coverage(60, initial=0.4, seed=300)
    assert identified >= 0.95 and covered >= 52 / 60
    covered, identified = _coverage(60, initial=0.1, seed=900)
    assert identified <= 0.15 and covered >= 52 / 60


def test_independent_days_interval_is_too_narrow_where_gls_is_not():
    """The same constant-effect mean with and without the daily covariance over 60 no-decay panels: the
    independence interval under-covers (units persist across days), the GLS one does not."""
    wls, gls = [], []
    for s in range(60):
        panel, _ = simulate_ab_panel(n_units=1500, n_days=21, enroll_days=5, initial=0.1, long_run=0.1, seed=2000 + s)
        daily = effect_by_day(panel, metric="value")
        cov = effect_covariance(panel, metric="value", days=daily["days_since_exposure"])
        args = (daily["days_since_exposure"], daily["effect"], daily["se"])
        w, g = fit_decay(*args).constant, fit_decay(*args, cov=cov).constant
        wls.append(w.ci_low <= 0.1 <= w.ci_high)
        gls.append(g.ci_low <= 0.1 <= g.ci_high)
    assert np.mean(wls) < 0.8 and np.mean(gls) >= 52 / 60
