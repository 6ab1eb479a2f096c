"""The one-pass in-memory A/B path: arm and segment summaries from gathered arm blocks equal the per-metric
row-mask computation (to rounding) and independent references (statsmodels ANCOVA, pandas group means, scipy chi-square);
the no-variance check, variant labels compared as text, SRM tables from integer codes, and the CUPED guards
from moments against the row-level guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from recsys_causal.errors import DataValidationError, EstimationError
from recsys_causal.experiments.covariate_checks import guard_cuped
from recsys_causal.experiments.frame_arms import FrameArms
from recsys_causal.experiments.readout import Metric, analyze_ab
from recsys_causal.experiments.srm import srm_test
from recsys_causal.simulate.ab import simulate_ab

COVS = ["pre_revenue", "pre_clicks", "pre_impressions"]
METRICS = [Metric.mean("revenue"), Metric.proportion("converted"), Metric.ratio("ctr", "clicks", "impressions"),
           Metric.mean("hides", covariates=())]


@pytest.fixture(scope="module")
def units():
    return simulate_ab(n_units=12_000, split={"control": 0.4, "treatment": 0.3, "t2": 0.3},
                       effect_scale={"t2": 0.0}, hide_lift=0.2, seed=5).units


def _arms(df, segment_col=None):
    cols = list(dict.fromkeys(c for m in METRICS for c in [*m.columns, *m.covariates_for(COVS)]))
    return FrameArms(df, "variant", "control", COVS, None, cols, segment_col)


@pytest.mark.parametrize("segment", [None, "casual", "power"])
def test_block_summaries_equal_the_row_mask_computation(units, segment):
    arms = _arms(units, "segment")
    within = np.ones(len(units), bool) if segment is None else units["segment"].eq(segment).to_numpy()
    for m in METRICS:
        for v in ("treatment", "t2"):
            t_mask, c_mask = units["variant"].eq(v).to_numpy() & within, units["variant"].eq("control").to_numpy()
            want = m.arms_frame(units, t_mask, c_mask & within, covariates=m.covariates_for(COVS), cluster_col=None,
                                alpha=0.05)
            got = arms(m, v, 0.05, segment=segment)
            assert got[2] == want[2]
            for g, w in zip(got[:2], want[:2], strict=True):  # the same sums, possibly over more columns at once
                assert (g.n, g.dof) == (w.n, w.dof)
                assert g.mean == pytest.approx(w.mean, rel=1e-13) and g.var_mean == pytest.approx(w.var_mean, rel=1e-12)


def test_segment_cuped_lift_is_the_ancova_coefficient_on_the_segment(units):
    r = analyze_ab(units, metrics=["revenue"], covariates=["pre_revenue"], segment_col="segment",
                   expected_split={"control": 0.4, "treatment": 0.3, "t2": 0.3})
    for e in r.segments:
        sub = units[units["segment"].eq(e.details["segment"])
                    & units["variant"].isin(["control", e.details["variant"]])].copy()
        sub["T"] = sub["variant"].eq(e.details["variant"]).astype(float)
        coef = smf.ols("revenue ~ T + pre_revenue", data=sub).fit().params["T"]
        diff = e.details["mean_treatment"] - e.details["mean_control"]
        assert diff == pytest.approx(coef, rel=1e-9, abs=1e-12)


def test_segment_lift_without_covariates_matches_pandas_group_means(units):
    r = analyze_ab(units, metrics=["revenue", Metric.ratio("ctr", "clicks", "impressions")], segment_col="segment",
                   expected_split={"control": 0.4, "treatment": 0.3, "t2": 0.3})
    sums = units.groupby(["segment", "variant"])[["revenue", "clicks", "impressions"]].sum()
    counts = units.groupby(["segment", "variant"]).size()
    for e in r.segments:
        key_t, key_c = (e.details["segment"], e.details["variant"]), (e.details["segment"], "control")
        if e.details["metric"] == "revenue":
            t, c = (sums.loc[k, "revenue"] / counts.loc[k] for k in (key_t, key_c))
        else:
            t, c = (sums.loc[k, "clicks"] / sums.loc[k, "impressions"] for k in (key_t, key_c))
        assert e.value == pytest.approx(t / c - 1, rel=1e-9)
        assert e.details["n_treatment"] == counts.loc[key_t] and e.details["n_control"] == counts.loc[key_c]


@pytest.mark.parametrize("value", [0.1, 1 / 3, 12345.678, -7.7e-5])
def test_a_constant_column_is_refused_whatever_its_rounding(units, value):
    df = units.copy()
    df.loc[df["variant"].eq("control"), "hides"] = value  # the arm mean of n copies need not be exactly value
    with pytest.raises(EstimationError, match="metric 'hides' has no variance in variant 'control'"):
        analyze_ab(df, metrics=["revenue", "hides"])


def test_a_tiny_but_real_variance_is_not_refused(units):
    df = units.copy()
    tiny = np.where(np.arange(len(df)) % 2 == 0, 1.0, np.nextafter(1.0, 2.0))
    df["flat"] = tiny
    r = analyze_ab(df, metrics=["flat"], expected_split={"control": 0.4, "treatment": 0.3, "t2": 0.3})
    assert np.isfinite(r.lift("flat", "treatment", relative=False).value)


def test_object_column_of_integer_labels_is_read_as_text(units):
    """Integer labels in an object column against text control and split: the same readout as text labels
    (such a table used to be refused with 'unknown variant labels ['0', '1', '2']; expected one of ['0', '1',
    '2']')."""
    codes = {"control": 0, "treatment": 1, "t2": 2}
    df = units.assign(variant=units["variant"].map(codes).astype(object))
    got = analyze_ab(df, control="0", expected_split={"0": 0.4, "1": 0.3, "2": 0.3}, metrics=["revenue"],
                     covariates=["pre_revenue"])
    want = analyze_ab(units, expected_split={"control": 0.4, "treatment": 0.3, "t2": 0.3}, metrics=["revenue"],
                      covariates=["pre_revenue"])
    assert got.n_units == {"0": want.n_units["control"], "1": want.n_units["treatment"], "2": want.n_units["t2"]}
    assert got.lift("revenue", "1").value == want.lift("revenue", "treatment").value
    assert got.srm.p_value == want.srm.p_value


