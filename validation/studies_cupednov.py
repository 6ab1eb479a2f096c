"""Studies for the novelty-decay readout, the CUPED covariate balance check and the holdout Wald estimate under
holdout exposure (registered by ``validation/studies.py``; rows ``(family, estimator, runs, hits[, note])``).

* ``novelty``: panels of 1,500 units over 21 days (``simulate_ab_panel``, enrolment over 5 days, unit effects
  that persist across days). With decay (0.4 → 0.1, tau = 3 days) the reported effect (the long-run effect
  when the decay is identified, else the constant-effect mean) should cover the true long-run effect 0.1;
  without decay (0.1 every day) the reported effect should cover 0.1. The constant-effect mean with the days
  treated as independent is shown for contrast (it is not what the toolkit reports from a panel).
* ``cuped_balance``: A/A pre-period covariates (log-normal, 60 + 40 units): share of datasets where the
  balance test rejects at 5% (judged as a false-positive rate) and at the default threshold 0.1%.
* ``holdout_exposure``: holdouts where 15% of units are exposed whatever their group (two-sided
  non-compliance): coverage of the complier effect by the Wald interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def novelty(runs: int, seed: int = 0) -> list[tuple]:
    from recsys_causal.experiments.novelty import decay_from_panel, fit_decay
    from recsys_causal.simulate.ab import simulate_ab_panel

    rows = []
    for family, initial, offset in (("novelty decay, with decay", 0.4, 60_000),
                                    ("novelty decay, without decay", 0.1, 70_000)):
        hits, ident, wls = [], [], []
        for s in range(runs):
            panel, truth = simulate_ab_panel(n_units=1500, n_days=21, enroll_days=5, initial=initial,
                                             long_run=0.1, tau=3.0, seed=seed + offset + s)
            daily, fit = decay_from_panel(panel, metric="value")
            hits.append(fit.effect.ci_low <= truth["long_run"] <= fit.effect.ci_high)
            ident.append(fit.identified)
            if initial == 0.1:
                w = fit_decay(daily["days_since_exposure"], daily["effect"], daily["se"]).constant
                wls.append(w.ci_low <= truth["long_run"] <= w.ci_high)
        label = ("reported effect (long-run, GLS with the daily covariance)" if initial != 0.1
                 else "reported effect (constant-effect GLS mean with the daily covariance)")
        rows.append((family, label, runs, int(np.sum(hits)),
                     f"decay identified in {100 * np.mean(ident):.1f}% of runs"))
        if wls:
            rows.append((family, "constant-effect mean, days treated as independent (not the default)", runs,
                         int(np.sum(wls)), "limitation shown for contrast: units persist across days"))
    return rows


def cuped_balance(runs: int, seed: int = 0) -> list[tuple]:
    from recsys_causal.experiments.covariate_checks import covariate_balance

    rng = np.random.default_rng(seed + 80_000)
    p = np.empty(runs)
    for i in range(runs):
        x = rng.lognormal(0, 0.75, 100)
        t = rng.permutation(np.r_[np.ones(60, bool), np.zeros(40, bool)])
        p[i] = covariate_balance(x, t).p_value
    return [("false positives", "CUPED covariate balance test at 5% (A/A, 60 + 40 units, log-normal)", runs,
             int(np.sum(p < 0.05))),
            ("false positives", "CUPED covariate balance refusal at the default 0.1% (A/A)", runs,
             int(np.sum(p < 0.001)), "nominal 0.1%")]


def holdout_exposure(runs: int, seed: int = 0) -> list[tuple]:
    from recsys_causal.incrementality import analyze_holdout

    hits = []
    for s in range(runs):
        rng = np.random.default_rng(seed + 90_000 + s)
        n = 20_000
        kind = rng.choice(3, n, p=[0.15, 0.35, 0.50])  # always exposed, complier, never exposed
        treated = rng.random(n) < 0.5
        exposed = (kind == 0) | ((kind == 1) & treated)
        prob = 0.10 + np.where(exposed, np.where(kind == 0, 0.20, 0.05), 0.0)
        units = pd.DataFrame({"unit_id": np.arange(n), "group": np.where(treated, "treated", "holdout"),
                              "exposed": exposed, "converted": (rng.random(n) < prob).astype(float)})
        w = analyze_holdout(units, allow_holdout_exposure=True)["effect on exposed (Wald)"]
        hits.append(w.ci_low <= 0.05 <= w.ci_high)
    return [("incrementality", "Wald with holdout exposure (complier effect 0.05)", runs, int(np.sum(hits)))]


STUDIES = {"novelty": novelty, "cuped_balance": cuped_balance, "holdout_exposure": holdout_exposure}
