"""User segments defined over log columns: the lifecycle segment of a user from pre-period interaction counts.

One definition serves segment analyses (:func:`recsys_causal.hte.segment_effects` with ``prior_interactions_col``)
and the simulators, so a "power user" means the same thing in a readout and in a simulated world.

>>> lifecycle_segment(np.array([0, 4, 5, 50, 51])).tolist()
['cold_start', 'cold_start', 'casual', 'casual', 'power']
"""

from __future__ import annotations

import numpy as np

SEGMENT_EDGES = (5, 50)  # cold-start < 5 prior interactions, casual 5-50, power > 50


def lifecycle_segment(prior_interactions: np.ndarray) -> np.ndarray:
    """Lifecycle segment from pre-period interaction counts: cold_start (< 5), casual (5–50), power (> 50).

    >>> lifecycle_segment(np.array([0, 4, 5, 50, 51])).tolist()
    ['cold_start', 'cold_start', 'casual', 'casual', 'power']
    """
    x = np.asarray(prior_interactions)
    return np.where(x < SEGMENT_EDGES[0], "cold_start", np.where(x <= SEGMENT_EDGES[1], "casual", "power"))
