"""Just-identified two-stage least squares with a heteroskedasticity-robust (HC1) sandwich.

``β = (Z'X)⁻¹ Z'y`` and ``V = n/(n−k) · (Z'X)⁻¹ Z' diag(e²) Z (X'Z)⁻¹``, where ``X`` holds the regressors (some
endogenous), ``Z`` the instruments (the exogenous regressors instrument themselves) and ``e = y − Xβ``. With one
binary instrument and one binary take-up, ``β`` on the take-up is the Wald ratio (ITT on the outcome ÷ ITT on
take-up).

>>> import numpy as np
>>> z = np.array([0, 0, 1, 1, 0, 1.]); d = np.array([0, 0, 1, 0, 0, 1.]); y = np.array([1, 2, 4, 2, 1, 5.])
>>> fit = tsls(y, np.column_stack([np.ones(6), d]), np.column_stack([np.ones(6), z]))
>>> round(float(fit.params[1]), 6) == round((11 / 3 - 4 / 3) / (2 / 3), 6)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from recsys_causal.errors import EstimationError


@dataclass(frozen=True)
class TSLSFit:
    """Coefficients, their HC1 covariance, residuals and the number of units."""

    params: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    n: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def contrast(self, c: np.ndarray) -> tuple[float, float]:
        """Value and standard error of ``c'β``."""
        c = np.asarray(c, dtype=float)
        return float(c @ self.params), float(np.sqrt(c @ self.cov @ c))

    def wald_equal(self, idx: np.ndarray) -> tuple[float, int, float]:
        """Wald χ² that the coefficients at ``idx`` are all equal: statistic, degrees of freedom, p-value."""
        idx = np.asarray(idx)
        R = np.zeros((len(idx) - 1, len(self.params)))
        R[np.arange(len(idx) - 1), idx[1:]] = 1.0
        R[:, idx[0]] = -1.0
        r = R @ self.params
        stat = float(r @ np.linalg.solve(R @ self.cov @ R.T, r))
        return stat, len(idx) - 1, float(stats.chi2.sf(stat, len(idx) - 1))


def tsls(y: np.ndarray, X: np.ndarray, Z: np.ndarray) -> TSLSFit:
    """Just-identified 2SLS of ``y`` on ``X`` with instruments ``Z`` (same number of columns), HC1 covariance."""
    n, k = X.shape
    if Z.shape != X.shape:
        raise EstimationError(f"2SLS needs as many instruments as regressors ({Z.shape[1]} vs {k})",
                              fix="pass one instrument per endogenous regressor")
    A = Z.T @ X
    if np.linalg.cond(A) > 1e12:
        raise EstimationError("the instruments do not move the regressors (singular first stage)",
                              fix="check that assignment changes take-up in every segment")
    beta = np.linalg.solve(A, Z.T @ y)
    e = y - X @ beta
    Ze = Z * e[:, None]
    A_inv = np.linalg.inv(A)
    cov = A_inv @ (Ze.T @ Ze) @ A_inv.T * (n / (n - k))
    return TSLSFit(beta, cov, e, n)
