import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from recsys_causal import Estimate, EstimateTable
from recsys_causal.kernel.influence import influence_estimate, influence_se


def test_normal_interval_and_p_value_match_scipy():
    e = Estimate.from_normal(name="x", value=1.2, se=0.5, n=100, method="m")
    z = stats.norm.ppf(0.975)
    assert e.ci == pytest.approx((1.2 - z * 0.5, 1.2 + z * 0.5))
    assert e.p_value == pytest.approx(2 * stats.norm.sf(2.4))
    t = Estimate.from_normal(name="x", value=1.2, se=0.5, n=10, method="m", df=9)
    assert t.ci_high == pytest.approx(1.2 + stats.t.ppf(0.975, 9) * 0.5)


def test_mean_se_matches_ols_and_clustered_se_matches_statsmodels():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(40), rng.integers(1, 8, size=40))
    y = rng.normal(size=g.size) + rng.normal(size=40)[g]
    ols = sm.OLS(y, np.ones(y.size)).fit()
    assert influence_se(y - y.mean()) == pytest.approx(ols.bse[0], rel=1e-10)
    clustered = sm.OLS(y, np.ones(y.size)).fit(cov_type="cluster", cov_kwds={"groups": g})
    # with one regressor the (n-1)/(n-k) factor is 1, leaving G/(G-1) as in ours
    assert influence_se(y - y.mean(), clusters=g) == pytest.approx(clustered.bse[0], rel=1e-10)
    e = influence_estimate(name="m", value=y.mean(), influence=y - y.mean(), method="mean", clusters=g)
    assert e.n == 40


def test_table_frame_repr_and_html_escape():
    t = EstimateTable([Estimate.from_normal(name="<b>ctr</b>", value=0.1, se=0.01, n=5, method="welch",
                                            details={"metric": "ctr"})], title="lifts")
    frame = t.to_frame()
    assert list(frame.columns[:3]) == ["name", "value", "se"] and frame["metric"].tolist() == ["ctr"]
    assert "<b>ctr</b>" not in t._repr_html_() and "&lt;b&gt;" in t._repr_html_()
    assert "95% CI" in repr(t["<b>ctr</b>"])
    assert isinstance(EstimateTable().to_frame(), pd.DataFrame)
