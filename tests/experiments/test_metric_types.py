"""A/B metric classes: the registry, the compatibility layer of ``Metric``, deprecated names, and a new metric
type written here as ONE class (a capped mean) that works in memory, on DuckDB and through the report."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.errors import ConfigError
from recsys_causal.experiments import (
    Mean,
    Metric,
    Proportion,
    Quantile,
    Ratio,
    adjust,
    adjust_by_hypothesis,
    analyze_ab,
    as_metric,
)
from recsys_causal.simulate.ab import simulate_ab

SPLIT = {"control": 0.5, "treatment": 0.5}
LO, HI = 0.5, 6.0


@dataclass(frozen=True, kw_only=True)
class CappedMean(Metric, kind="capped_mean"):
    """Mean of ``min(max(x, lo), hi)``: winsorised at fixed caps (a test fixture; no package file knows it)."""

    method: ClassVar[str] = "capped mean (welch)"
    column: str | None = None
    lo: float = 0.0
    hi: float = 1.0

    @property
    def columns(self) -> list[str]:
        return [self.column or self.name]

    def values(self, get):
        return {"capped": np.clip(get(self.columns[0]), self.lo, self.hi)}

    def values_sql(self, get):
        return {"capped": f"LEAST(GREATEST({get(self.columns[0])}, {float(self.lo)!r}), {float(self.hi)!r})"}


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    u = simulate_ab(n_units=3000, seed=11).units
    u.loc[u.index[:25], "revenue"] = np.nan  # missing values are left out of both paths
    return u


def _capped(units: pd.DataFrame, variant: str) -> np.ndarray:
    x = units.loc[units["variant"] == variant, "revenue"].to_numpy(float)
    return np.clip(x[np.isfinite(x)], LO, HI)


def test_capped_mean_in_memory_equals_scipy_welch_on_the_capped_values(units):
    m = Metric("rev_capped", kind="capped_mean", column="revenue", lo=LO, hi=HI)
    assert isinstance(m, CappedMean) and m.columns == ["revenue"]
    r = analyze_ab(units, metrics=[m], expected_split=SPLIT)
    t, c = _capped(units, "treatment"), _capped(units, "control")
    ref = stats.ttest_ind(t, c, equal_var=False)
    e = r.lift("rev_capped", relative=False)
    assert e.value == pytest.approx(t.mean() - c.mean(), rel=1e-12)
    assert e.se == pytest.approx(math.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size), rel=1e-12)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-9)
    assert e.method == "capped mean (welch)" and e.details["kind"] == "capped_mean"
    rel = r.lift("rev_capped")
    assert rel.value == pytest.approx(t.mean() / c.mean() - 1, rel=1e-12)
    assert rel.details["quantity"] == "relative lift" and e.details["quantity"] == "lift"
    # capping changes the answer: the plain mean is much noisier
    plain = analyze_ab(units, metrics=["revenue"], expected_split=SPLIT).lift("revenue", relative=False)
    assert plain.value != e.value and e.se < 0.6 * plain.se


def test_capped_mean_with_cuped_and_clusters(units):
    m = CappedMean("rev_capped", column="revenue", lo=LO, hi=HI)
    r = analyze_ab(units, metrics=[m], covariates=["pre_revenue"], expected_split=SPLIT)
    e = r.lift("rev_capped", relative=False)
    assert e.method == "cuped capped mean (welch)" and e.details["variance_reduction"] > 0
    # ANCOVA on the capped values with a pooled within-arm slope gives the same point estimate
    ok = units["revenue"].notna()
    y = np.clip(units.loc[ok, "revenue"].to_numpy(float), LO, HI)
    x = units.loc[ok, "pre_revenue"].to_numpy(float)
    t = (units.loc[ok, "variant"] == "treatment").to_numpy()
    design = np.column_stack([np.ones(y.size), t, x - x.mean()])
    assert e.value == pytest.approx(np.linalg.lstsq(design, y, rcond=None)[0][1], rel=1e-9)
    # clustered path: one unit per cluster gives the Welch numbers with a normal reference
    cl = analyze_ab(units.assign(cluster=units["unit_id"]), metrics=[m], cluster_col="cluster",
                    expected_split=SPLIT).lift("rev_capped", relative=False)
    base = analyze_ab(units, metrics=[m], expected_split=SPLIT).lift("rev_capped", relative=False)
    assert cl.value == pytest.approx(base.value, rel=1e-12)
    n_t, n_c = (_capped(units, v).size for v in ("treatment", "control"))
    # cluster-robust variance of a mean = (G / (G - 1)) Σ (y - ȳ)² / n² = s² / n exactly when G = n
    assert cl.se == pytest.approx(base.se, rel=1e-12) and cl.method == "cluster-robust capped mean (welch)"
    assert cl.details["df"] is None and n_t + n_c == cl.n


def test_capped_mean_on_duckdb_equals_in_memory(units, tmp_path):
    from recsys_causal.scale import DuckDBEngine

    path = tmp_path / "units.parquet"
    units.to_parquet(path)
    m = CappedMean("rev_capped", column="revenue", lo=LO, hi=HI, role="secondary")
    kw = {"metrics": [m, "clicks"], "covariates": ["pre_revenue"], "expected_split": SPLIT, "unit_col": "unit_id"}
    loc = analyze_ab(units, **kw)
    for data in (path, DuckDBEngine.from_parquet(path)):
        sql = analyze_ab(data, **kw)
        assert [e.name for e in sql.metrics] == [e.name for e in loc.metrics]
        for a, b in zip(loc.metrics, sql.metrics, strict=True):
            assert (a.method, a.n) == (b.method, b.n)
            for f in ("value", "se", "ci_low", "ci_high", "p_value"):
                assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-9, abs=1e-12), (a.name, f)
            assert b.details["p_adjusted"] == pytest.approx(a.details["p_adjusted"], rel=1e-9)


def test_capped_mean_through_the_report(units, tmp_path):
    from recsys_causal.report import build_report

    units.drop(columns=["covariate_time"]).to_parquet(tmp_path / "units.parquet")
    (tmp_path / "exp.yaml").write_text(
        "experiment: {name: capped, design: ab, unit: unit_id}\n"
        "data: {units: units.parquet}\n"
        "variants: {control: control, expected_split: {control: 0.5, treatment: 0.5}}\n"
        "metrics:\n"
        "  primary:\n"
        f"    - {{name: rev_capped, kind: capped_mean, column: revenue, lo: {LO}, hi: {HI}}}\n"
        "    - {name: clicks, kind: mean}\n")
    _, json_path, _ = build_report(tmp_path / "exp.yaml", tmp_path / "r.html", tmp_path / "r.json")
    rows = [m for m in json.loads(json_path.read_text())["metrics"] if m["metric"] == "rev_capped"]
    assert {r["lift"] for r in rows} == {"absolute", "relative"}
    expected = analyze_ab(units, metrics=[Metric("rev_capped", kind="capped_mean", column="revenue", lo=LO, hi=HI),
                                          Metric("clicks")], expected_split=SPLIT, unit_col="unit_id")
    absolute = next(r for r in rows if r["lift"] == "absolute")
    assert absolute["value"] == pytest.approx(expected.lift("rev_capped", relative=False).value, rel=1e-12)
    t, c = _capped(units, "treatment"), _capped(units, "control")
    assert absolute["value"] == pytest.approx(t.mean() - c.mean(), rel=1e-12)


def test_report_config_checks_the_parameters_of_a_kind(tmp_path):
    from recsys_causal.report.config import ReportConfig

    base = {"experiment": {"name": "x", "design": "ab"}, "data": {"units": "u.parquet"}}
    ok = ReportConfig.model_validate({**base, "metrics": {"primary": [
        {"name": "r", "kind": "capped_mean", "column": "revenue", "lo": 0, "hi": 5}]}})
    assert ok.metrics.primary[0].to_metric("primary") == CappedMean("r", column="revenue", lo=0, hi=5)
    for bad, text in (({"name": "r", "kind": "capped_mean", "cap": 5}, "takes no parameter ['cap']"),
                      ({"name": "r", "kind": "caped_mean"}, "did you mean 'capped_mean'"),
                      ({"name": "r", "kind": "ratio", "numerator": "a"}, "needs numerator and denominator"),
                      ({"name": "r", "kind": "mean", "colum": "a"}, "takes no parameter ['colum']")):
        with pytest.raises(ValueError, match=text.replace("[", r"\[").replace("]", r"\]")):
            ReportConfig.model_validate({**base, "metrics": {"primary": [bad]}})


def test_registry_and_factory():
    assert {"mean", "proportion", "ratio", "quantile", "capped_mean"} <= set(Metric.registry)
    assert Metric.registry["ratio"] is Ratio and Ratio.kind == "ratio"
    assert isinstance(Metric("x", kind="proportion"), Proportion) and isinstance(Proportion("x"), Mean)
    assert Metric("x") == Mean("x")
    q = Metric("lat", kind="quantile", column="latency_ms", q=0.9, numerator=None)  # unused None fields are fine
    assert isinstance(q, Quantile) and not q.moment_based and q.covariates_for(["pre"]) == []
    assert Mean("x", covariates=["a"]).covariates == ("a",)
    with pytest.raises(ConfigError, match="did you mean 'proportion'"):
        Metric("x", kind="propotion")
    with pytest.raises(ConfigError, match="takes no parameter"):
        Metric("x", kind="mean", q=0.5)
    with pytest.raises(ConfigError, match="needs q strictly between 0 and 1"):
        Metric.quantile("x", 1.5)
    with pytest.raises(ConfigError, match="role"):
        Mean("x", role="tertiary")
    with pytest.raises(ConfigError, match="already registered by Mean"):
        type("Hijack", (Metric,), {}, kind="mean")
    assert Metric.registry["mean"] is Mean


def test_compat_constructors_keep_their_meaning():
    assert Metric.mean("revenue", name="rev") == Mean("rev", column="revenue")
    assert Metric.proportion("conv") == Proportion("conv", column="conv")
    assert Metric.ratio("ctr", "clicks", "impressions") == Ratio("ctr", numerator="clicks", denominator="impressions")
    assert Metric.quantile("latency_ms", 0.95) == Quantile("latency_ms_p95", column="latency_ms", q=0.95,
                                                            role="secondary")
    assert as_metric("clicks/impressions") == Ratio("clicks/impressions", numerator="clicks",
                                                    denominator="impressions")
    assert as_metric("revenue") == Mean("revenue", column="revenue")
    kwargs = {"name": "r", "kind": "ratio", "column": None, "numerator": "a", "denominator": "b", "q": None,
              "role": "secondary"}  # the flat spec older callers pass
    assert Metric(**kwargs) == Ratio("r", numerator="a", denominator="b", role="secondary")


def test_deprecated_argument_names_warn_and_agree(units):
    old_kw = {"metrics": ["revenue"], "expected_split": SPLIT}
    with pytest.warns(DeprecationWarning, match="units_df"):
        old = analyze_ab(units_df=units, **old_kw)
    new = analyze_ab(units, **old_kw)
    assert [(e.value, e.se) for e in old.metrics] == [(e.value, e.se) for e in new.metrics]
    rows = list(new.metrics)
    for fn in (adjust, adjust_by_hypothesis):
        with pytest.warns(DeprecationWarning, match="'method'"):
            a = fn(rows, method="bh")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            b = fn(rows, multiplicity="bh")
        assert [e.details["p_adjusted"] for e in a] == [e.details["p_adjusted"] for e in b]
    from recsys_causal.kernel.multiplicity import adjust_pvalues

    with pytest.warns(DeprecationWarning):
        assert adjust_pvalues([0.01, 0.04], method="holm").tolist() == adjust_pvalues([0.01, 0.04], "holm").tolist()


def test_lift_rows_carry_quantity_and_keep_lift(units):
    r = analyze_ab(units, metrics=["revenue"], guardrails=[], expected_split=SPLIT)
    assert {(e.details["lift"], e.details["quantity"]) for e in r.metrics} == {("absolute", "lift"),
                                                                               ("relative", "relative lift")}


def test_unit_metric_builders_take_data_and_warn_on_their_old_names():
    from recsys_causal.experiments import unit_metrics_from_log, windowed_unit_metrics
    from recsys_causal.simulate import simulate_decision_log

    log = simulate_decision_log(n_requests=400, n_candidates=4, slate_size=2, seed=1,
                                experiment={"control": 0.5, "treatment": 0.5}).log
    new = unit_metrics_from_log(log, window="1D", as_of="2030-01-01T00:00:00Z").units
    with pytest.warns(DeprecationWarning, match="'log' is deprecated"):
        old = unit_metrics_from_log(log=log, window="1D", as_of="2030-01-01T00:00:00Z").units
    pd.testing.assert_frame_equal(new, old)
    with pytest.warns(DeprecationWarning, match="'log' is deprecated"):
        windowed = windowed_unit_metrics(log=log, windows=["1D"], as_of="2030-01-01T00:00:00Z")
    pd.testing.assert_frame_equal(windowed["1D"].units, new)
