"""A/B unit metrics and readouts through DuckDB and Spark equal the in-memory path on the same Parquet log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from recsys_causal.errors import ConfigError, DataValidationError, EstimationError, SchemaError
from recsys_causal.experiments import Guardrail, Metric, analyze_ab, join_unit_tables, unit_metrics_from_log
from recsys_causal.experiments.ratio import linearize
from recsys_causal.kernel.arm_moments import ArmMoments, linearized_ratio, mean_arm
from recsys_causal.kernel.moments import Moments
from recsys_causal.logs import DecisionLog, read_decision_log, write_partitioned_log
from recsys_causal.scale import DuckDBEngine, SparkEngine
from recsys_causal.scale.ab import SQLUnitMetrics, analyze_ab_sql, outcome_columns, unit_metrics_sql
from recsys_causal.simulate.ab import START, simulate_ab_log

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

RTOL = 1e-9
SPLIT = {"control": 0.4, "treatment": 0.3, "t2": 0.3}
WINDOW = "7D"
AS_OF = START + pd.Timedelta(days=18)  # enrolment runs 14 days: units first exposed after day 11 are immature
N_DUAL = 8
METRICS = [
    Metric.mean("click", name="clicks", covariates=()),
    Metric.mean("click", name="clicks_cuped"),  # the readout's covariates
    Metric.proportion("signup", role="secondary", covariates=()),
    Metric.proportion("signup", name="signup_cuped", role="secondary", covariates=("pre_clicks", "pre_active")),
    Metric.ratio("ctr", "click", "impressions", covariates=()),
    Metric.ratio("ctr_cuped", "click", "impressions", covariates=("pre_clicks", "pre_impressions")),
]
GUARDRAILS = [Guardrail("clicks", margin=0.05, relative=False), Guardrail("ctr", margin=0.05)]
READOUT = {"metrics": METRICS, "guardrails": GUARDRAILS, "covariates": ["pre_clicks"], "expected_split": SPLIT}


def _frames(seed: int = 21) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A three-arm user-randomised log with dual-assigned users, rows of another experiment, a 0/1 signup
    outcome (on the first candidate of a user's first request) and some unobserved purchases."""
    req, cand, _ = simulate_ab_log(n_users=3000, split=SPLIT, n_dual_assigned=N_DUAL, days=10, seed=seed)
    rng = np.random.default_rng(seed)
    req.loc[rng.choice(len(req), 40, replace=False), "experiment_id"] = "exp_other"
    cand["item_id"] = cand["request_id"] + "-" + cand["position"].astype(int).astype(str)
    first = ~req["user_id"].duplicated()
    p = np.where(req["variant"].eq("control"), 0.20, 0.24)
    signed = req.loc[first & (rng.random(len(req)) < p), "request_id"]
    cand["signup"] = (cand["request_id"].isin(signed) & cand["position"].eq(1)).astype(np.float64)
    cand.loc[rng.random(len(cand)) < 0.02, "purchase"] = np.nan
    return req, cand


