"""A/A experiments observed at many looks, for checking sequential monitors (the true effect is exactly 0).

>>> z, se, n = simulate_aa_looks(runs=2, looks=3, per_look=4, seed=0)
>>> z.shape, n.tolist()
((2, 3), [8, 16, 24])
"""

from __future__ import annotations

import numpy as np


def simulate_aa_looks(runs: int, looks: int, per_look: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch z and standard error of the difference in means after each look (``per_look`` new standard-normal
    units per arm at every look), and the total units at each look; arrays of shape ``(runs, looks)`` and
    ``(looks,)``."""
    rng = np.random.default_rng(seed)
    n = per_look * np.arange(1, looks + 1)
    arms = []
    for _ in range(2):
        y = rng.normal(size=(runs, looks, per_look))
        s1, s2 = np.cumsum(y.sum(2), axis=1), np.cumsum((y**2).sum(2), axis=1)
        m = s1 / n
        arms.append((m, (s2 - n * m**2) / (n - 1) / n))
    (mt, vt), (mc, vc) = arms
    se = np.sqrt(vt + vc)
    return (mt - mc) / se, se, 2 * n
