"""Any dataframe in: every entry point that takes a pandas table gives exactly the same numbers from the same
table held as a polars DataFrame or a pyarrow Table (and from a DuckDB relation where the entry point takes
one); anything that is not a table raises :class:`FrameTypeError` naming the accepted types.

The reference is the analysis of the pandas frame, computed by the code paths that existed before any other
table type was accepted; the comparison is exact (``check_exact``) on every column of ``to_frame()``.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from recsys_causal import (
    ConfigError,
    DecisionLog,
    analyze_ab,
    analyze_holdout,
    analyze_switchback,
    evaluate_policies,
    read_decision_log,
    srm_test,
)
from recsys_causal.experiments import cumulative_looks, decay_from_panel, effect_by_day, join_unit_tables
from recsys_causal.frames import ACCEPTED, FrameTypeError, as_pandas, is_table, to_arrow, to_pandas
from recsys_causal.hte import fit_cate, segment_effects
from recsys_causal.scale import DuckDBEngine, TopK
from recsys_causal.simulate import simulate_decision_log, simulate_holdout, simulate_switchback
from recsys_causal.simulate.ab import simulate_ab, simulate_ab_panel

pl = pytest.importorskip("polars")

SPLIT = {"control": 0.5, "treatment": 0.5}


def flavours(frame: pd.DataFrame) -> dict[str, object]:
    """The same table as polars and pyarrow objects (built from the pandas frame, index dropped)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return {"polars": pl.from_pandas(frame), "pyarrow": table}


def same(reference, other) -> None:
    """Every column of ``to_frame()`` equal, numbers exactly."""
    pd.testing.assert_frame_equal(other.to_frame(), reference.to_frame(), check_exact=True)


@pytest.fixture(scope="module")
def ab_units() -> pd.DataFrame:
    return simulate_ab(n_units=3000, seed=3).units


# ----------------------------------------------------------------------------- the conversion itself


def test_a_pandas_frame_comes_back_as_the_same_object(ab_units):
    assert to_pandas(ab_units) is ab_units
    assert as_pandas(ab_units) is ab_units


def test_every_table_kind_gives_the_pandas_frame(ab_units):
    table = pa.Table.from_pandas(ab_units, preserve_index=False)

    class Exporter:  # any object with the Arrow PyCapsule stream interface
        def __arrow_c_stream__(self, requested_schema=None):
            return table.__arrow_c_stream__(requested_schema)

    con = duckdb.connect()
    kinds = {
        "polars": pl.from_pandas(ab_units), "polars lazy": pl.from_pandas(ab_units).lazy(), "pyarrow": table,
        "record batch": table.combine_chunks().to_batches()[0], "reader": pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches()), "dataset": pads.dataset(table), "capsule": Exporter(),
        "duckdb": con.from_arrow(table),
    }
    for kind, obj in kinds.items():
        assert is_table(obj), kind
        got = to_pandas(obj)
        if kind == "duckdb":  # DuckDB names the zone of its session (Etc/UTC): same instants, another zone name
            assert str(got["first_exposure"].dt.tz) == "Etc/UTC"
            got = got.assign(**{c: got[c].dt.tz_convert("UTC") for c in ("first_exposure", "covariate_time")})
        pd.testing.assert_frame_equal(got, ab_units, check_exact=True, obj=kind)
    assert not is_table(kinds["duckdb"], relations=False)
    assert as_pandas(kinds["duckdb"], relations=False) is kinds["duckdb"]


def test_numeric_columns_without_nulls_are_not_copied():
    x = np.arange(100_000, dtype=np.float64)
    table = pa.table({"x": x, "k": np.arange(100_000), "s": ["a"] * 100_000})
    out = to_pandas(table)
    arrow_x = table.column("x").chunks[0].to_numpy()
    assert np.shares_memory(out["x"].to_numpy(), arrow_x)
    assert np.shares_memory(out["k"].to_numpy(), table.column("k").chunks[0].to_numpy())
    frame = pl.DataFrame({"x": x})
    assert np.shares_memory(to_arrow(frame).column("x").chunks[0].to_numpy(), frame["x"].to_numpy())
    with pytest.raises(ValueError, match="read-only"):  # the shared buffer is Arrow's
        out.loc[0, "x"] = 5.0
    copied = out.copy()
    copied.loc[0, "x"] = 5.0
    assert copied["x"].iloc[0] == 5.0 and out["x"].iloc[0] == 0.0 and arrow_x[0] == 0.0
    # nulls in an integer column force the float64-with-NaN copy pandas holds them as
    with_null = to_pandas(pa.table({"k": pa.array([1, None, 3])}))
    assert with_null["k"].dtype == np.float64 and np.isnan(with_null["k"].iloc[1])