def _covariates(req: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """Pre-period covariates per user (97% of users; a few values missing)."""
    rng = np.random.default_rng(seed)
    users = req.drop_duplicates("user_id")[["user_id", "segment"]]
    level = users["segment"].map({"cold_start": 1.0, "casual": 3.0, "power": 8.0}).to_numpy()
    cov = pd.DataFrame({"user_id": users["user_id"].to_numpy(),
                        "pre_clicks": rng.poisson(2 * level).astype(np.float64),
                        "pre_impressions": 1.0 + rng.poisson(30 * level),
                        "pre_active": (rng.random(len(users)) < level / 10).astype(np.float64)})
    cov = cov.sample(frac=0.97, random_state=seed).reset_index(drop=True)
    cov.loc[:4, "pre_clicks"] = np.nan
    return cov


@pytest.fixture(scope="module")
def frames():
    return _frames()


@pytest.fixture(scope="module")
def hive_log(frames, tmp_path_factory):
    req, cand = frames
    frame = DecisionLog.from_frames(req, cand).to_long_frame()
    return write_partitioned_log(frame, tmp_path_factory.mktemp("ab_scale") / "log")


@pytest.fixture(scope="module")
def local_log(hive_log):
    return read_decision_log(hive_log).log


@pytest.fixture(scope="module")
def local_units(local_log):
    return unit_metrics_from_log(local_log, window=WINDOW, as_of=AS_OF, experiment_id="exp1")


@pytest.fixture(scope="module")
def covariates(frames):
    return _covariates(frames[0])


@pytest.fixture(scope="module", params=["duckdb", "spark"])
def sql_units(request, hive_log):
    if request.param == "spark":
        spark = request.getfixturevalue("spark")
        engine = SparkEngine(spark.read.parquet(str(hive_log)))
    else:
        engine = DuckDBEngine.from_parquet(hive_log, memory_limit="1GB")
    units = unit_metrics_sql(engine, window=WINDOW, as_of=AS_OF, experiment_id="exp1")
    yield units
    units.drop()


@pytest.fixture(scope="module")
def sql_readout(sql_units, covariates):
    return analyze_ab(sql_units, covariates_table=covariates, **READOUT)


@pytest.fixture(scope="module")
def local_readout(local_units, covariates):
    return analyze_ab(join_unit_tables(local_units.units, covariates, on="user_id"), **READOUT)


def test_unit_table_equals_local(sql_units, local_units, local_log):
    expected = local_units.units.sort_values("user_id").reset_index(drop=True)
    got = sql_units.to_pandas()
    assert list(got.columns) == list(expected.columns)
    assert {"signup", "click", "purchase", "hide"} <= set(got.columns) and "position" not in got.columns
    assert got["user_id"].astype(str).tolist() == expected["user_id"].astype(str).tolist()
    assert got["variant"].astype(str).tolist() == expected["variant"].astype(str).tolist()
    assert (got["first_exposure"] == expected["first_exposure"]).all()
    assert got["n_requests"].tolist() == expected["n_requests"].tolist()
    for col in ["impressions", *sql_units.outcomes]:
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12, err_msg=col)
    assert set(got["signup"]) == {0.0, 1.0}
    assert sql_units.n_units == len(expected)
    assert sql_units.missing_outcomes == local_units.missing_outcomes and sql_units.missing_outcomes["purchase"] > 0
    # immature units: excluded, counted, with examples whose window closes after as_of
    assert sql_units.n_immature == local_units.n_immature > 100
    req = local_log.requests[local_log.requests["experiment_id"] == "exp1"]
    first = req.groupby("user_id")["decision_time"].min()
    assert len(sql_units.immature_examples) == 5
    assert (first[sql_units.immature_examples] + pd.Timedelta(WINDOW) > AS_OF).all()
    assert not set(sql_units.immature_examples) & set(expected["user_id"])
    # multi-variant units: quarantined and counted with examples
    multi = req.groupby("user_id")["variant"].nunique()
    assert sql_units.quarantine.count == local_units.quarantine.count == N_DUAL
    assert sql_units.quarantine.rows == local_units.quarantine.rows
    assert set(sql_units.quarantine.examples) <= set(multi.index[multi > 1])


