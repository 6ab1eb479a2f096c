"""Does a CATE model find real heterogeneity? Best linear predictor (BLP) and GATES, cross-fitted.

Following Chernozhukov, Demirer, Duflo & Fernández-Val: the CATE proxy ``S(X)`` and a baseline ``B(X)`` are
fitted on a random half of the units and predicted on the other half; then, on that half, with the known
treatment probability ``p``,

- BLP: ``Y ~ 1 + B + (T − p) + (T − p)(S − mean S)``; the last coefficient (β₂) is 0 when ``S`` carries no
  heterogeneity and 1 when it is well calibrated;
- GATES: ``Y ~ 1 + B + Σ_k γ_k (T − p) 1{S in quantile group k}``; the γ_k are group average effects.

Standard errors are heteroskedasticity-robust (statsmodels OLS, HC1); results are medians over several random
splits, with the p-value doubled for the split uncertainty.

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
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import SchemaError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.hte.cate import fit_cate
from recsys_causal.hte.iv_calibration import split_iv
from recsys_causal.results import ResultProtocol
from recsys_causal.threads import model_threads


@dataclass
class CalibrationResult(ResultProtocol):
    """BLP average effect and heterogeneity loading, GATES group effects and their top − bottom contrast."""

    blp_ate: Estimate
    blp_heterogeneity: Estimate
    gates: EstimateTable
    top_minus_bottom: Estimate

    def _table(self, title: str | None = None) -> EstimateTable:
        return EstimateTable([self.blp_ate, self.blp_heterogeneity, *self.gates, self.top_minus_bottom], title=title)

    def to_frame(self) -> pd.DataFrame:
        return self._table().to_frame()

    def __repr__(self) -> str:
        lines = ["CalibrationResult(", f"  {self.blp_ate!r}", f"  {self.blp_heterogeneity!r}"]
        lines += [f"  {g!r}" for g in self.gates] + [f"  {self.top_minus_bottom!r}", ")"]
        return "\n".join(lines)

    def _sections(self) -> list[tuple[str, Any]]:
        return [("BLP and GATES", self._table("BLP and GATES"))]

    def plot(self):
        """A matplotlib Figure (shown inline in Jupyter): the GATES group effects, their top − bottom contrast
        and the BLP average effect with their intervals, and below them the BLP heterogeneity loading (0: no
        heterogeneity found, 1: well calibrated)."""
        from recsys_causal.plotting import Rows, rows_figure

        return rows_figure(Rows.of([*self.gates, self.top_minus_bottom, self.blp_ate], title="Group average effects "
                                   "(GATES)", xlabel="effect (treated − untreated)"),
                           Rows.of([self.blp_heterogeneity], title="BLP heterogeneity loading", xlabel="β₂"))

    def _title(self) -> str:
        return "BLP and GATES"


@renamed_arguments(frame="data")
def calibration_test(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    treatment_probability: float | None = None,
    method: str = "linear",
    n_groups: int = 5,
    n_splits: int = 5,
    alpha: float = 0.05,
    seed: int = 0,
    instrument: str | None = None,
    instrument_probability: float | None = None,
) -> CalibrationResult:
    """BLP heterogeneity test and GATES for a CATE model of ``method`` fitted on the unit table ``data`` (old
    keyword ``frame``).

    Each split fits the CATE and baseline models on a random half (auxiliary sample) and runs the BLP / GATES
    regressions on the other half only, which makes the split's inference valid; over ``n_splits`` splits the
    point estimates and interval bounds are medians and the p-value is ``min(1, 2 × median p)`` (Chernozhukov,
    Demirer, Duflo & Fernández-Val's adjustment for split uncertainty).

    With ``instrument`` (randomised assignment, known probability ``instrument_probability``) and ``treatment``
    the take-up, the CATE is the complier CATE of ``fit_cate(..., instrument=...)`` and the BLP / GATES
    regressions instrument take-up by assignment (:mod:`recsys_causal.hte.iv_calibration`): GATES are complier
    effects by proxy group.
    """
    p = _probability(treatment_probability, instrument, instrument_probability)
    with model_threads():
        per_split = _per_split(data, outcome, treatment, covariates, p, instrument, method, n_groups, n_splits, seed)
    z = float(stats.norm.ppf(1 - alpha / 2))
    n_half = len(data) // 2

    def combine(name, triples, method_text, size=None, details=None):
        return _median_estimate(name, triples, method_text, z=z, alpha=alpha, n=size or n_half,
                                n_splits=n_splits, details=details)

    how = f"median over {n_splits} splits (fit on half, test on the other), HC1" + (
        f"; 2SLS, take-up instrumented by {instrument}" if instrument else "")
    ate = combine("BLP average effect (β1)", [d["ate"] for d in per_split], "BLP, " + how,
                  details={"quantity": "lift"})
    het = combine("BLP heterogeneity loading (β2)", [d["het"] for d in per_split],
                  "BLP, " + how + "; H0: β2 = 0 (no heterogeneity)", details={"quantity": "heterogeneity loading"})
    gates = [combine(f"GATES group {g + 1} of {n_groups}", [d["gates"][g][:3] for d in per_split], "GATES, " + how,
                     size=int(np.median([d["gates"][g][3] for d in per_split])),
                     details={"group": g + 1, "quantity": "lift", "segment": f"GATES group {g + 1}"})
             for g in range(n_groups)]
    tmb = combine("GATES top − bottom", [d["tmb"] for d in per_split], "GATES contrast, " + how,
                  details={"quantity": "lift difference"})
    return CalibrationResult(ate, het, EstimateTable(gates, title="GATES"), tmb)


def _per_split(data: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str], p: float,
               instrument: str | None, method: str, n_groups: int, n_splits: int, seed: int) -> list[dict]:
    """BLP / GATES regressions of each random split (CATE fitted on the auxiliary half)."""
    y = data[outcome].to_numpy(dtype=float)
    t = data[treatment].to_numpy().astype(float)
    X = data[list(covariates)].to_numpy(dtype=float)
    iv = {"instrument": instrument, "instrument_probability": p} if instrument else {"treatment_probability": p}
    rng = np.random.default_rng(seed)
    per_split: list[dict] = []
    for k in range(n_splits):
        aux = rng.random(len(y)) < 0.5
        fit = fit_cate(data.loc[aux], outcome=outcome, treatment=treatment, covariates=covariates, method=method,
                       n_estimators=100, seed=seed + k, **iv)
        if instrument:
            z = data[instrument].to_numpy().astype(float)
            per_split.append(split_iv(np.ravel(fit.model.effect(X)), aux, y, t, z, X, p, n_groups=n_groups,
                                      seed=seed))
        else:
            per_split.append(_split(fit, aux, y, t, X, p, n_groups, seed))
    return per_split


def _probability(treatment_probability: float | None, instrument: str | None,
                 instrument_probability: float | None) -> float:
    """The known randomisation probability: of the treatment, or (with an instrument) of the assignment."""
    if instrument is None and treatment_probability is None:
        raise SchemaError("the calibration test needs the known treatment_probability of the experiment",
                          fix="pass treatment_probability= (or instrument= and instrument_probability=)")
    if instrument is not None and instrument_probability is None:
        raise SchemaError("the IV calibration test needs the known assignment probability",
                          column=instrument, fix="pass instrument_probability=")
    return float(instrument_probability if instrument is not None else treatment_probability)


def _split(fit, aux: np.ndarray, y_all: np.ndarray, t_all: np.ndarray, X_all: np.ndarray, p: float,
           n_groups: int, seed: int) -> dict:
    """BLP and GATES regressions (HC1) on the main half of one split, with the CATE ``fit`` and a baseline
    model fitted on the auxiliary half."""
    import statsmodels.api as sm
    from sklearn.ensemble import HistGradientBoostingRegressor

    main = ~aux
    s = np.ravel(fit.model.effect(X_all[main]))
    ctrl = aux & (t_all == 0)
    base = HistGradientBoostingRegressor(max_iter=100, random_state=seed).fit(X_all[ctrl], y_all[ctrl]).predict(
        X_all[main])
    y, tc = y_all[main], t_all[main] - p
    blp = sm.OLS(y, np.column_stack([np.ones_like(y), base, tc, tc * (s - s.mean())])).fit(cov_type="HC1")
    edges = np.quantile(s, np.linspace(0, 1, n_groups + 1)[1:-1])
    group = np.searchsorted(edges, s, side="right")
    G = np.column_stack([tc * (group == g) for g in range(n_groups)])
    gates = sm.OLS(y, np.column_stack([np.ones_like(y), base, G])).fit(cov_type="HC1")
    c = np.zeros(2 + n_groups)
    c[-1], c[2] = 1.0, -1.0
    diff = gates.t_test(c)
    return {
        "ate": (blp.params[2], blp.bse[2], blp.pvalues[2]),
        "het": (blp.params[3], blp.bse[3], blp.pvalues[3]),
        "gates": [(gates.params[2 + g], gates.bse[2 + g], gates.pvalues[2 + g], int((group == g).sum()))
                  for g in range(n_groups)],
        "tmb": (float(np.squeeze(diff.effect)), float(np.squeeze(diff.sd)), float(np.squeeze(diff.pvalue))),
    }


def _median_estimate(name: str, triples, method_text: str, *, z: float, alpha: float, n: int, n_splits: int,
                     details: dict | None = None) -> Estimate:
    """Medians over splits of the value, se and bounds; p-value ``min(1, 2 × median p)`` (one split: its p)."""
    vals = np.array([t[0] for t in triples])
    ses = np.array([t[1] for t in triples])
    pv = np.array([t[2] for t in triples])
    return Estimate(name=name, value=float(np.median(vals)), se=float(np.median(ses)),
                    ci_low=float(np.median(vals - z * ses)), ci_high=float(np.median(vals + z * ses)),
                    n=n, method=method_text, alpha=alpha,
                    p_value=float(min(1.0, 2 * np.median(pv))) if n_splits > 1 else float(pv[0]), null=0.0,
                    details=details or {})
