import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from recsys_causal.kernel.multiplicity import adjust_pvalues


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjustments_equal_statsmodels(method):
    rng = np.random.default_rng(0)
    for size in (1, 2, 7, 40):
        p = rng.random(size) ** 3
        np.testing.assert_allclose(adjust_pvalues(p, method), multipletests(p, method=method)[1], rtol=1e-12)
