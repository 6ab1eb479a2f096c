"""Incrementality holdouts: intent-to-treat, exposure-adjusted effects, ghost exposures, attribution over-credit."""

from recsys_causal.incrementality.holdout import ASSUMPTIONS, HoldoutReadout, analyze_holdout
from recsys_causal.incrementality.planning import holdout_mde, holdout_units_needed

__all__ = ["ASSUMPTIONS", "HoldoutReadout", "analyze_holdout", "holdout_mde", "holdout_units_needed"]