def test_polars_is_not_imported_by_the_package():
    code = ("import sys, recsys_causal as rc, pyarrow as pa; "
            "rc.srm_test(pa.table({'variant': ['a', 'b']}), expected_split={'a': 1, 'b': 1}); "
            "print('polars' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bad", [[1, 2], {"variant": ["a"]}, np.zeros((2, 2)), pd.Series([1.0]), "not a table"])
def test_a_non_table_raises_the_typed_error_naming_the_accepted_types(bad):
    with pytest.raises(FrameTypeError, match="srm_test: data must be a table, got ") as info:
        to_pandas(bad, what="srm_test")
    assert isinstance(info.value, ConfigError) and isinstance(info.value, TypeError)
    assert "polars DataFrame" in str(info.value) and "pyarrow Table" in str(info.value)
    assert ACCEPTED in str(info.value)


ENTRY_POINTS = {
    "analyze_ab": lambda x: analyze_ab(x, metrics=["revenue"], expected_split=SPLIT),
    "analyze_holdout": analyze_holdout,
    "analyze_switchback": lambda x: analyze_switchback(x),
    "segment_effects": lambda x: segment_effects(x, metrics=["y"]),
    "fit_cate": lambda x: fit_cate(x, outcome="y", treatment="t", covariates=["x"]),
    "srm_test": lambda x: srm_test(x, expected_split=SPLIT),
    "cumulative_looks": lambda x: cumulative_looks(x, metric="y", time_col="t"),
    "effect_by_day": lambda x: effect_by_day(x, metric="y"),
    "evaluate_policies": lambda x: evaluate_policies(x, {"top": TopK("pred_new")}),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_a_non_table_with_the_typed_error(entry):
    with pytest.raises(FrameTypeError, match="polars DataFrame"):
        ENTRY_POINTS[entry]([{"variant": "control", "y": 1.0}])


# ----------------------------------------------------------------------------- entry points, same numbers


def test_analyze_ab_same_numbers_from_every_table(ab_units):
    kw = dict(metrics=["revenue", "converted"], covariates=["pre_revenue"], expected_split=SPLIT,
              unit_col="unit_id", segment_col="segment")
    reference = analyze_ab(ab_units, **kw)
    for data in flavours(ab_units).values():
        same(reference, analyze_ab(data, **kw))
        pd.testing.assert_frame_equal(analyze_ab(data, **kw).srm.to_frame(), reference.srm.to_frame(),
                                      check_exact=True)


def test_analyze_ab_keeps_a_duckdb_relation_on_the_engine(ab_units, monkeypatch):
    import recsys_causal.scale.ab as engine_ab

    calls = []
    on_engine = engine_ab.analyze_on_engine
    monkeypatch.setattr(engine_ab, "analyze_on_engine", lambda data, **kw: calls.append(data) or on_engine(data, **kw))
    units = ab_units.drop(columns=["first_exposure", "covariate_time"])
    reference = analyze_ab(units, metrics=["revenue"], expected_split=SPLIT, unit_col="unit_id")
    con = duckdb.connect()
    rel = con.from_arrow(pa.Table.from_pandas(units, preserve_index=False))
    assert calls == []
    got = analyze_ab(rel, metrics=["revenue"], expected_split=SPLIT, unit_col="unit_id")
    assert calls == [rel]  # the relation itself went to the engine, not a converted copy
    for data in flavours(units).values():  # polars and pyarrow are analysed in memory
        analyze_ab(data, metrics=["revenue"], expected_split=SPLIT, unit_col="unit_id")
    assert calls == [rel]
    for a, b in zip(reference.metrics, got.metrics, strict=True):  # SQL sums: equal to rounding
        assert (a.name, a.method) == (b.name, b.method)
        assert b.value == pytest.approx(a.value, rel=1e-9) and b.se == pytest.approx(a.se, rel=1e-9)


def test_engine_covariates_table_from_polars(ab_units):
    units = ab_units.drop(columns=["first_exposure", "covariate_time", "pre_revenue"])
    covs = ab_units[["unit_id", "pre_revenue"]]
    kw = dict(metrics=["revenue"], covariates=["pre_revenue"], expected_split=SPLIT, unit_col="unit_id")
    reference = analyze_ab(DuckDBEngine.from_frame(units), covariates_table=covs, **kw).to_frame()
    for data in flavours(covs).values():
        got = analyze_ab(DuckDBEngine.from_frame(units), covariates_table=data, **kw).to_frame()
        assert got["name"].equals(reference["name"]) and got["method"].str.startswith("cuped").any()
        for col in ("value", "se", "ci_low", "ci_high"):  # engine sums: equal to rounding (see below)
            np.testing.assert_allclose(got[col], reference[col], rtol=1e-12)


def test_srm_test_same_numbers(ab_units):
    reference = srm_test(ab_units, expected_split=SPLIT, segment_col="segment")
    for data in flavours(ab_units).values():
        got = srm_test(data, expected_split=SPLIT, segment_col="segment")
        assert got.to_dict() == reference.to_dict()


def test_analyze_holdout_same_numbers():
    units = simulate_holdout(n_units=4000, seed=11).units
    reference = analyze_holdout(units, revenue_col="revenue", covariates=["pre_conversions"])
    for data in flavours(units).values():
        same(reference, analyze_holdout(data, revenue_col="revenue", covariates=["pre_conversions"]))


def test_analyze_switchback_same_numbers():
    sb = simulate_switchback(n_clusters=2, n_blocks=24, direct_effect=0.5, seed=0)
    reference = analyze_switchback(sb.schedule, sb.events, n_draws=200)
    for name, sched in flavours(sb.schedule).items():
        events = flavours(sb.events)[name]
        got = analyze_switchback(sched, events, n_draws=200)
        same(reference, got)
        assert got.randomization.p_value == reference.randomization.p_value


def test_segment_effects_same_numbers():
    rng = np.random.default_rng(4)
    n = 2000
    u = pd.DataFrame({"variant": rng.choice(["control", "treatment"], n), "seg": rng.choice(list("abc"), n)})
    u["y"] = rng.normal(size=n) + 0.3 * (u["variant"] == "treatment")
    reference = segment_effects(u, metrics=["y"], segments=["seg"])
    for data in flavours(u).values():
        same(reference, segment_effects(data, metrics=["y"], segments=["seg"]))


def test_fit_cate_same_numbers():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "t": rng.integers(0, 2, n)})
    df["y"] = df["x1"] + df["t"] * (1 + df["x2"]) + rng.normal(size=n)
    kw = dict(outcome="y", treatment="t", covariates=["x1", "x2"], treatment_probability=0.5, method="linear")
    reference = fit_cate(df, **kw)
    for data in flavours(df).values():
        got = fit_cate(data, **kw)
        same(reference, got)
        np.testing.assert_array_equal(got.effects, reference.effects)


