"""Novelty-decay readout: recovery of a simulated long-run effect, 'stable' for no decay, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from recsys_causal.experiments.novelty import (
    effect_by_day,
    effect_covariance,
    fit_decay,
    plot_decay,
    plot_effect_by_day,
)
from recsys_causal.simulate.ab import decay_effect, simulate_ab_panel


def _daily(seed: int, initial: float, long_run: float, tau: float = 3.0, n_units: int = 1500):
    panel, truth = simulate_ab_panel(n_units=n_units, n_days=21, enroll_days=5, initial=initial,
                                     long_run=long_run, tau=tau, seed=seed)
    tab = effect_by_day(panel, metric="value")
    cov = effect_covariance(panel, metric="value", days=tab["days_since_exposure"])
    return tab, cov, truth


def test_effect_by_day_matches_groupby_by_hand():
    panel, _ = simulate_ab_panel(n_units=300, n_days=8, seed=3)
    tab = effect_by_day(panel, metric="value")
    d0 = panel[panel.days_since_exposure == 0]
    t, c = d0[d0.variant == "treatment"].value, d0[d0.variant == "control"].value
    assert tab.loc[0, "effect"] == pytest.approx(t.mean() - c.mean())
    assert tab.loc[0, "se"] == pytest.approx(np.sqrt(t.var() / t.size + c.var() / c.size))
    cal = effect_by_day(panel, metric="value", by="day")
    assert len(cal) == 8
    cov = effect_covariance(panel, metric="value")
    assert np.diag(cov)[0] == pytest.approx(tab.loc[0, "se"] ** 2, rel=0.02)  # ddof 0 vs 1
    assert np.mean(cov[np.triu_indices(8, 1)]) > 0  # same units on several days -> positive correlation


def test_decay_fit_exact_curve():
    t = np.arange(20.0)
    fit = fit_decay(t, decay_effect(t, initial=0.5, long_run=0.1, tau=4.0), np.full(20, 0.01))
    assert fit.long_run.value == pytest.approx(0.1, abs=1e-6)
    assert fit.initial.value == pytest.approx(0.5, abs=1e-6)
    assert fit.tau == pytest.approx(4.0, rel=1e-4)
    assert fit.label == "novelty"
    grow = fit_decay(t, decay_effect(t, initial=0.0, long_run=0.3, tau=4.0), np.full(20, 0.01))
    assert grow.label == "primacy"


def test_decay_fit_recovers_long_run_and_labels_stable():
    covered, novelty, stable = [], [], []
    for i in range(40):
        tab, cov, truth = _daily(100 + i, initial=0.4, long_run=0.1)
        fit = fit_decay(tab["days_since_exposure"], tab["effect"], tab["se"], cov=cov)
        covered.append(fit.long_run.ci_low <= truth["long_run"] <= fit.long_run.ci_high)
        novelty.append(fit.label == "novelty")
        tab0, cov0, _ = _daily(500 + i, initial=0.1, long_run=0.1)
        stable.append(fit_decay(tab0["days_since_exposure"], tab0["effect"], tab0["se"], cov=cov0).label == "stable")
    assert np.mean(covered) >= 0.9
    assert np.mean(novelty) >= 0.9
    assert np.mean(stable) >= 0.9


@pytest.mark.slow
def test_decay_fit_200_runs():
    covered, stable = [], []
    for i in range(200):
        tab, cov, truth = _daily(10_000 + i, initial=0.4, long_run=0.1)
        fit = fit_decay(tab["days_since_exposure"], tab["effect"], tab["se"], cov=cov)
        covered.append(fit.long_run.ci_low <= truth["long_run"] <= fit.long_run.ci_high)
        tab0, cov0, _ = _daily(20_000 + i, initial=0.1, long_run=0.1)
        stable.append(fit_decay(tab0["days_since_exposure"], tab0["effect"], tab0["se"], cov=cov0).label == "stable")
    assert np.mean(covered) >= 0.9
    assert np.mean(stable) >= 0.9


def test_plots_return_figures():
    panel, _ = simulate_ab_panel(n_units=400, n_days=12, seed=4)
    tab = effect_by_day(panel, metric="value")
    fit = fit_decay(tab["days_since_exposure"], tab["effect"], tab["se"])
    assert isinstance(plot_decay(fit, tab), Figure)
    assert isinstance(plot_effect_by_day(effect_by_day(panel, metric="value", by="day"), by="day"), Figure)
    assert "long-run" in repr(fit)
