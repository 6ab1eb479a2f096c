"""Re-export of :mod:`recsys_causal.kernel.moments` (sufficient statistics; kept for existing imports)."""

from recsys_causal.kernel.moments import ONE, Moments

__all__ = ["ONE", "Moments"]