def test_novelty_and_sequential_helpers_same_numbers(ab_units):
    panel, _ = simulate_ab_panel(n_units=400, n_days=10, initial=0.6, long_run=0.1, tau=3, seed=2)
    ref_days = effect_by_day(panel, metric="value")
    ref_decay = decay_from_panel(panel, metric="value")
    ref_looks = cumulative_looks(ab_units, metric="revenue", time_col="first_exposure", n_looks=4)
    for name, data in flavours(panel).items():
        pd.testing.assert_frame_equal(effect_by_day(data, metric="value"), ref_days, check_exact=True)
        days, fit = decay_from_panel(data, metric="value")
        pd.testing.assert_frame_equal(days, ref_decay[0], check_exact=True)
        assert fit.to_dict() == ref_decay[1].to_dict()
        looks = cumulative_looks(flavours(ab_units)[name], metric="revenue", time_col="first_exposure", n_looks=4)
        pd.testing.assert_frame_equal(looks, ref_looks, check_exact=True)


def test_join_unit_tables_same_frame(ab_units):
    left, right = ab_units[["unit_id", "revenue"]], ab_units[["unit_id", "pre_revenue"]].iloc[::2]
    reference = join_unit_tables(left, right, on="unit_id", fill={"pre_revenue": 0.0})
    for name, data in flavours(left).items():
        got = join_unit_tables(data, flavours(right)[name], on="unit_id", fill={"pre_revenue": 0.0})
        pd.testing.assert_frame_equal(got, reference, check_exact=True)


# ----------------------------------------------------------------------------- decision logs and OPE


@pytest.fixture(scope="module")
def long_frame() -> pd.DataFrame:
    f = simulate_decision_log(n_requests=800, n_candidates=5, slate_size=1, epsilon=0.3, seed=9).log.to_long_frame()
    f["pred_q"] = 1 / (1 + np.exp(-f["pred_new"].to_numpy()))
    return f


