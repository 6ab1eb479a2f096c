"""Re-export of :func:`recsys_causal.kernel.multiplicity.adjust_pvalues` (deprecated: import from :mod:`recsys_causal.kernel`; kept for one release)."""

import warnings

from recsys_causal.kernel.multiplicity import adjust_pvalues

__all__ = ["adjust_pvalues"]

warnings.warn("recsys_causal.pvalues is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
