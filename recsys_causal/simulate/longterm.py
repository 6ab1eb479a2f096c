"""Long-term outcomes driven by short-term behaviour plus a direct path, with exactly known truth.

Each unit has two pre-treatment covariates ``x = (pre_sessions, tenure)`` (standard normal), short-term surrogates

    S = 1 + B x + tau_S W + u,        u ~ N(0, diag(surrogate_sd²))

and a long-term outcome

    Y = 2 + gamma'S + delta'x + theta W + e,        e ~ N(0, long_term_sd²),

where ``W`` is the treatment. ``theta`` (``direct_effect``) is the path from the treatment to the long-term outcome
that does not run through the surrogates: surrogacy holds exactly when it is 0. The true long-term effect is
``gamma'tau_S + theta``.

The historical sample (where ``Y`` is observed) is the status quo (``historical_treated_share = 0``) or an earlier
experiment treating that share. A linear index fitted there converges to the linear projection of ``Y`` on
``(1, S, x)``, whose surrogate coefficients are ``gamma + theta beta`` with
``beta = v (v tau tau' + Sigma_u)^-1 tau`` and ``v = pi (1 - pi)``, so the surrogate-index estimand is
``gamma'tau + theta beta'tau`` and its bias is ``-theta / (1 + v tau'Sigma_u^-1 tau)`` (``-theta`` when the
historical sample is untreated). These closed forms hold for the linear learner.

>>> sim = simulate_longterm(n_historical=100, n_experiment=80, direct_effect=0.1, seed=0)
>>> round(sim.true_effect, 6), round(sim.surrogate_estimand, 6), round(sim.bias, 6)
(0.9, 0.8, -0.1)
>>> list(sim.experiment.columns)
['unit_id', 'variant', 'pre_sessions', 'tenure', 'sessions_7d', 'purchases_7d', 'long_term']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SURROGATES = ("sessions_7d", "purchases_7d")
COVARIATES = ("pre_sessions", "tenure")
#: surrogate loadings on the covariates (one row per surrogate)
LOADINGS = np.array([[0.5, 0.2], [0.3, -0.1]])
#: direct covariate weights of the long-term outcome
COVARIATE_WEIGHTS = np.array([0.4, 0.3])
INTERCEPT_S, INTERCEPT_Y = 1.0, 2.0


@dataclass(frozen=True)
class SimulatedLongTerm:
    """A historical sample (``long_term`` observed) and an experiment (``variant``; ``long_term`` realised too, for
    the validation mode), with the exact truth."""

    historical: pd.DataFrame
    experiment: pd.DataFrame
    surrogate_effects: np.ndarray  # tau_S
    long_term_weights: np.ndarray  # gamma
    surrogate_sd: np.ndarray
    direct_effect: float  # theta
    historical_treated_share: float

    @property
    def true_effect(self) -> float:
        """The long-term effect ``gamma'tau_S + theta``."""
        return float(self.long_term_weights @ self.surrogate_effects + self.direct_effect)

    @property
    def control_mean(self) -> float:
        """``E[Y | W = 0] = 2 + gamma'1``."""
        return float(INTERCEPT_Y + INTERCEPT_S * self.long_term_weights.sum())

    @property
    def true_relative_effect(self) -> float:
        """The long-term relative lift ``true_effect / control_mean``."""
        return self.true_effect / self.control_mean

    @property
    def surrogate_estimand(self) -> float:
        """What the surrogate index with a linear learner estimates: ``gamma'tau + theta beta'tau``."""
        tau, v = self.surrogate_effects, self.historical_treated_share * (1 - self.historical_treated_share)
        beta = v * np.linalg.solve(v * np.outer(tau, tau) + np.diag(self.surrogate_sd**2), tau)
        return float((self.long_term_weights + self.direct_effect * beta) @ tau)

    @property
    def bias(self) -> float:
        """``surrogate_estimand - true_effect``: 0 when surrogacy holds (``direct_effect = 0``)."""
        return self.surrogate_estimand - self.true_effect


def _units(rng: np.random.Generator, n: int, treated: np.ndarray, tau: np.ndarray, gamma: np.ndarray,
           s_sd: np.ndarray, y_sd: float, theta: float) -> pd.DataFrame:
    x = rng.standard_normal((n, 2))
    s = INTERCEPT_S + x @ LOADINGS.T + np.outer(treated, tau) + rng.standard_normal((n, tau.size)) * s_sd
    y = INTERCEPT_Y + s @ gamma + x @ COVARIATE_WEIGHTS + theta * treated + y_sd * rng.standard_normal(n)
    frame = pd.DataFrame(x, columns=list(COVARIATES))
    for j, name in enumerate(SURROGATES[: tau.size]):
        frame[name] = s[:, j]
    frame["long_term"] = y
    return frame


def simulate_longterm(
    n_historical: int = 5000, n_experiment: int = 4000, *, surrogate_effects: tuple[float, float] = (0.3, 0.1),
    long_term_weights: tuple[float, float] = (2.0, 2.0), surrogate_sd: tuple[float, float] = (1.0, 0.5),
    long_term_sd: float = 1.0, direct_effect: float = 0.0, historical_treated_share: float = 0.0,
    treated_share: float = 0.5, seed: int = 0,
) -> SimulatedLongTerm:
    """Simulate a historical sample and an experiment of the model in the module docstring.

    The experiment assigns ``treatment`` with probability ``treated_share`` (column ``variant``, ids ``e0, e1,
    ...``); the historical sample (ids ``h0, ...``) treats ``historical_treated_share`` of its units (column
    ``treated``).
    """
    if not 0 <= historical_treated_share < 1 or not 0 < treated_share < 1:
        raise ValueError("historical_treated_share must lie in [0, 1) and treated_share in (0, 1)")
    rng = np.random.default_rng(seed)
    tau, gamma = np.asarray(surrogate_effects, float), np.asarray(long_term_weights, float)
    s_sd = np.asarray(surrogate_sd, float)
    w_hist = (rng.random(n_historical) < historical_treated_share).astype(float)
    hist = _units(rng, n_historical, w_hist, tau, gamma, s_sd, long_term_sd, direct_effect)
    hist.insert(0, "unit_id", np.char.add("h", np.arange(n_historical).astype(str)))
    hist["treated"] = w_hist
    w_exp = (rng.random(n_experiment) < treated_share).astype(float)
    exp = _units(rng, n_experiment, w_exp, tau, gamma, s_sd, long_term_sd, direct_effect)
    exp.insert(0, "unit_id", np.char.add("e", np.arange(n_experiment).astype(str)))
    exp.insert(1, "variant", np.where(w_exp == 1, "treatment", "control"))
    return SimulatedLongTerm(hist, exp, tau, gamma, s_sd, float(direct_effect), float(historical_treated_share))