def _same(a, b, what: str) -> None:
    assert a.name == b.name and a.method == b.method and a.n == b.n, what
    for field in ("value", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(b, field) == pytest.approx(getattr(a, field), rel=RTOL, abs=0), f"{what}: {field}"
    for key in ("p_adjusted", "harm", "harm_lower", "harm_upper", "p_noninferiority"):
        if key in a.details:
            assert b.details[key] == pytest.approx(a.details[key], rel=RTOL, abs=0), f"{what}: {key}"
    for key in ("verdict", "significant", "adjustment", "n_treatment", "n_control", "covariates", "theta"):
        assert b.details.get(key) == a.details.get(key), f"{what}: {key}"


def test_readout_equals_local(sql_readout, local_readout):
    loc, sql = local_readout, sql_readout
    assert sql.srm.observed == loc.srm.observed and sql.n_units == loc.n_units
    assert sql.srm.chi2 == pytest.approx(loc.srm.chi2, rel=RTOL) and sql.srm.p_value == pytest.approx(
        loc.srm.p_value, rel=RTOL)
    assert [e.name for e in sql.metrics] == [e.name for e in loc.metrics]
    assert len(sql.metrics) == len(METRICS) * 2 * 2  # metrics x treatments x (absolute, relative)
    for a, b in zip(loc.metrics, sql.metrics, strict=True):
        _same(a, b, a.name)
    assert len(sql.guardrails) == len(loc.guardrails) == 4
    for a, b in zip(loc.guardrails, sql.guardrails, strict=True):
        _same(a, b, a.name)
    methods = {e.details["metric"]: e.method for e in sql.metrics if e.details["lift"] == "absolute"}
    assert methods["clicks"] == "welch" and methods["clicks_cuped"] == "cuped welch"
    assert methods["signup"] == "proportion (welch)" and methods["signup_cuped"] == "cuped proportion (welch)"
    assert methods["ctr"] == "ratio delta" and methods["ctr_cuped"] == "cuped ratio delta"
    # covariates missing for some units: CUPED metrics use the units where they are present
    assert sql.lift("clicks_cuped", "treatment").n < sql.lift("clicks", "treatment").n
    assert sql.quarantine.count == N_DUAL and any("quarantined" in w for w in sql.warnings)


def test_mean_lift_equals_scipy_welch(sql_readout, local_units):
    units = local_units.units
    t = units.loc[units["variant"] == "treatment", "click"].to_numpy(float)
    c = units.loc[units["variant"] == "control", "click"].to_numpy(float)
    ref = stats.ttest_ind(t, c, equal_var=False)
    e = sql_readout.lift("clicks", "treatment", relative=False)
    assert e.value == pytest.approx(t.mean() - c.mean(), rel=RTOL)
    assert e.se == pytest.approx(e.value / ref.statistic, rel=RTOL)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    ci = ref.confidence_interval(0.95)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-7)


def test_cuped_lift_equals_ancova(sql_readout, local_units, covariates):
    units = join_unit_tables(local_units.units, covariates, on="user_id")
    d = units[units["variant"].isin(["control", "treatment"]) & units["pre_clicks"].notna()]
    d = pd.DataFrame({"y": d["click"], "t": (d["variant"] == "treatment").astype(float),
                      "x": d["pre_clicks"] - d["pre_clicks"].mean()})
    fit = smf.ols("y ~ t + x", d).fit(cov_type="HC2")
    e = sql_readout.lift("clicks_cuped", "treatment", relative=False)
    assert e.value == pytest.approx(fit.params["t"], rel=RTOL)
    assert e.se == pytest.approx(fit.bse["t"], rel=0.02)


def test_readout_straight_from_the_log(hive_log, local_units, covariates):
    guard = [Guardrail("hide", direction="increase_is_bad", margin=0.2)]  # a unit-table column, CUPED-adjusted
    r = analyze_ab(hive_log, window=WINDOW, as_of=AS_OF, experiment_id="exp1", covariates_table=covariates,
                       metrics=METRICS[:2], guardrails=guard, covariates=["pre_clicks"], expected_split=SPLIT)
    loc = analyze_ab(join_unit_tables(local_units.units, covariates, on="user_id"), metrics=METRICS[:2],
                     guardrails=guard, covariates=["pre_clicks"], expected_split=SPLIT)
    for a, b in zip([*loc.metrics, *loc.guardrails], [*r.metrics, *r.guardrails], strict=True):
        _same(a, b, a.name)
    assert r.guardrails[0].method == "cuped welch+fieller"  # relative margin


def test_request_metrics_and_default_outcomes(frames):
    req, cand = frames
    log = DecisionLog.from_frames(req, cand)
    engine = DuckDBEngine.from_frame(log.to_long_frame())
    assert outcome_columns(engine, exclude=["latency_ms"]) == ["click", "purchase", "hide", "signup"]
    units = unit_metrics_sql(engine, window="3D", as_of=AS_OF, request_metrics=["latency_ms"])
    local = unit_metrics_from_log(log, window="3D", as_of=AS_OF, request_metrics=["latency_ms"])
    got, expected = units.to_pandas(), local.units.sort_values("user_id").reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    for col in ("n_requests", "impressions", "click", "signup", "latency_ms"):
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12)
    assert units.quarantine.count == N_DUAL and units.n_immature == local.n_immature


