"""Segment effects, heterogeneity tests and harm detection against scipy, statsmodels and known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from recsys_causal import DataValidationError
from recsys_causal.hte import check_pre_treatment, segment_effects

EFFECTS = {"a": 0.3, "b": 0.1, "c": -0.2}


def simulate(n=6000, effects=EFFECTS, seed=0):
    rng = np.random.default_rng(seed)
    seg = rng.choice(list(effects), n)
    t = rng.random(n) < 0.5
    pre = rng.normal(size=n)
    tau = np.array([effects[s] for s in seg])
    y = 1 + pre + tau * t + rng.normal(size=n)
    return pd.DataFrame({"variant": np.where(t, "treatment", "control"), "seg": seg, "pre": pre, "y": y,
                         "prior": rng.integers(0, 120, n)})


def test_segment_effect_is_welch_and_cuped_is_ancova():
    u = simulate(seed=1)
    r = segment_effects(u, metrics=["y"], segments=["seg"])
    frame = r.to_frame().set_index("segment")
    for s in EFFECTS:
        m = u["seg"] == s
        yt, yc = u.y[m & (u.variant == "treatment")], u.y[m & (u.variant == "control")]
        welch = stats.ttest_ind(yt, yc, equal_var=False)
        assert frame.loc[s, "value"] == pytest.approx(yt.mean() - yc.mean())
        assert frame.loc[s, "p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    cuped = segment_effects(u, metrics=["y"], segments=["seg"], covariates=["pre"]).to_frame().set_index("segment")
    m = u["seg"] == "a"
    t = (u.variant[m] == "treatment").to_numpy(float)
    x = u.pre[m].to_numpy() - u.pre[m].mean()
    ols = sm.OLS(u.y[m].to_numpy(), sm.add_constant(np.column_stack([t, x]))).fit(cov_type="HC2")
    assert cuped.loc["a", "value"] == pytest.approx(ols.params[1], rel=1e-9)
    assert cuped.loc["a", "se"] == pytest.approx(ols.bse[1], rel=0.01)


def test_cochran_q_matches_hand_formula():
    u = simulate(seed=2)
    r = segment_effects(u, metrics=["y"], segments=["seg"])
    f = r.to_frame()
    w = 1 / f["se"] ** 2
    pooled = (w * f["value"]).sum() / w.sum()
    q = (w * (f["value"] - pooled) ** 2).sum()
    assert r.heterogeneity["cochran_q"].iloc[0] == pytest.approx(q, rel=1e-9)
    assert r.heterogeneity["cochran_p"].iloc[0] == pytest.approx(stats.chi2.sf(q, 2), rel=1e-9)


def test_coverage_size_and_power_over_200_runs():
    hits = dict.fromkeys(EFFECTS, 0)
    reject_null = {"cochran": 0, "wald": 0}
    reject_alt = {"cochran": 0, "wald": 0}
    for s in range(200):
        r = segment_effects(simulate(n=3000, seed=100 + s), metrics=["y"], segments=["seg"], covariates=["pre"])
        for e in r.effects:
            hits[e.details["segment"]] += e.ci_low <= EFFECTS[e.details["segment"]] <= e.ci_high
        h = r.heterogeneity.iloc[0]
        reject_alt["cochran"] += h["cochran_p"] < 0.05
        reject_alt["wald"] += h["interaction_p"] < 0.05
        null = segment_effects(simulate(n=3000, effects={"a": 0.2, "b": 0.2, "c": 0.2}, seed=900 + s),
                               metrics=["y"], segments=["seg"]).heterogeneity.iloc[0]
        reject_null["cochran"] += null["cochran_p"] < 0.05
        reject_null["wald"] += null["interaction_p"] < 0.05
    for s in EFFECTS:
        assert 0.91 <= hits[s] / 200 <= 0.99, (s, hits[s])
    assert max(reject_null.values()) / 200 <= 0.08, reject_null
    assert min(reject_alt.values()) / 200 >= 0.8, reject_alt


def test_harm_detected_in_a_segment_while_global_effect_is_positive():
    u = simulate(n=20_000, effects={"a": 0.4, "b": 0.3, "c": -0.25}, seed=3)
    assert (u.y[u.variant == "treatment"].mean() - u.y[u.variant == "control"].mean()) > 0
    r = segment_effects(u, metrics=["y"], segments=["seg"], covariates=["pre"])
    assert r.harms["segment"].tolist() == ["c"] and "HARM" in repr(r)
    # the same metric where an increase is bad: now a and b are the harmed segments
    r2 = segment_effects(u, metrics=["y"], segments=["seg"], covariates=["pre"], directions={"y": "increase_is_bad"})
    assert sorted(r2.harms["segment"]) == ["a", "b"]
    nulls = [len(segment_effects(simulate(n=3000, effects={"a": 0, "b": 0, "c": 0}, seed=s), metrics=["y"],
                                 segments=["seg"]).harms) for s in range(100)]
    assert np.mean(np.array(nulls) > 0) <= 0.08


def test_lifecycle_segments_and_forest_plot():
    u = simulate(seed=4)
    r = segment_effects(u, metrics=["y"], prior_interactions_col="prior")
    assert set(r.to_frame()["segment"]) == {"cold_start", "casual", "power"}
    fig = r.forest_plot("y")
    assert len(fig.axes[0].get_yticklabels()) == 3


def test_small_segments_are_reported_not_merged_silently():
    u = simulate(seed=5)
    u.loc[u.index[:10], "seg"] = "tiny"
    with pytest.raises(DataValidationError) as err:
        segment_effects(u, metrics=["y"], segments=["seg"], min_units=30)
    assert "tiny" in str(err.value) and "merge_small=True" in str(err.value)
    r = segment_effects(u, metrics=["y"], segments=["seg"], min_units=30, merge_small=True)
    assert "other (small segments)" in set(r.to_frame()["segment"]) and "merged" in r.warnings[0]


def test_constant_and_post_treatment_covariates():
    u = simulate(seed=6)
    u["const"] = 1.0
    with pytest.raises(DataValidationError, match="constant"):
        segment_effects(u, metrics=["y"], segments=["seg"], covariates=["const"])
    u["exposed_at"] = pd.Timestamp("2026-06-10", tz="UTC")
    u["measured"] = pd.Timestamp("2026-06-01", tz="UTC")
    u.loc[u.index[:3], "measured"] = pd.Timestamp("2026-06-12", tz="UTC")
    with pytest.raises(DataValidationError, match="measured after first exposure") as err:
        check_pre_treatment(u, ["pre"], covariate_times={"pre": "measured"}, first_exposure_col="exposed_at")
    assert "3 units" in str(err.value)


def test_one_pre_treatment_check_under_the_old_hte_argument_names():
    from recsys_causal.experiments.pretreatment import check_pre_treatment as the_one

    assert check_pre_treatment.__wrapped__ is the_one
    u = simulate(seed=6)
    u["exposed_at"] = pd.Timestamp("2026-06-10", tz="UTC")
    u["measured"] = pd.Timestamp("2026-06-12", tz="UTC")
    with pytest.warns(DeprecationWarning, match="measured_at"), \
            pytest.raises(DataValidationError, match="measured after first exposure"):
        check_pre_treatment(u, ["pre"], measured_at={"pre": "measured"}, exposure_time_col="exposed_at")
