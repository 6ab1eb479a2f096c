"""Planning: power, minimum detectable effect (MDE) and required sample size for a two-arm test.

Normal approximation for a two-sided test at ``alpha``: with ``n`` control units, ``ratio * n`` treatment
units and unit standard deviation ``sd``, ``se = sd * sqrt(1/n + 1/(ratio n))`` and
``MDE = (z_{1-alpha/2} + z_{power}) * se``. Give ``baseline`` to work in relative terms; ``variance_reduction``
(e.g. CUPED's ``1 - rho^2``) scales the variance.

>>> round(mde(n_per_arm=10_000, sd=1.0), 4)
0.0396
>>> required_sample_size(mde=mde(n_per_arm=10_000, sd=1.0), sd=1.0)
10000
"""

from __future__ import annotations

import math

from scipy import stats


def _se_unit(sd: float, ratio: float, variance_reduction: float) -> float:
    return sd * math.sqrt((1 + 1 / ratio) * (1 - variance_reduction))


def mde(*, n_per_arm: int, sd: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
        baseline: float | None = None, variance_reduction: float = 0.0) -> float:
    """Smallest true effect detected with probability ``power`` (relative to ``baseline`` when given)."""
    k = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    m = float(k * _se_unit(sd, ratio, variance_reduction) / math.sqrt(n_per_arm))
    return m / baseline if baseline else m


def required_sample_size(*, mde: float, sd: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0,
                         baseline: float | None = None, variance_reduction: float = 0.0) -> int:
    """Control-arm units needed (treatment gets ``ratio`` times as many) to detect ``mde``."""
    effect = mde * baseline if baseline else mde
    k = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return int(math.ceil(round((k * _se_unit(sd, ratio, variance_reduction) / effect) ** 2, 6)))


def power(*, n_per_arm: int, effect: float, sd: float, alpha: float = 0.05, ratio: float = 1.0,
          baseline: float | None = None, variance_reduction: float = 0.0) -> float:
    """Probability of a significant two-sided result when the true effect is ``effect``.

    >>> round(power(n_per_arm=10_000, effect=0.0396, sd=1.0), 2)
    0.8
    """
    eff = effect * baseline if baseline else effect
    se = _se_unit(sd, ratio, variance_reduction) / math.sqrt(n_per_arm)
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(z - eff / se) + stats.norm.cdf(-z - eff / se))


def proportion_sd(p: float) -> float:
    """Unit standard deviation of a Bernoulli(p) metric, for the functions above.

    >>> proportion_sd(0.5)
    0.5
    """
    return math.sqrt(p * (1 - p))
