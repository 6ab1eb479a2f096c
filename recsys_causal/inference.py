"""Re-export of :mod:`recsys_causal.kernel.influence` (influence values → SE → Estimate; kept for existing
imports)."""

from recsys_causal.kernel.influence import influence_estimate, influence_se

__all__ = ["influence_estimate", "influence_se"]