def test_covariates_table_by_name(duck_units, local_units, covariates):
    duck_units.engine.con.register("pre_period", covariates)
    r = analyze_ab(duck_units, covariates_table="pre_period", metrics=METRICS[4:], covariates=["pre_clicks"],
                       expected_split=SPLIT)
    loc = analyze_ab(join_unit_tables(local_units.units, covariates, on="user_id"), metrics=METRICS[4:],
                     covariates=["pre_clicks"], expected_split=SPLIT)
    for a, b in zip(loc.metrics, r.metrics, strict=True):
        _same(a, b, a.name)


def test_arm_moments_from_raw_sums_equal_two_pass():
    rng = np.random.default_rng(3)
    den = 1.0 + rng.poisson(40, 500)
    num = rng.binomial(den.astype(int), 0.05).astype(float)
    x = num + rng.normal(0, 2, 500)
    z = np.column_stack([num, den, x])
    names = ("num", "den", "x")
    two_pass = ArmMoments.from_array(z, names)
    raw = ArmMoments.from_moments(Moments.from_columns(dict(zip(names, z.T, strict=True))))
    np.testing.assert_allclose(raw.mean, two_pass.mean, rtol=1e-13)
    np.testing.assert_allclose(raw.cross, two_pass.cross, rtol=1e-10)
    # the linearised ratio as a linear transform of the moments equals the explicit per-unit values
    lin = linearize(num, den)
    m = linearized_ratio(two_pass, "num", "den", "y")
    explicit = ArmMoments.from_array(np.column_stack([z, lin]), (*names, "y"))
    np.testing.assert_allclose(m.mean, explicit.mean, rtol=1e-12)
    np.testing.assert_allclose(m.cross, explicit.cross, rtol=1e-9, atol=1e-9 * np.abs(explicit.cross).max())
    arm = mean_arm(m, "y")
    assert arm.mean == pytest.approx(num.sum() / den.sum(), rel=1e-13)
    assert arm.var_mean == pytest.approx(lin.var(ddof=1) / lin.size, rel=1e-10)


@pytest.fixture(scope="module")
def duck_units(hive_log):
    return unit_metrics_sql(DuckDBEngine.from_parquet(hive_log), window=WINDOW, as_of=AS_OF, experiment_id="exp1")


def test_missing_columns_are_schema_errors(duck_units, covariates):
    with pytest.raises(SchemaError, match="revenu") as info:
        analyze_ab(duck_units, metrics=["revenu"], expected_split=SPLIT)
    assert info.value.column == "revenu" and "Fix:" in str(info.value)
    with pytest.raises(SchemaError, match="pre_revenue") as info:
        analyze_ab(duck_units, metrics=["click"], covariates=["pre_revenue"], covariates_table=covariates)
    assert info.value.column == "pre_revenue"
    with pytest.raises(SchemaError, match="no_such_outcome"):
        unit_metrics_sql(duck_units.engine, window=WINDOW, as_of=AS_OF, outcomes=["no_such_outcome"])


def test_unknown_variant_label_is_an_error(duck_units):
    with pytest.raises(DataValidationError, match="unknown variant") as info:
        analyze_ab(duck_units, metrics=["click"], expected_split={"control": 0.5, "treatment": 0.5})
    n_t2 = duck_units.engine.query(f"SELECT COUNT(*) AS n FROM {duck_units.table} WHERE variant = 't2'")["n"][0]
    assert info.value.count == n_t2 > 0 and info.value.column == "variant" and len(info.value.examples) == 5
    assert "'t2'" in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(ConfigError, match="control"):
        analyze_ab(duck_units, metrics=["click"], control="ctrl")


def test_other_bad_inputs(duck_units, covariates, frames):
    with pytest.raises(ConfigError, match="window"):
        analyze_ab(duck_units.engine, metrics=["click"], expected_split=SPLIT)
    with pytest.raises(DataValidationError, match="duplicate") as info:
        analyze_ab(duck_units, metrics=["click"], covariates=["pre_clicks"],
                       covariates_table=pd.concat([covariates, covariates.iloc[:3]]), expected_split=SPLIT)
    assert info.value.count == 3
    req, cand = frames
    flat = DuckDBEngine.from_frame(DecisionLog.from_frames(req, cand.assign(hide=0.0)).to_long_frame())
    units = unit_metrics_sql(flat, window=WINDOW, as_of=AS_OF)
    with pytest.raises(EstimationError, match="no variance") as info:
        analyze_ab(units, metrics=["hide"], expected_split=SPLIT)
    assert info.value.column == "hide"
    dup = flat.materialize(f"SELECT * FROM {units.table} UNION ALL SELECT * FROM {units.table}")
    with pytest.raises(DataValidationError, match="one row per unit"):
        SQLUnitMetrics.from_table(flat, dup)
    assert SQLUnitMetrics.from_table(flat, units.table).n_units == units.n_units


