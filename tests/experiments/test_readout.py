"""analyze_ab end to end: SRM first, lifts, multiplicity, guardrails, segments, clustering, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests

from recsys_causal.errors import ConfigError, DataValidationError, EstimationError, SchemaError
from recsys_causal.estimate import Estimate
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.readout import Metric, analyze_ab
from recsys_causal.kernel.multiplicity import adjust
from recsys_causal.simulate.ab import simulate_ab, simulate_ab_log

SPLIT3 = {"control": 0.4, "treatment": 0.3, "t2": 0.3}


@pytest.fixture(scope="module")
def sim3():
    return simulate_ab(n_units=30_000, split=SPLIT3, effect_scale={"t2": 0.0}, hide_lift=0.3, seed=11)


@pytest.fixture(scope="module")
def readout3(sim3):
    return analyze_ab(
        sim3.units, control="control", unit_col="unit_id", segment_col="segment", day_col="first_exposure",
        metrics=["revenue", Metric.ratio("ctr", "clicks", "impressions"),
                 Metric.proportion("converted", role="secondary"), Metric.quantile("latency_ms", 0.95)],
        guardrails=[Guardrail("hides", direction="increase_is_bad", margin=0.05),
                    Guardrail("impressions", direction="decrease_is_bad", margin=0.02)],
        covariates=["pre_revenue", "pre_clicks", "pre_impressions"], expected_split=SPLIT3)


def test_readout_structure(readout3):
    r = readout3
    assert not r.srm.flagged and r.srm.by_segment is not None and r.srm.by_day is not None
    assert len(r.metrics) == 4 * 2 * 2  # metrics x treatments x (absolute, relative)
    text = repr(r)
    assert text.startswith("SRM ok")
    frame = r.to_frame()
    assert frame["section"].iloc[0] == "srm"
    assert set(frame["section"]) == {"srm", "metric", "guardrail", "segment"}
    assert "<table" in r._repr_html_()
    assert len(r.segments) == 3 * 2 * 2  # segments x treatments x primary metrics


def test_readout_recovers_truth(readout3, sim3):
    for variant in ("treatment", "t2"):
        for metric, key in (("revenue", "revenue"), ("ctr", "ctr")):
            e = readout3.lift(metric, variant)
            truth = sim3.truth[variant][key]["relative"]
            assert abs(e.value - truth) < 4 * e.se
    assert sim3.truth["t2"]["revenue"]["relative"] == 0.0  # t2 has no effect by construction


def test_multiplicity_scheme(readout3):
    primary_rel = [e for e in readout3.metrics if e.details["role"] == "primary" and e.details["lift"] == "relative"]
    p = np.array([e.p_value for e in primary_rel])
    expect = multipletests(p, method="holm")[1]
    assert [e.details["p_adjusted"] for e in primary_rel] == pytest.approx(expect)
    secondary = [e for e in readout3.metrics if e.details["role"] == "secondary" and e.details["lift"] == "absolute"]
    expect = multipletests([e.p_value for e in secondary], method="fdr_bh")[1]
    assert [e.details["p_adjusted"] for e in secondary] == pytest.approx(expect)


def test_holm_and_bh_hand_worked():
    es = [Estimate(name=str(i), value=0, se=1, ci_low=0, ci_high=0, n=1, method="m", p_value=p)
          for i, p in enumerate([0.01, 0.04, 0.03])]
    # Holm: sorted 0.01, 0.03, 0.04 -> 3*0.01=0.03, 2*0.03=0.06, max(0.06, 0.04)=0.06
    assert [e.details["p_adjusted"] for e in adjust(es, multiplicity="holm")] == pytest.approx([0.03, 0.06, 0.06])
    # BH: 0.04*3/3=0.04, 0.03*3/2=0.045 -> min over larger ranks -> 0.04; 0.01*3 = 0.03
    assert [e.details["p_adjusted"] for e in adjust(es, multiplicity="bh")] == pytest.approx([0.03, 0.04, 0.04])


def test_guardrail_verdicts(readout3):
    v = readout3.guardrail_verdicts
    assert v["hides treatment guardrail"] == "violated"  # +30% hides against a 5% margin
    assert v["impressions treatment guardrail"] in ("ok", "inconclusive")
    assert v["impressions t2 guardrail"] == "ok"


def test_guardrail_rule_hand_worked():
    g = Guardrail("m", direction="decrease_is_bad", margin=0.02, alpha=0.05)
    z = 1.6448536269514722
    # lift -0.01, se 0.005 -> harm 0.01, one-sided bounds 0.01 -+ z*0.005 = [0.00178, 0.01822] < 0.02 -> ok
    assert g.verdict(Estimate.from_normal(name="a", value=-0.01, se=0.005, n=1, method="m")) == "ok"
    # lift -0.05, se 0.01 -> harm bounds [0.05 - z*0.01, ...] = [0.0336, ...] > 0.02 -> violated
    assert g.verdict(Estimate.from_normal(name="a", value=-0.05, se=0.01, n=1, method="m")) == "violated"
    # lift -0.02, se 0.01 -> interval contains the margin -> inconclusive
    assert g.verdict(Estimate.from_normal(name="a", value=-0.02, se=0.01, n=1, method="m")) == "inconclusive"
    # the boundary: harm + z*se exactly at the margin is not ok
    assert g.verdict(Estimate.from_normal(name="a", value=-(0.02 - z * 0.01), se=0.01, n=1, method="m")) != "ok"
    up = Guardrail("latency", direction="increase_is_bad", margin=0.0)
    assert up.verdict(Estimate.from_normal(name="a", value=-0.05, se=0.01, n=1, method="m")) == "ok"
    with pytest.raises(ConfigError, match="direction"):
        Guardrail("m", direction="up")


def test_cuped_in_readout_equals_ancova(sim3):
    u = sim3.units[sim3.units.variant.isin(["control", "treatment"])]
    r = analyze_ab(u, metrics=["revenue"], covariates=["pre_revenue"],
                   expected_split={"control": 0.4, "treatment": 0.3})
    d = pd.DataFrame({"y": u.revenue, "t": (u.variant == "treatment").astype(float),
                      "x": u.pre_revenue - u.pre_revenue.mean()})
    fit = smf.ols("y ~ t + x", d).fit(cov_type="HC2")
    e = r.lift("revenue", relative=False)
    assert e.value == pytest.approx(fit.params["t"], rel=1e-9)
    assert e.se == pytest.approx(fit.bse["t"], rel=0.02)
    raw = analyze_ab(u, metrics=["revenue"], expected_split={"control": 0.4, "treatment": 0.3})
    assert e.se < 0.9 * raw.lift("revenue", relative=False).se


def test_request_level_latency_clustered_by_user():
    req, _, truth = simulate_ab_log(n_users=3000, latency_shift=0.05, seed=5)
    r = analyze_ab(req, cluster_col="user_id", metrics=["latency_ms", Metric.quantile("latency_ms", 0.5)],
                   expected_split={"control": 0.5, "treatment": 0.5})
    assert r.n_units["control"] + r.n_units["treatment"] == 3000
    mean = r.lift("latency_ms", relative=False)
    fit = smf.ols("y ~ t", pd.DataFrame({"y": req.latency_ms, "t": (req.variant == "treatment").astype(float)})
                  ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(req.user_id)[0]})
    assert mean.value == pytest.approx(fit.params["t"])
    assert mean.se == pytest.approx(fit.bse["t"], rel=0.02)
    assert "cluster" in mean.method
    q = r.lift("latency_ms_p50", relative=False)
    assert q.ci_low - 2 * q.se < truth["latency_p50"]["absolute"] < q.ci_high + 2 * q.se


def test_srm_flagged_and_shown_first():
    sim = simulate_ab(n_units=40_000, srm_drop=0.05, seed=2)
    r = analyze_ab(sim.units, metrics=["revenue"], expected_split={"control": 0.5, "treatment": 0.5})
    assert r.srm.flagged
    assert repr(r).startswith("SRM FLAGGED")
    assert "sample-ratio mismatch" in r.warnings[0]


def test_unknown_variant_label_is_an_error():
    sim = simulate_ab(n_units=1000, seed=0)
    u = sim.units.copy()
    u.loc[:4, "variant"] = "treatmnet"
    with pytest.raises(DataValidationError, match="unknown variant") as info:
        analyze_ab(u, metrics=["revenue"], unit_col="unit_id", expected_split={"control": 0.5, "treatment": 0.5})
    assert info.value.count == 5 and info.value.column == "variant" and len(info.value.examples) == 5
    assert "Fix:" in str(info.value)
    with pytest.raises(ConfigError, match="control"):
        analyze_ab(sim.units, control="ctrl", metrics=["revenue"])


def test_unit_in_two_variants_is_quarantined_and_counted():
    sim = simulate_ab(n_units=2000, seed=0)
    u = sim.units
    dup = u.iloc[:7].assign(variant=np.where(u.variant.iloc[:7] == "control", "treatment", "control"))
    r = analyze_ab(pd.concat([u, dup], ignore_index=True), metrics=["revenue"], unit_col="unit_id",
                   expected_split={"control": 0.5, "treatment": 0.5})
    assert r.quarantine.count == 7 and r.quarantine.rows == 14
    assert set(r.quarantine.examples) <= set(u.unit_id.iloc[:7])
    assert sum(r.n_units.values()) == 2000 - 7
    assert "quarantined" in repr(r) and "7 units" in repr(r)


def test_metric_without_variance_is_an_error():
    sim = simulate_ab(n_units=1000, seed=0)
    u = sim.units.assign(flat=1.0)
    with pytest.raises(EstimationError, match="no variance") as info:
        analyze_ab(u, metrics=["flat"], expected_split={"control": 0.5, "treatment": 0.5})
    assert info.value.column == "flat"


def test_post_treatment_covariate_is_rejected():
    sim = simulate_ab(n_units=1000, seed=0)
    u = sim.units.copy()
    u["measured_at"] = u["covariate_time"].astype(u["first_exposure"].dtype)
    late = u.index[:3]
    u.loc[late, "measured_at"] = u.loc[late, "first_exposure"] + pd.Timedelta(hours=2)
    with pytest.raises(DataValidationError, match="after first exposure") as info:
        analyze_ab(u, metrics=["revenue"], covariates=["pre_revenue"], unit_col="unit_id",
                   first_exposure_col="first_exposure", covariate_times={"pre_revenue": "measured_at"})
    assert info.value.count == 3 and list(info.value.examples) == u.unit_id.iloc[:3].tolist()
    # a declared measurement time after the experiment started
    with pytest.raises(DataValidationError, match="pre_revenue"):
        analyze_ab(u, metrics=["revenue"], covariates=["pre_revenue"], first_exposure_col="first_exposure",
                   covariate_times={"pre_revenue": "2026-03-10"})
    ok = analyze_ab(u, metrics=["revenue"], covariates=["pre_revenue"], first_exposure_col="first_exposure",
                    covariate_times={"pre_revenue": "2026-02-01"})
    assert ok.lift("revenue").method.startswith("cuped")


def test_missing_column_is_a_schema_error():
    sim = simulate_ab(n_units=500, seed=0)
    with pytest.raises(SchemaError, match="revenu"):
        analyze_ab(sim.units, metrics=["revenu"])


def test_string_ratio_spec_and_single_treatment_default_split():
    sim = simulate_ab(n_units=3000, seed=4)
    r = analyze_ab(sim.units, metrics=["clicks/impressions"])
    assert r.lift("clicks/impressions").details["kind"] == "ratio"
    assert any("equal shares" in w for w in r.warnings)


def test_integer_variant_labels():
    sim = simulate_ab(n_units=2000, seed=6)
    u = sim.units.assign(variant=(sim.units.variant == "treatment").astype(int))
    r = analyze_ab(u, control=0, metrics=["revenue"], expected_split={0: 0.5, 1: 0.5})
    assert set(r.n_units) == {"0", "1"} and r.lift("revenue", "1").details["variant"] == "1"


def test_clustered_cuped_matches_clustered_ancova():
    rng = np.random.default_rng(8)
    users = 1500
    treat_u = rng.random(users) < 0.5
    pre_u = rng.gamma(2.0, 1.0, users)
    n_req = rng.integers(1, 8, users)
    user = np.repeat(np.arange(users), n_req)
    y = 0.5 + 0.1 * treat_u[user] + 0.8 * pre_u[user] + rng.normal(0, 0.5, users)[user] + rng.normal(0, 1, user.size)
    df = pd.DataFrame({"user_id": user, "variant": np.where(treat_u[user], "treatment", "control"), "y": y,
                       "pre": pre_u[user]})
    r = analyze_ab(df, cluster_col="user_id", metrics=["y"], covariates=["pre"],
                   expected_split={"control": 0.5, "treatment": 0.5})
    e = r.lift("y", relative=False)
    fit = smf.ols("y ~ t + x", pd.DataFrame({"y": y, "t": treat_u[user].astype(float),
                                              "x": df.pre - df.pre.mean()})).fit(
        cov_type="cluster", cov_kwds={"groups": user})
    assert e.value == pytest.approx(fit.params["t"], rel=1e-9)
    assert e.se == pytest.approx(fit.bse["t"], rel=0.03)
    assert e.method.startswith("cuped cluster-robust")
