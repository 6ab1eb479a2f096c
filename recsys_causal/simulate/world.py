"""A synthetic catalogue and user base: users with lifecycle segments, items with categories.

>>> w = make_world(n_users=100, n_items=50, seed=1)
>>> sorted(set(w.user_segment)) == sorted({"cold_start", "casual", "power"} & set(w.user_segment))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.logs.segments import lifecycle_segment


@dataclass(frozen=True)
class World:
    """Users and items with the latent quantities that drive outcomes."""

    user_ids: np.ndarray
    user_prior_interactions: np.ndarray
    user_segment: np.ndarray
    user_affinity: np.ndarray  # (n_users, n_categories)
    user_region: np.ndarray
    item_ids: np.ndarray
    item_category: np.ndarray
    item_quality: np.ndarray
    item_annoyance: np.ndarray

    @property
    def n_users(self) -> int:
        return self.user_ids.size

    @property
    def n_items(self) -> int:
        return self.item_ids.size


def make_world(n_users: int = 2000, n_items: int = 500, n_categories: int = 8, n_regions: int = 4,
               seed: int = 0) -> World:
    """Draw a world; the same seed gives the same world."""
    rng = np.random.default_rng(seed)
    prior = np.floor(rng.lognormal(mean=2.5, sigma=1.4, size=n_users)).astype(np.int64)
    return World(
        user_ids=np.array([f"u{i:06d}" for i in range(n_users)]),
        user_prior_interactions=prior,
        user_segment=lifecycle_segment(prior),
        user_affinity=rng.normal(0.0, 0.8, size=(n_users, n_categories)),
        user_region=np.array([f"region_{r}" for r in rng.integers(0, n_regions, size=n_users)]),
        item_ids=np.array([f"i{i:05d}" for i in range(n_items)]),
        item_category=rng.integers(0, n_categories, size=n_items),
        item_quality=rng.normal(0.0, 0.6, size=n_items),
        item_annoyance=rng.normal(0.0, 0.7, size=n_items),
    )
