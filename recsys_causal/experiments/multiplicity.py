"""Re-export of :mod:`recsys_causal.kernel.multiplicity` (Holm across primary comparisons, Benjamini–Hochberg
across secondary ones; kept for existing imports)."""

from recsys_causal.kernel.multiplicity import METHODS, adjust, adjust_by_hypothesis

__all__ = ["METHODS", "adjust", "adjust_by_hypothesis"]
