"""Does a CATE model find real heterogeneity? Best linear predictor (BLP) and GATES, cross-fitted.

Following Chernozhukov, Demirer, Duflo & Fernández-Val: the CATE proxy ``S(X)`` and a baseline ``B(X)`` are
predicted for each unit by models fitted on the other folds; then, with the known treatment probability ``p``,

- BLP: ``Y ~ 1 + B + (T − p) + (T − p)(S − mean S)``; the last coefficient (β₂) is 0 when ``S`` carries no
  heterogeneity and 1 when it is well calibrated;
- GATES: ``Y ~ 1 + B + Σ_k γ_k (T − p) 1{S in quantile group k}``; the γ_k are group average effects.

Standard errors are heteroskedasticity-robust (statsmodels OLS, HC1).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1); n = 4000
>>> df = pd.DataFrame({"x": rng.normal(size=n), "t": rng.random(n) < 0.5})
>>> df["y"] = df.x + 2 * df.x * df.t + rng.normal(size=n)
>>> cal = calibration_test(df, outcome="y", treatment="t", covariates=["x"], treatment_probability=0.5)
>>> cal.blp_heterogeneity.p_value < 0.001
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.hte.cate import fit_cate


@dataclass
class CalibrationResult:
    blp_ate: Estimate
    blp_heterogeneity: Estimate
    gates: EstimateTable
    top_minus_bottom: Estimate

    def to_frame(self) -> pd.DataFrame:
        return EstimateTable([self.blp_ate, self.blp_heterogeneity, *self.gates, self.top_minus_bottom]).to_frame()

    def __repr__(self) -> str:
        lines = ["CalibrationResult(", f"  {self.blp_ate!r}", f"  {self.blp_heterogeneity!r}"]
        lines += [f"  {g!r}" for g in self.gates] + [f"  {self.top_minus_bottom!r}", ")"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return EstimateTable([self.blp_ate, self.blp_heterogeneity, *self.gates, self.top_minus_bottom],
                             title="BLP and GATES")._repr_html_()


def calibration_test(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    treatment_probability: float,
    method: str = "linear",
    n_groups: int = 5,
    folds: int = 2,
    alpha: float = 0.05,
    seed: int = 0,
) -> CalibrationResult:
    """Cross-fitted BLP heterogeneity test and GATES for a CATE model of ``method``."""
    import statsmodels.api as sm
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    y = frame[outcome].to_numpy(dtype=float)
    t = frame[treatment].to_numpy().astype(float)
    X = frame[list(covariates)].to_numpy(dtype=float)
    p = float(treatment_probability)
    s = np.zeros(len(y))
    base = np.zeros(len(y))
    for k, (train, test) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(X)):
        fit = fit_cate(frame.iloc[train], outcome=outcome, treatment=treatment, covariates=covariates,
                       treatment_probability=p, method=method, n_estimators=100, seed=seed + k)
        s[test] = np.ravel(fit.model.effect(X[test]))
        ctrl = train[t[train] == 0]
        base[test] = HistGradientBoostingRegressor(max_iter=100, random_state=seed).fit(X[ctrl], y[ctrl]).predict(
            X[test])
    tc = t - p
    blp = sm.OLS(y, np.column_stack([np.ones_like(y), base, tc, tc * (s - s.mean())])).fit(cov_type="HC1")
    n = len(y)
    ate = Estimate.from_normal(name="BLP average effect (β1)", value=blp.params[2], se=blp.bse[2], n=n,
                               alpha=alpha, method="BLP, cross-fitted, HC1")
    het = Estimate.from_normal(name="BLP heterogeneity loading (β2)", value=blp.params[3], se=blp.bse[3], n=n,
                               alpha=alpha, method="BLP, cross-fitted, HC1; H0: β2 = 0 (no heterogeneity)")
    edges = np.quantile(s, np.linspace(0, 1, n_groups + 1)[1:-1])
    group = np.searchsorted(edges, s, side="right")
    G = np.column_stack([tc * (group == g) for g in range(n_groups)])
    gates = sm.OLS(y, np.column_stack([np.ones_like(y), base, G])).fit(cov_type="HC1")
    est = [Estimate.from_normal(name=f"GATES group {g + 1} of {n_groups}", value=gates.params[2 + g],
                                se=gates.bse[2 + g], n=int((group == g).sum()), alpha=alpha,
                                method="GATES, cross-fitted, HC1", details={"group": g + 1})
           for g in range(n_groups)]
    c = np.zeros(2 + n_groups)
    c[-1], c[2] = 1.0, -1.0
    diff = gates.t_test(c)
    tmb = Estimate.from_normal(name="GATES top − bottom", value=float(np.squeeze(diff.effect)),
                               se=float(np.squeeze(diff.sd)), n=n, alpha=alpha, method="GATES contrast, HC1")
    return CalibrationResult(ate, het, EstimateTable(est, title="GATES"), tmb)