def test_quantile_metrics_on_the_engine_equal_in_memory(sql_units):
    metrics = [Metric.quantile("impressions", 0.5), Metric.quantile("click", 0.9, role="primary"),
               Metric.quantile("hide", 0.5)]  # hide: a point mass at 0 in both arms (not estimable)
    sql = analyze_ab(sql_units, metrics=metrics, expected_split=SPLIT)
    loc = analyze_ab(sql_units.to_pandas(), metrics=metrics, expected_split=SPLIT)
    assert len(sql.metrics) == len(loc.metrics) == 12
    for a, b in zip(loc.metrics, sql.metrics, strict=True):
        assert a.name == b.name and a.method == b.method and a.n == b.n
        assert a.details.get("degenerate") == b.details.get("degenerate")
        for f in ("value", "se", "ci_low", "ci_high", "p_value"):
            x, y = getattr(a, f), getattr(b, f)
            if x is None or np.isnan(x):
                assert y is None if x is None else np.isnan(y), (a.name, f)
            else:
                assert y == pytest.approx(x, rel=RTOL, abs=1e-12), (a.name, f)
    assert any(e.details.get("degenerate") for e in sql.metrics)
    assert sql.lift("impressions_p50", "treatment").method.startswith("quantile p50")


def test_analyze_ab_sql_is_deprecated_and_delegates(duck_units):
    with pytest.warns(DeprecationWarning, match="analyze_ab"):
        old = analyze_ab_sql(duck_units, metrics=["click"], expected_split=SPLIT)
    new = analyze_ab(duck_units, metrics=["click"], expected_split=SPLIT)
    for a, b in zip(new.metrics, old.metrics, strict=True):
        assert (a.name, a.value, a.se, a.p_value) == (b.name, b.value, b.se, b.p_value)


def test_engine_data_kinds_dispatch(tmp_path, duck_units):
    units = duck_units.to_pandas().drop(columns=["first_exposure"])
    path = tmp_path / "units.parquet"
    units.to_parquet(path)
    loc = analyze_ab(units, metrics=["click"], expected_split=SPLIT)
    import duckdb

    con = duckdb.connect()
    con.register("units_frame", units)
    for data in (path, str(path), DuckDBEngine.from_parquet(path), con.sql("SELECT * FROM units_frame")):
        r = analyze_ab(data, metrics=["click"], expected_split=SPLIT)
        for a, b in zip(loc.metrics, r.metrics, strict=True):
            assert b.value == pytest.approx(a.value, rel=RTOL) and b.se == pytest.approx(a.se, rel=RTOL)
    with pytest.raises(ConfigError, match="pandas unit table"):
        analyze_ab(path, metrics=["click"], expected_split=SPLIT, segment_col="segment")
    with pytest.raises(ConfigError, match="engine data"):
        analyze_ab(units, metrics=["click"], expected_split=SPLIT, window="7D")


def test_a_spark_dataframe_unit_table_dispatches_to_the_engine(spark, duck_units):
    units = duck_units.to_pandas().drop(columns=["first_exposure"])
    loc = analyze_ab(units, metrics=["click", Metric.quantile("impressions", 0.5)], expected_split=SPLIT)
    r = analyze_ab(spark.createDataFrame(units), metrics=["click", Metric.quantile("impressions", 0.5)],
                   expected_split=SPLIT)
    for a, b in zip(loc.metrics, r.metrics, strict=True):
        assert (a.name, a.method) == (b.name, b.method)
        assert b.value == pytest.approx(a.value, rel=RTOL) and b.se == pytest.approx(a.se, rel=RTOL)
