"""Re-export of :func:`recsys_causal.kernel.multiplicity.adjust_pvalues` (kept for existing imports)."""

from recsys_causal.kernel.multiplicity import adjust_pvalues

__all__ = ["adjust_pvalues"]