def test_read_decision_log_and_in_memory_ope_same_numbers(long_frame):
    ref_log, ref_report = read_decision_log(long_frame, require_propensity=True)
    policy = {"top": TopK("pred_new").to_local(ref_log)}
    reference = evaluate_policies(ref_log, policy, reward_model="pred_q", cluster_col="user_id")
    con = duckdb.connect()
    tables = {**flavours(long_frame), "duckdb": con.from_arrow(pa.Table.from_pandas(long_frame, preserve_index=False))}
    for data in tables.values():
        log, report = read_decision_log(data, require_propensity=True)
        assert report.to_dict() == ref_report.to_dict()
        pd.testing.assert_frame_equal(log.candidates, ref_log.candidates, check_exact=True)
        pd.testing.assert_frame_equal(log.requests, ref_log.requests, check_exact=True)
        np.testing.assert_array_equal(log.offsets, ref_log.offsets)
        same(reference, evaluate_policies(log, {"top": TopK("pred_new").to_local(log)}, reward_model="pred_q",
                                          cluster_col="user_id"))


def test_evaluate_policies_on_a_long_table_same_numbers(long_frame):
    """A long table goes to the DuckDB engine, whose parallel sums are not bit-reproducible: two runs on the very
    same pandas frame already differ in the last bits. So: the frame handed to the engine equals the pandas frame
    exactly, and the numbers agree to 1e-12 (a relation stays on the engine: its numbers agree as well)."""
    for data in flavours(long_frame).values():
        pd.testing.assert_frame_equal(as_pandas(data), long_frame.reset_index(drop=True), check_exact=True)
    kw = dict(estimators=["IPS", "SNIPS", "DR"], reward_model="pred_q", cluster_col="user_id")
    reference = evaluate_policies(long_frame, {"top": TopK("pred_new")}, **kw).to_frame()
    rel = duckdb.connect().from_arrow(pa.Table.from_pandas(long_frame, preserve_index=False))
    for data in [*flavours(long_frame).values(), rel]:
        got = evaluate_policies(data, {"top": TopK("pred_new")}, **kw).to_frame()
        assert list(got["name"]) == list(reference["name"]) and len(got) == 1 + 3 * 3
        for col in ("value", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(got[col], reference[col], rtol=1e-12, atol=1e-15)


def test_decision_log_from_frames_same_log(long_frame):
    ref = read_decision_log(long_frame).log
    # the validated log holds text as pandas' NA-string dtype, which Arrow has no mark of: start from "str"
    text = {c: "str" for c, t in ref.candidates.dtypes.items() if isinstance(t, pd.StringDtype)}
    candidates = ref.candidates.astype(text).assign(request_id=np.repeat(ref.request_column("request_id"), np.diff(ref.offsets)))
    reference = DecisionLog.from_frames(ref.requests, candidates, reward_columns=ref.reward_columns)
    for name, requests in flavours(ref.requests).items():
        got = DecisionLog.from_frames(requests, flavours(candidates)[name], reward_columns=ref.reward_columns)
        pd.testing.assert_frame_equal(got.candidates, reference.candidates, check_exact=True)
        np.testing.assert_array_equal(got.offsets, reference.offsets)


def test_the_array_helpers_take_polars_and_pyarrow_columns():
    """mean_lift, cuped_lift, quantile_lift and the like take columns: polars Series and pyarrow arrays give
    the numbers of the numpy arrays they hold."""
    from recsys_causal.experiments import cuped_lift, mean_lift, proportion_lift, quantile_lift

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=400)
    x = rng.normal(size=900)
    y, t = x + rng.normal(size=900), rng.random(900) < 0.5
    for col in (pl.Series, pa.array, lambda v: pa.chunked_array([v])):
        assert mean_lift(col(a), col(b), relative=True) == mean_lift(a, b, relative=True)
        assert quantile_lift(col(a), col(b), q=0.5) == quantile_lift(a, b, q=0.5)
        assert proportion_lift(col(a > 0), col(b > 0)) == proportion_lift(a > 0, b > 0)
        assert cuped_lift(col(y), col(x), col(t)) == cuped_lift(y, x, t)


def test_the_gate_refuses_a_table_with_the_way_to_read_it(long_frame):
    """screen reads a validated DecisionLog: a table of any kind gets the typed error naming read_decision_log."""
    from recsys_causal.gate import screen

    for data in (long_frame, *flavours(long_frame).values()):
        with pytest.raises(FrameTypeError, match="screen needs a DecisionLog") as info:
            screen(data, {}, primary="click")
        assert "read_decision_log(table)" in str(info.value)