def test_srm_tables_match_a_crosstab_and_scipy(units):
    df = units.copy()
    df.loc[df.index[:25], "segment"] = None  # missing keys are left out, as a crosstab leaves them
    split = {"control": 0.4, "treatment": 0.3, "t2": 0.2, "t3": 0.1}  # t3 never observed: a zero column
    r = srm_test(df, expected_split=split, segment_col="segment", day_col="first_exposure")
    for frame, key in ((r.by_segment, df["segment"]), (r.by_day, df["first_exposure"].dt.floor("D"))):
        tab = pd.crosstab(key, df["variant"]).reindex(columns=list(split), fill_value=0)
        assert frame["group"].tolist() == tab.index.astype(str).tolist()
        for j, k in enumerate(split):
            assert frame[f"n_{k}"].tolist() == tab.iloc[:, j].tolist()
        for row, counts in zip(frame.itertuples(), tab.to_numpy(), strict=True):
            want = stats.chisquare(counts, np.array(list(split.values())) * counts.sum())
            assert row.chi2 == pytest.approx(want.statistic, rel=1e-12)
            assert row.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
    observed = df["variant"].value_counts()
    assert r.observed == {k: int(observed.get(k, 0)) for k in split}


def test_cuped_guards_from_moments_equal_the_row_level_guards(units):
    df = units.assign(shifted=units["pre_revenue"] + units["variant"].ne("control") * 0.5)
    metrics = [Metric.mean("revenue"), Metric.ratio("ctr", "clicks", "impressions")]
    arms = FrameArms(df, "variant", "control", ["shifted", "pre_clicks"], None,
                     ["revenue", "clicks", "impressions", "shifted", "pre_clicks"])
    kw = dict(variant_col="variant", control="control", pre_verified=True)
    from_moments = guard_cuped(df, metrics, ["shifted", "pre_clicks"], arms=arms, **kw)
    from_rows = guard_cuped(df, metrics, ["shifted", "pre_clicks"], **kw)
    assert len(from_moments) == 2 and from_moments == from_rows  # the imbalance of 'shifted' in both treatments
    df["post"] = df["revenue"] * 2 + 1e-6 * np.arange(len(df)) % 3
    arms = FrameArms(df, "variant", "control", ["post"], None, ["revenue", "post"])
    errors = []
    for a in (arms, None):
        with pytest.raises(DataValidationError) as exc:
            guard_cuped(df, [Metric.mean("revenue")], ["post"], variant_col="variant", control="control", arms=a)
        errors.append(str(exc.value).split("(R²")[0])
    assert errors[0] == errors[1] and "'post' reproduces metric 'revenue'" in errors[0]


def test_missing_segment_values_form_their_own_segment(units):
    """Rows without a segment are lifted as segment 'nan' (they used to stop the readout with a TypeError from
    sorting text and float labels together); its lift is that of those rows."""
    df = units.astype({"segment": object})
    df.loc[df.index[:3000], "segment"] = None
    r = analyze_ab(df, metrics=["revenue"], segment_col="segment",
                   expected_split={"control": 0.4, "treatment": 0.3, "t2": 0.3})
    e = next(e for e in r.segments if e.details["segment"] == "nan" and e.details["variant"] == "treatment")
    sub = df.iloc[:3000]
    means = sub.groupby("variant")["revenue"].mean()
    assert e.value == pytest.approx(means["treatment"] / means["control"] - 1, rel=1e-9)
    assert e.details["n_treatment"] + e.details["n_control"] == sub["variant"].isin(["treatment", "control"]).sum()
