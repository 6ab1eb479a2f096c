"""Incrementality holdouts: intent-to-treat, exposure-adjusted effects, ghost exposures, attribution over-credit;
complier effects by segment."""

from recsys_causal.incrementality.complier import ComplierReadout, complier_effects
from recsys_causal.incrementality.from_log import HoldoutUnits, analyze_holdout_log, holdout_units_from_log
from recsys_causal.incrementality.holdout import ASSUMPTIONS, HoldoutReadout, analyze_holdout
from recsys_causal.incrementality.planning import holdout_mde, holdout_units_needed

__all__ = ["ASSUMPTIONS", "ComplierReadout", "HoldoutReadout", "HoldoutUnits", "analyze_holdout", "analyze_holdout_log",
           "complier_effects", "holdout_mde", "holdout_units_from_log", "holdout_units_needed"]
