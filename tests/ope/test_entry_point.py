"""One entry point: evaluate_policies(data, ...) evaluates a DecisionLog in memory and an engine, a Parquet
path, a DuckDB relation or a pandas long frame where it lives, with the same numbers; old names keep working
with a DeprecationWarning."""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest

from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.logs import read_decision_log, write_partitioned_log
from recsys_causal.ope import IPS, SNIPS, RewardModel, evaluate_policies, policies
from recsys_causal.scale import DuckDBEngine, Softmax, TopK, evaluate_policies_sql
from recsys_causal.simulate import simulate_decision_log

POLICIES = {"top": TopK("pred_new"), "soft": Softmax("pred_bold", temperature=0.5)}


@pytest.fixture(scope="module")
def frame():
    f = simulate_decision_log(n_requests=2000, n_candidates=5, slate_size=1, epsilon=0.3, seed=9).log.to_long_frame()
    f["pred_q"] = 1 / (1 + np.exp(-f["pred_new"].to_numpy()))
    return f


@pytest.fixture(scope="module")
def path(frame, tmp_path_factory):
    return write_partitioned_log(frame, tmp_path_factory.mktemp("entry") / "log")


@pytest.fixture(scope="module")
def local(path):
    log = read_decision_log(path).log
    return evaluate_policies(log, POLICIES, estimators=["IPS", "SNIPS", "DR"], reward_model="pred_q",
                             cluster_col="user_id")


def _same(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa["name"]) == list(fb["name"]) and len(fa) == 2 * (1 + 3 * 3)
    for col in ("value", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(fb[col].to_numpy(float), fa[col].to_numpy(float), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("kind", ["engine", "path", "relation", "frame"])
def test_every_data_form_gives_the_in_memory_numbers(kind, frame, path, local):
    data = {"engine": lambda: DuckDBEngine.from_parquet(path), "path": lambda: path,
            "relation": lambda: duckdb.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet', "
                                           "hive_partitioning = true)"),
            "frame": lambda: frame}[kind]()
    got = evaluate_policies(data, POLICIES, estimators=[IPS(), "SNIPS", {"name": "DR"}], reward_model="pred_q",
                            cluster_col="user_id")
    _same(local, got)


def test_relation_of_another_connection_runs_through_the_relation_or_its_connection(path, local):
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)")
    kw = {"estimators": ["IPS", "SNIPS", "DR"], "reward_model": "pred_q", "cluster_col": "user_id"}
    _same(local, evaluate_policies(rel, POLICIES, **kw))  # through the relation, on whichever connection made it
    _same(local, evaluate_policies(DuckDBEngine.from_relation(rel, connection=con), POLICIES, **kw))
    with pytest.raises(ConfigError, match="another connection"):
        DuckDBEngine.from_relation(rel, connection=duckdb.connect())


def test_ips_on_the_engine_by_hand(frame, path):
    got = evaluate_policies(path, {"top": TopK("pred_new")}, estimators=["IPS"])
    f = frame.copy()
    best = f[f["eligible"]].sort_values(["request_id", "pred_new", "item_id"], ascending=[True, False, True])
    f["pi"] = f.index.isin(best.groupby("request_id").head(1).index).astype(float)
    logged = f[f["shown"] & (f["position"] == 1) & f["click"].notna()]
    v = logged["pi"] / logged["propensity"] * logged["click"]
    row = got.to_frame().set_index("name").loc["top | click | IPS"]
    assert row["value"] == pytest.approx(v.mean(), rel=1e-10)
    assert row["se"] == pytest.approx(v.std(ddof=1) / np.sqrt(len(v)), rel=1e-10)


def test_deprecated_names_warn_and_agree(path, local):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_sql = evaluate_policies_sql(source=DuckDBEngine.from_parquet(path), policies=POLICIES,
                                        estimators=["IPS", "SNIPS", "DR"], reward_model="pred_q",
                                        cluster_by="user_id")
        log = read_decision_log(path).log
        old_local = evaluate_policies(log=log, policies=POLICIES, estimators=["IPS", "SNIPS", "DR"],
                                      reward_model="pred_q", cluster_by="user_id")
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert any("evaluate_policies_sql() is deprecated" in m for m in messages)
    for old in ("'source'", "'cluster_by'", "'log'"):
        assert any(old in m for m in messages), old
    _same(local, old_sql)
    _same(local, old_local)


def test_sql_policies_on_a_decision_log_equal_their_local_form(path):
    log = read_decision_log(path).log
    a = evaluate_policies(log, {"soft": Softmax("pred_bold", temperature=0.5)}, estimators=["IPS"]).to_frame()
    b = evaluate_policies(log, {"soft": policies.softmax(log, "pred_bold", 1, temperature=0.5)},
                          estimators=["IPS"]).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_engine_refuses_what_needs_the_log_in_memory(path):
    log = read_decision_log(path).log
    with pytest.raises(ConfigError, match="not SQL policies"):
        evaluate_policies(path, {"p": policies.softmax(log, "pred_new", 1)})
    for option in ({"slate": True}, {"bootstrap": 100}, {"reward_model": RewardModel()}):
        with pytest.raises(ConfigError, match="need the log in memory"):
            evaluate_policies(path, POLICIES, **option)
    with pytest.raises(ConfigError, match="single-slot"):
        evaluate_policies(path, POLICIES, estimators=["PI-IPS"])


def test_prediction_columns_per_reward_and_missing_predictions(path):
    log = read_decision_log(path).log
    one = evaluate_policies(log, POLICIES, rewards=["click", "purchase"], estimators=["DR"], reward_model="pred_q")
    per = evaluate_policies(log, POLICIES, rewards=["click", "purchase"], estimators=["DR"],
                            reward_model={"click": "pred_q", "purchase": "pred_q"})
    pd.testing.assert_frame_equal(one.to_frame(), per.to_frame())
    with pytest.raises(ConfigError, match="no prediction column for reward 'purchase'"):
        evaluate_policies(log, POLICIES, rewards=["purchase"], estimators=["DR"], reward_model={"click": "pred_q"})
    q = log.candidates["pred_q"].to_numpy().copy()
    q[0] = np.nan
    log.candidates["pred_q"] = q
    with pytest.raises(DataValidationError, match="'pred_q' is missing or not finite for 1 candidates"):
        evaluate_policies(log, POLICIES, estimators=["DR", SNIPS()], reward_model="pred_q")
