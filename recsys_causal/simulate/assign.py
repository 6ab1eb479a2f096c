"""Seeded random assignment of units to arms, shared by the experiment simulators.

>>> names, arm = draw_arms(np.random.default_rng(0), {"control": 0.5, "treatment": 0.5}, 6)
>>> names, arm.tolist()
(['control', 'treatment'], [1, 0, 0, 0, 1, 1])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def draw_arms(rng: np.random.Generator, shares: Mapping[str, float], n: int) -> tuple[list[str], np.ndarray]:
    """The arm names (in the order of ``shares``) and each of ``n`` units' arm index, drawn independently with
    probabilities proportional to ``shares``."""
    names = list(shares)
    p = np.array([shares[v] for v in names], dtype=np.float64)
    return names, rng.choice(len(names), size=n, p=p / p.sum())
