"""Re-export of :mod:`recsys_causal.kernel.influence` (influence values → SE → Estimate; kept for existing
imports)."""

import warnings

from recsys_causal.kernel.influence import influence_estimate, influence_se

__all__ = ["influence_estimate", "influence_se"]

warnings.warn("recsys_causal.inference is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
