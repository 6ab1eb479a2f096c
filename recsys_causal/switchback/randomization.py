"""Randomization inference for switchbacks: Fisher exact p-values and test-inversion intervals.

Assignments are redrawn from the declared design (vectorised, seeded). The statistic is the m-aware Hajek
difference in means; because it is linear in the outcomes for a fixed assignment, the interval for a constant
additive effect on treated blocks follows by inverting the test without recomputing the draws.

>>> from recsys_causal.simulate import simulate_switchback
>>> from recsys_causal.switchback.schedule import SwitchbackDesign, validate_schedule
>>> from recsys_causal.switchback.blocks import aggregate_events
>>> sb = simulate_switchback(n_clusters=2, n_blocks=96, direct_effect=0.0, seed=1000)
>>> blocks, _ = aggregate_events(sb.events, validate_schedule(sb.schedule, SwitchbackDesign()))
>>> r = randomization_test(blocks, SwitchbackDesign(), n_draws=2000, seed=1)
>>> 0.0 < r.p_value <= 1.0 and r.ci_low < 0.0 < r.ci_high
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.errors import EstimationError
from recsys_causal.progress import progress_option, track
from recsys_causal.results import ResultProtocol
from recsys_causal.switchback.estimators import window_indicators
from recsys_causal.switchback.schedule import SwitchbackDesign, draw_assignments, window_probabilities


@dataclass(frozen=True)
class RandomizationResult(ResultProtocol):
    """Fisher randomization test of no effect and its test-inversion interval (not a Wald interval, so it has no
    ``conf_int``: the bounds are ``ci_low`` / ``ci_high`` at ``alpha``)."""

    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    n_draws: int
    n_undefined: int
    carryover_order: int
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])

    def _sections(self) -> list[tuple[str, Any]]:
        return [("", self.to_frame())]

    def _title(self) -> str:
        return "Randomization test"


def _statistic(w: np.ndarray, x: np.ndarray, keep, period, p1, p0, codes, n_clusters, share, m) -> np.ndarray:
    all1, all0, _ = window_indicators(w, period, m)
    all1, all0 = all1[..., keep], all0[..., keep]
    w1 = np.where(all1, 1.0 / p1, 0.0)
    w0 = np.where(all0, 1.0 / p0, 0.0)
    onehot = np.eye(n_clusters)[codes]
    s1, s0 = w1 @ onehot, w0 @ onehot
    xk = x[..., keep] if x.ndim > 1 else x[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = ((w1 * xk) @ onehot) / s1
        m0 = ((w0 * xk) @ onehot) / s0
    return (m1 - m0) @ share


@progress_option
def randomization_test(
    blocks: pd.DataFrame, design: SwitchbackDesign, m: int = 0, *, n_draws: int = 10_000, seed: int = 0,
    alpha: float = 0.05, chunk: int = 2_000, progress: bool | None = None,
) -> RandomizationResult:
    """Fisher p-value for the sharp null of no effect and a test-inversion interval for a constant effect
    (``progress``: a bar over the draws, :mod:`recsys_causal.progress`)."""
    keep = blocks["y"].notna().to_numpy()
    y = blocks["y"].to_numpy(dtype=float)
    y = np.where(keep, y, 0.0)
    period = blocks["period"].to_numpy()
    w_obs = blocks["treated"].to_numpy(dtype=bool)
    p1_all, p0_all = window_probabilities(blocks, design, m)
    p1 = np.where(np.isnan(p1_all), 1.0, p1_all)[keep]
    p0 = np.where(np.isnan(p0_all), 1.0, p0_all)[keep]
    codes, names = pd.factorize(blocks["cluster"].to_numpy()[keep])
    elig = (period >= m)[keep]
    n_c = np.bincount(codes[elig], minlength=len(names)).astype(float)
    share = n_c / n_c.sum()
    args = (keep, period, p1, p0, codes, len(names), share, m)
    t_obs = float(_statistic(w_obs, y, *args))
    if not np.isfinite(t_obs):
        raise EstimationError(f"the observed schedule has no all-treated or no all-control window for m={m}",
                              fix="use a smaller carryover order")
    rng = np.random.default_rng(seed)
    a_parts, b_parts = [], []
    for start in track(range(0, n_draws, chunk), desc="randomization draws", unit="chunk"):
        w = draw_assignments(blocks, design, min(chunk, n_draws - start), rng)
        a_parts.append(_statistic(w, y, *args))
        b_parts.append(_statistic(w, w_obs.astype(float), *args))
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]

    def p_at(tau0: float) -> float:
        # under H0: y(W) = y - tau0 * W_obs + tau0 * W, so T(W) - tau0 = A - tau0 * B
        return float((1 + np.sum(np.abs(a - tau0 * b) >= abs(t_obs - tau0) - 1e-12)) / (1 + a.size))

    spread = float(np.std(a)) or 1.0
    lo = _bisect(p_at, t_obs, t_obs - 10 * spread, alpha)
    hi = _bisect(p_at, t_obs, t_obs + 10 * spread, alpha)
    return RandomizationResult(t_obs, p_at(0.0), lo, hi, int(ok.sum()), int((~ok).sum()), m, alpha)


def _bisect(p_at, inside: float, outside: float, alpha: float, iters: int = 50) -> float:
    """Boundary between ``inside`` (p > alpha) and ``outside`` (p <= alpha) of the acceptance region."""
    if p_at(outside) > alpha:
        return float(outside)
    for _ in range(iters):
        mid = 0.5 * (inside + outside)
        if p_at(mid) > alpha:
            inside = mid
        else:
            outside = mid
    return float(0.5 * (inside + outside))
