"""Switchback experiments: clusters (regions) × time blocks with Bernoulli assignment and optional carryover.

The outcome of a block is ``base(cluster) + hour-of-day effect + τ·W_t + λ·W_{t-1} + noise`` per event, so the
direct effect τ and the carryover λ are known exactly; with ``carryover = 0`` the total effect of always
treating versus never treating is τ, otherwise τ + λ.

>>> sb = simulate_switchback(n_clusters=2, n_blocks=24, seed=0)
>>> sorted(sb.schedule.columns)[:4]
['block', 'block_end', 'block_start', 'cluster']
>>> sb.true_effect
0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-06-01", tz="UTC")


@dataclass(frozen=True)
class SimulatedSwitchback:
    schedule: pd.DataFrame  # cluster, block, block_start, block_end, variant, treated, p_treat, design
    events: pd.DataFrame  # cluster, event_time, value
    direct_effect: float
    carryover_effect: float

    @property
    def true_effect(self) -> float:
        """Always-treated minus never-treated expected outcome per event."""
        return self.direct_effect + self.carryover_effect


def simulate_switchback(
    n_clusters: int = 4, n_blocks: int = 168, block_minutes: int = 60, *, p_treat: float = 0.5,
    direct_effect: float = 0.5, carryover_effect: float = 0.0, events_per_block: int = 40, noise: float = 2.0,
    seed: int = 0,
) -> SimulatedSwitchback:
    """Simulate a Bernoulli(p) switchback design and per-event outcomes with exactly known effects."""
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(n_clusters), n_blocks)
    blk = np.tile(np.arange(n_blocks), n_clusters)
    treated = rng.random(cl.size) < p_treat
    prev = np.concatenate([[False], treated[:-1]])
    prev[blk == 0] = False
    starts = START + pd.to_timedelta(blk * block_minutes, unit="m")
    schedule = pd.DataFrame({
        "cluster": np.char.add("region_", cl.astype(str)),
        "block": blk,
        "block_start": starts,
        "block_end": starts + pd.Timedelta(minutes=block_minutes),
        "variant": np.where(treated, "treatment", "control"),
        "treated": treated,
        "p_treat": p_treat,
        "design": "bernoulli",
    })
    hour = ((blk * block_minutes) // 60) % 24
    base = rng.normal(10, 1, n_clusters)[cl] + 1.5 * np.sin(2 * np.pi * hour / 24)
    mean = base + direct_effect * treated + carryover_effect * prev
    n_ev = rng.poisson(events_per_block, cl.size)
    idx = np.repeat(np.arange(cl.size), n_ev)
    offset = rng.uniform(0, block_minutes * 60, idx.size)
    events = pd.DataFrame({
        "cluster": schedule["cluster"].to_numpy()[idx],
        "event_time": (schedule["block_start"].iloc[idx].reset_index(drop=True)
                       + pd.to_timedelta(offset, unit="s")).dt.floor("us"),
        "value": mean[idx] + rng.normal(0, noise, idx.size),
    }).sort_values(["cluster", "event_time"], kind="stable").reset_index(drop=True)
    return SimulatedSwitchback(schedule, events, direct_effect, carryover_effect)


def switchback_block_outcomes(
    treated: np.ndarray,
    period: np.ndarray,
    cluster_codes: np.ndarray,
    *,
    effects: tuple[float, ...] = (0.3, 0.4, 0.2),
    hour_amplitude: float = 1.5,
    block_noise: float = 0.32,
    noise_ar: float = 0.0,
    block_minutes: int = 60,
    seed: int = 0,
) -> np.ndarray:
    """Block outcomes for assignment draws ``treated`` of shape ``(n_draws, n_blocks)`` (vectorised).

    ``y = base(cluster) + hour_amplitude·sin(2π·hour/24) + Σ_l effects[l]·W_{t−l} + noise``, with noise AR(1)
    (coefficient ``noise_ar``) within a cluster, so carryover lasts ``len(effects) − 1`` blocks and the effect
    of always versus never treating is exactly ``sum(effects)``. Blocks are sorted by cluster and ``period``.

    >>> w = np.array([[True, True, False, False]])
    >>> y = switchback_block_outcomes(w, np.arange(4), np.zeros(4, int), effects=(1.0, 0.5), hour_amplitude=0,
    ...                               block_noise=0, seed=1)
    >>> (y - y[0, 3]).round(6).tolist()   # direct effect 1, carryover 0.5 one block later
    [[1.0, 1.5, 0.5, 0.0]]
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    w = np.atleast_2d(np.asarray(treated, dtype=float))
    period, codes = np.asarray(period), np.asarray(cluster_codes)
    hour = ((period * block_minutes) // 60) % 24
    y = rng.normal(10, 1, (w.shape[0], codes.max() + 1))[:, codes] + hour_amplitude * np.sin(2 * np.pi * hour / 24)
    for lag, effect in enumerate(effects):
        lagged = np.roll(w, lag, axis=1)
        lagged[:, period < lag] = 0.0
        y += effect * lagged
    noise = rng.normal(0, block_noise * np.sqrt(1 - noise_ar**2), w.shape)
    noise[:, period == 0] /= np.sqrt(1 - noise_ar**2)  # start each cluster in the stationary distribution
    for c in np.unique(codes):
        sel = codes == c
        noise[:, sel] = lfilter([1.0], [1.0, -noise_ar], noise[:, sel], axis=1)
    return y + noise
