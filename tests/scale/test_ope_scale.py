"""Off-policy evaluation through DuckDB and Spark equals the in-memory path to 1e-9 on the same Parquet log."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from recsys_causal.errors import DataValidationError, InputFileError, SchemaError
from recsys_causal.logs import LogFilters, read_decision_log, write_partitioned_log
from recsys_causal.ope import DM, DR, IPS, SNDR, SNIPS, DRos, SwitchDR, evaluate_policies
from recsys_causal.scale import (
    DuckDBEngine,
    EpsilonGreedy,
    ProbabilityColumn,
    Softmax,
    SparkEngine,
    TopK,
)
from recsys_causal.simulate import simulate_decision_log

RTOL = 1e-9
ESTIMATORS = [DM(), IPS(), IPS(clip=5.0), SNIPS(), DR(), SNDR(), SwitchDR(tau=4.0), DRos(lam=3.0)]
POLICIES = {
    "top": TopK("pred_new"),
    "soft": Softmax("pred_bold", temperature=0.5),
    "eps": EpsilonGreedy(TopK("pred_new"), 0.2),
    "column": ProbabilityColumn("pred_target"),
}
REWARDS = ["click", {"click": 1.0, "purchase": 5.0}]


def _frame(n_requests: int = 2500, seed: int = 7) -> pd.DataFrame:
    sim = simulate_decision_log(n_requests=n_requests, n_candidates=6, slate_size=1, seed=seed)
    frame = sim.log.to_long_frame()
    frame["pred_q"] = 1 / (1 + np.exp(-frame["pred_new"].to_numpy()))  # a reward model's predictions
    # a target policy scored offline: softmax over pred_new within each request
    e = np.exp(frame["pred_new"] - frame.groupby("request_id")["pred_new"].transform("max"))
    frame["pred_target"] = e / e.groupby(frame["request_id"]).transform("sum")
    return frame


@pytest.fixture(scope="module")
def hive_log(tmp_path_factory):
    root = tmp_path_factory.mktemp("ope_scale")
    return write_partitioned_log(_frame(), root / "log")


@pytest.fixture(scope="module")
def local_result(hive_log):
    log = read_decision_log(hive_log).log
    return evaluate_policies(log, {n: p.to_local(log) for n, p in POLICIES.items()}, rewards=REWARDS,
                             estimators=ESTIMATORS, reward_model="pred_q", cluster_col="user_id",
                             support_groups="surface")


def _engine(kind: str, path, spark=None):
    if kind == "duckdb":
        return DuckDBEngine.from_parquet(path, memory_limit="1GB")
    return SparkEngine(spark.read.parquet(str(path)))


def _assert_same(local, other) -> None:
    a, b = local.to_frame(), other.to_frame()
    assert list(a["name"]) == list(b["name"])
    for col in ("value", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(b[col].to_numpy(dtype=float), a[col].to_numpy(dtype=float), rtol=RTOL,
                                   atol=1e-13, err_msg=col)
    assert list(a["n"]) == list(b["n"])
    assert local.support.keys() == other.support.keys()
    for key, rep in local.support.items():
        got = other.support[key]
        assert got.verdict == rep.verdict and got.reasons == rep.reasons and got.n == rep.n
        for field in ("ess", "max_weight", "mean_weight", "mean_weight_p", "min_logged_propensity",
                      "outside_mass", "unsupported_mass", "unsupported_request_share"):
            if getattr(rep, field) is None:
                assert getattr(got, field) is None, field
            else:
                np.testing.assert_allclose(getattr(got, field), getattr(rep, field), rtol=RTOL, atol=1e-13,
                                           err_msg=field)
        np.testing.assert_allclose(list(got.weight_quantiles.values()), list(rep.weight_quantiles.values()),
                                   rtol=RTOL)
        if rep.breakdown is None:
            assert got.breakdown is None
            continue
        lb, gb = rep.breakdown.sort_values("group"), got.breakdown.sort_values("group")
        assert list(lb["group"]) == list(gb["group"])
        np.testing.assert_allclose(gb[["n", "ess", "mean_weight", "max_weight"]].to_numpy(dtype=float),
                                   lb[["n", "ess", "mean_weight", "max_weight"]].to_numpy(dtype=float), rtol=RTOL)


@pytest.mark.parametrize("kind", ["duckdb", "spark"])
def test_every_estimator_equals_the_local_path(kind, hive_log, local_result, request):
    spark = request.getfixturevalue("spark") if kind == "spark" else None
    res = evaluate_policies(_engine(kind, hive_log, spark), POLICIES, rewards=REWARDS, estimators=ESTIMATORS,
                                reward_model="pred_q", cluster_col="user_id", support_groups="surface")
    _assert_same(local_result, res)
    # the clustered intervals differ from the unclustered ones, so the cluster sums were used
    assert res.to_frame()["n"].max() < read_decision_log(hive_log).log.n_requests


def test_iid_intervals_and_no_reward_model(hive_log):
    """Unclustered intervals, default estimators (IPS, SNIPS without a reward model), against a hand sum."""
    log = read_decision_log(hive_log).log
    pol = {"soft": Softmax("pred_bold", temperature=0.5)}
    local = evaluate_policies(log, {"soft": pol["soft"].to_local(log)}, rewards=["click"],
                              estimators=[IPS(), SNIPS()])
    got = evaluate_policies(DuckDBEngine.from_parquet(hive_log), pol, rewards=["click"])
    _assert_same(local, got)
    # IPS by hand (pandas): mean over requests of π(a)/p · y for the item shown at position 1
    f = _frame()
    assert not f["eligible"].all()  # ineligible candidates get no probability
    e = np.exp((f["pred_bold"] - f.groupby("request_id")["pred_bold"].transform("max")) / 0.5) * f["eligible"]
    f["pi"] = e / e.groupby(f["request_id"]).transform("sum")
    logged = f[f["shown"] & (f["position"] == 1) & f["click"].notna()]
    v = logged["pi"] / logged["propensity"] * logged["click"]
    ips = got.estimates[1]
    assert ips.details["estimator"] == "IPS"
    np.testing.assert_allclose([ips.value, ips.se], [v.mean(), v.std(ddof=1) / np.sqrt(v.size)], rtol=1e-10)


def test_filters_are_pushed_down_and_match_a_filtered_local_read(hive_log):
    filters = LogFilters(start="2026-06-05T00:00:00Z", end="2026-06-12T00:00:00Z", surfaces=["home"])
    log = read_decision_log(hive_log, filters=filters).log
    assert 0 < log.n_requests < 2500
    local = evaluate_policies(log, {"top": TopK("pred_new").to_local(log)}, rewards=["click"],
                              estimators=[IPS(), SNIPS()])
    got = evaluate_policies(DuckDBEngine.from_parquet(hive_log, filters=filters), {"top": TopK("pred_new")},
                                rewards=["click"])
    _assert_same(local, got)


def test_input_files_are_not_modified(hive_log):
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(hive_log.rglob("*.parquet"))}
    evaluate_policies(DuckDBEngine.from_parquet(hive_log), {"top": TopK("pred_new")}, rewards=["click"])
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(hive_log.rglob("*.parquet"))} == digest


def _broken(frame: pd.DataFrame, tmp_path, name: str):
    return DuckDBEngine.from_parquet(write_partitioned_log(frame, tmp_path / name))


def test_bad_inputs_name_the_problem(tmp_path):
    frame = _frame(n_requests=200, seed=1)
    first = frame.index[frame["shown"] & (frame["position"] == 1)][:3]
    dup = frame.copy()
    other = dup.index[(dup["request_id"] == dup.loc[first[0], "request_id"]) & ~dup["shown"]][0]
    dup.loc[other, ["shown", "position"]] = [True, 1.0]
    with pytest.raises(DataValidationError, match="more than one shown item at position 1") as exc:
        evaluate_policies(_broken(dup, tmp_path, "dup"), {"top": TopK("pred_new")}, rewards=["click"])
    assert exc.value.count == 1 and exc.value.examples == [dup.loc[first[0], "request_id"]]

    bad_p = frame.copy()
    bad_p.loc[first[:2], "propensity"] = np.nan
    with pytest.raises(DataValidationError, match="2 shown items at position 1 have a missing or invalid"):
        evaluate_policies(_broken(bad_p, tmp_path, "bad_p"), {"top": TopK("pred_new")}, rewards=["click"])

    no_q = frame.copy()
    no_q.loc[first[:1], "pred_q"] = np.nan
    with pytest.raises(SchemaError, match="reward-model column 'pred_q' is missing for 1 candidates"):
        evaluate_policies(_broken(no_q, tmp_path, "no_q"), {"top": TopK("pred_new")}, rewards=["click"],
                              reward_model="pred_q")

    engine = _broken(frame, tmp_path, "ok")
    with pytest.raises(SchemaError, match="no column"):
        evaluate_policies(engine, {"top": TopK("pred_nothing")}, rewards=["click"])
    with pytest.raises(SchemaError, match="need reward-model predictions"):
        evaluate_policies(engine, {"top": TopK("pred_new")}, rewards=["click"], estimators=[DR()])
    with pytest.raises(InputFileError, match="no such file"):
        DuckDBEngine.from_parquet(tmp_path / "nowhere")


@pytest.mark.parametrize("kind", ["duckdb", "spark"])
def test_column_names_that_need_quoting(kind, tmp_path, request):
    spark = request.getfixturevalue("spark") if kind == "spark" else None
    frame = _frame(n_requests=300, seed=3).rename(columns={"pred_new": "pred_new-ranker v2", "click": "click 30m"})
    path = write_partitioned_log(frame, tmp_path / "odd")
    log = read_decision_log(path).log
    local = evaluate_policies(log, {"top": TopK("pred_new-ranker v2").to_local(log)}, rewards=["click 30m"],
                              estimators=[IPS(), SNIPS()], cluster_col="user_id")
    got = evaluate_policies(_engine(kind, path, spark), {"top": TopK("pred_new-ranker v2")},
                                rewards=["click 30m"], cluster_col="user_id")
    _assert_same(local, got)
