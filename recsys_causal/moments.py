"""Re-export of :mod:`recsys_causal.kernel.moments` (sufficient statistics; deprecated: import from :mod:`recsys_causal.kernel`; kept for one release)."""

import warnings

from recsys_causal.kernel.moments import ONE, Moments

__all__ = ["ONE", "Moments"]

warnings.warn("recsys_causal.moments is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
