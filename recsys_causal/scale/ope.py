"""Off-policy evaluation where the log lives: DuckDB over partitioned Parquet, or Spark.

Two queries do the work next to the data:

1. **Candidates → requests** (one streaming pass with window functions): per request the logged action's
   propensity, reward and reward-model prediction, and per target policy its probability of the logged action,
   ``dm = Σ_i π(i) q̂(i)``, the filled and the unsupported target mass. Kept in the engine (a DuckDB temp table
   spilled to disk beyond the memory limit, or a cached Spark DataFrame).
2. **Requests → sums** per policy and reward: the count, sums and cross-products of every estimator's ratio
   terms, the importance-weight statistics (sums, maximum, exact quantiles) and, when asked, the same sums per
   cluster or per support group.

Python receives only those sums. The estimates, intervals, lifts and support verdicts are computed from them
by :func:`recsys_causal.ope.evaluate.estimates_from_moments` and
:func:`recsys_causal.ope.support.support_from_stats` — the same code as the in-memory
:func:`~recsys_causal.ope.evaluate_policies`, whose results these equal to floating-point accuracy.

>>> from recsys_causal.simulate import simulate_decision_log
>>> from recsys_causal.ope import evaluate_policies
>>> from recsys_causal.scale import DuckDBEngine, TopK
>>> frame = simulate_decision_log(n_requests=500, n_candidates=5, slate_size=1, seed=0).log.to_long_frame()
>>> res = evaluate_policies(DuckDBEngine.from_frame(frame), {"new": TopK("pred_new")}, rewards=["click"])
>>> sorted({e.details["estimator"] for e in res.estimates})
['IPS', 'SNIPS', 'on-policy']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError, DataValidationError, SchemaError
from recsys_causal.estimate import EstimateTable
from recsys_causal.kernel.moments import Moments
from recsys_causal.ope.estimators import Estimator, resolve_estimators
from recsys_causal.ope.evaluate import OPEResult, estimates_from_moments, reward_label, term_columns
from recsys_causal.ope.rewards import BINARY_SHARE, range_error
from recsys_causal.ope.support import SupportThresholds, WeightStats, support_from_stats
from recsys_causal.progress import track
from recsys_causal.scale.engines import Engine, as_engine
from recsys_causal.scale.engines import count_value as _count
from recsys_causal.scale.policies import ONE, ZERO, SQLPolicy

QUANTILES = (0.5, 0.9, 0.99)
LOGGED = "shown AND position = 1"
DEFAULT_ESTIMATORS = ("IPS", "SNIPS")  # plus DEFAULT_MODEL_ESTIMATORS when a reward model is given
DEFAULT_MODEL_ESTIMATORS = ("DR", "SNDR")


@renamed_arguments(source="data", cluster_by="cluster_col")
def evaluate_policies_sql(data: Engine | Any, policies: Mapping[str, SQLPolicy], **options: Any) -> OPEResult:
    """Deprecated: call :func:`~recsys_causal.ope.evaluate_policies`, which dispatches an engine, a Parquet
    path or a Spark DataFrame to :func:`evaluate_on_engine` (same arguments and results)."""
    warnings.warn("evaluate_policies_sql() is deprecated and will be removed in the next minor release; call "
                  "evaluate_policies(data, ...) with the engine, Parquet path or Spark DataFrame",
                  DeprecationWarning, stacklevel=3)
    from recsys_causal.ope.evaluate import evaluate_policies

    return evaluate_policies(as_engine(data), policies, **options)


def evaluate_on_engine(
    data: Engine | Any,
    policies: Mapping[str, SQLPolicy],
    *,
    rewards: Sequence[str | Mapping[str, float]] = ("click",),
    estimators: Sequence[Estimator | str] | None = None,
    reward_model: str | Mapping[str, str] | None = None,
    cluster_col: str | None = None,
    support_groups: str | None = None,
    alpha: float = 0.05,
    thresholds: SupportThresholds | None = None,
    reward_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> OPEResult:
    """Single-slot off-policy estimates of each policy (value, lift and relative lift over the logging policy)
    and support reports, computed by the engine holding the log (reached through
    :func:`~recsys_causal.ope.evaluate_policies`).

    ``data``: an :class:`~recsys_causal.scale.engines.Engine`, a Parquet file or Hive-partitioned directory
    (DuckDB), a DuckDB relation or a Spark DataFrame. ``estimators``: instances or registered names
    (:mod:`recsys_causal.ope.estimators`). ``reward_model``: the candidate column holding reward-model
    predictions ``q̂`` (one for all rewards, or one per reward); needed by DM/DR/SNDR. Default estimators: IPS
    and SNIPS, plus DR and SNDR when a reward model is given. ``cluster_col`` (a request column such as
    ``user_id``) makes intervals cluster-robust and brings back one row of sums per cluster. ``reward_ranges``:
    as in :func:`~recsys_causal.ope.evaluate_policies` (binary-looking columns are presumed to lie in [0, 1]).
    """
    engine = as_engine(data)
    ests = resolve_estimators(estimators if estimators is not None else
                              DEFAULT_ESTIMATORS + (DEFAULT_MODEL_ESTIMATORS if reward_model else ()), slate=False)
    _check_policies(policies)
    reward_specs = {reward_label(r): ({r: 1.0} if isinstance(r, str) else dict(r)) for r in rewards}
    q_cols = _reward_model_columns(reward_model, list(reward_specs), ests)
    needed = {"request_id", "item_id", "shown", "position", "propensity",
              *(c for p in policies.values() for c in p.inputs()), *q_cols.values(),
              *(c for spec in reward_specs.values() for c in spec)}
    engine.require(sorted(needed | {c for c in (cluster_col, support_groups) if c}))
    _check_reward_ranges(engine, sorted({c for spec in reward_specs.values() for c in spec}), reward_ranges or {})
    pol_index = {name: f"p{j}" for j, name in enumerate(policies)}
    q_alias = {col: f"q{i}" for i, col in enumerate(dict.fromkeys(q_cols.values()))}
    req_table = engine.materialize(_requests_sql(engine, policies, pol_index, reward_specs, q_alias, cluster_col,
                                                 support_groups), prefix="ope_requests")
    try:
        n_requests, known_unsupported = _check_requests(engine, req_table, policies, pol_index, q_alias)
        out, support = [], {}
        for r_i, rname in track(list(enumerate(reward_specs)), desc="engine scans (per reward)", unit="reward"):
            q = q_alias[q_cols[rname]] if rname in q_cols else None
            for pname, p in pol_index.items():
                mom, st, extra, by_group = _policy_sums(engine, req_table, ests, p, r_i, q,
                                                        cluster_col is not None, support_groups is not None)
                out += estimates_from_moments(mom, ests, policy=pname, reward=rname,
                                              n_excluded=n_requests - mom.n, alpha=alpha)
                support[(pname, rname)] = support_from_stats(
                    st, outside_mass=max(extra["outside"], 0.0),
                    unsupported=(extra["unsupported"], extra["unsupported_share"]) if known_unsupported else None,
                    thresholds=thresholds, by_group=by_group, contributions=(extra["contribution_share"], None))
    finally:
        engine.drop(req_table)
    return OPEResult(EstimateTable(out, title="Off-policy evaluation"), support)


def _check_policies(policies: Mapping[str, Any]) -> None:
    if not policies:
        raise SchemaError("no target policies given", fix="pass e.g. {'new': TopK('pred_new')}")
    local = [name for name, p in policies.items() if not isinstance(p, SQLPolicy)]
    if local:
        raise ConfigError(f"policies {local} are not SQL policies: an engine evaluates policies it can render as "
                          "SQL", column="policies",
                          fix="describe them with recsys_causal.scale (TopK, Softmax, EpsilonGreedy, "
                              "ProbabilityColumn), or read the log into a DecisionLog first")


def _check_reward_ranges(engine: Engine, columns: list[str], declared: Mapping[str, tuple[float, float]]) -> None:
    """Observed values of each reward column on shown rows against its declared or presumed range
    (:mod:`recsys_causal.ope.rewards`)."""
    parts, cond = [], {}
    for i, c in enumerate(columns):
        v, (lo, hi) = _num(engine.quote(c)), declared.get(c, (0.0, 1.0))
        cond[c] = " OR ".join([f"{v} {op} {engine.number(x)}" for op, x in (("<", lo), (">", hi))
                               if np.isfinite(x)]) or "FALSE"
        parts += [f"COUNT({v}) AS n{i}", f"SUM(CASE WHEN {v} = 0 OR {v} = 1 THEN 1 ELSE 0 END) AS b{i}",
                  f"SUM(CASE WHEN {cond[c]} THEN 1 ELSE 0 END) AS o{i}", f"MAX(ABS({v})) AS m{i}"]
    row = engine.query(f"SELECT {', '.join(parts)} FROM {engine.table} WHERE CAST(shown AS BOOLEAN)").iloc[0]
    for i, c in enumerate(columns):
        n, n_out = _count(row[f"n{i}"]), _count(row[f"o{i}"])
        kind = "declared" if c in declared else ("presumed binary" if n and _count(row[f"b{i}"]) >= BINARY_SHARE * n
                                                 else None)
        if kind and n_out:
            bad = engine.query(f"SELECT request_id, {_num(engine.quote(c))} AS v FROM {engine.table} WHERE "
                               f"CAST(shown AS BOOLEAN) AND ({cond[c]}) ORDER BY request_id LIMIT 5")
            raise range_error(engine.source, c, n_out, bad["request_id"].tolist(), declared.get(c, (0.0, 1.0)),
                              kind, float(bad["v"].abs().max()), float(row[f"m{i}"]))


def _reward_model_columns(reward_model, rewards: list[str], ests: Sequence[Estimator]) -> dict[str, str]:
    """The prediction column of each reward (none without a reward model, which only IPS-type estimators allow)."""
    if reward_model is None:
        if any(e.needs_reward_model for e in ests):
            raise SchemaError(f"estimators {[e.name for e in ests if e.needs_reward_model]} need reward-model "
                              "predictions", column="reward_model",
                              fix="pass reward_model='<column of predictions q̂ per candidate>' or use IPS/SNIPS only")
        return {}
    if isinstance(reward_model, str):
        return dict.fromkeys(rewards, reward_model)
    missing = [r for r in rewards if r not in reward_model]
    if missing:
        raise SchemaError(f"reward_model has no prediction column for rewards {missing}", column="reward_model",
                          fix="map every reward to its prediction column, or pass one column for all")
    return {r: reward_model[r] for r in rewards}


def _num(col: str) -> str:
    """A numeric column (a quoted identifier) with NaN read as NULL (files written by other tools may hold
    either)."""
    x = f"CAST({col} AS DOUBLE)"
    return f"CASE WHEN isnan({x}) THEN NULL ELSE {x} END"


def _requests_sql(engine: Engine, policies: Mapping[str, SQLPolicy], pol_index: dict[str, str],
                  rewards: dict[str, dict[str, float]], q_alias: dict[str, str], cluster_col: str | None,
                  groups: str | None) -> str:
    elig = "COALESCE(CAST(eligible AS BOOLEAN), TRUE)" if "eligible" in engine.columns else "TRUE"
    base = ["request_id", "CAST(item_id AS STRING) AS item_id", "CAST(shown AS BOOLEAN) AS shown",
            f"{_num('position')} AS position", f"{_num('propensity')} AS propensity", f"{elig} AS elig"]
    ident = engine.quote
    for name, p in pol_index.items():
        col = policies[name].inputs()[0]
        base.append(f"{_num(ident(col))} AS in_{p}")
    for i, spec in enumerate(rewards.values()):
        base.append(" + ".join(f"{engine.number(w)} * {_num(ident(c))}" for c, w in spec.items()) + f" AS y{i}")
    for col, alias in q_alias.items():
        base.append(f"{_num(ident(col))} AS {alias}")
    base.append(f"{ident(cluster_col)} AS cluster_key" if cluster_col else "NULL AS cluster_key")
    base.append(f"{ident(groups)} AS group_key" if groups else "NULL AS group_key")
    stages: list[dict[str, str]] = [{}, {}, {}]
    for name, p in pol_index.items():
        for k, part in enumerate(policies[name].stages(p, f"in_{p}")):
            stages[k].update(part)

    def select(frm: str, exprs: dict[str, str]) -> str:
        extra = "".join(f", {sql} AS {alias}" for alias, sql in exprs.items())
        return f"SELECT *{extra} FROM {frm}"

    agg = ["request_id", "MIN(cluster_key) AS cluster_key", "MIN(group_key) AS group_key",
           f"SUM(CASE WHEN {LOGGED} THEN 1 ELSE 0 END) AS n_logged",
           f"MAX(CASE WHEN {LOGGED} THEN propensity END) AS p_log",
           "SUM(CASE WHEN NOT shown THEN 1 ELSE 0 END) AS n_unshown",
           "SUM(CASE WHEN NOT shown AND propensity IS NULL THEN 1 ELSE 0 END) AS n_unshown_no_propensity"]
    for i in range(len(rewards)):
        agg.append(f"MAX(CASE WHEN {LOGGED} THEN y{i} END) AS y{i}")
    for q in q_alias.values():
        agg.append(f"MAX(CASE WHEN {LOGGED} THEN {q} END) AS {q}_logged")
        agg.append(f"SUM(CASE WHEN {q} IS NULL THEN 1 ELSE 0 END) AS {q}_missing")
    for p in pol_index.values():
        agg += [f"MAX(CASE WHEN {LOGGED} THEN pi_{p} END) AS pi_{p}_logged",
                f"SUM(pi_{p}) AS filled_{p}",
                f"SUM(CASE WHEN propensity IS NULL OR propensity <= 0 THEN pi_{p} ELSE {ZERO} END) AS unsupported_{p}",
                f"SUM(CASE WHEN pi_{p} IS NULL OR pi_{p} < 0 THEN 1 ELSE 0 END) AS bad_pi_{p}",
                f"SUM(CASE WHEN elig AND in_{p} IS NULL THEN 1 ELSE 0 END) AS missing_in_{p}"]
        for q in q_alias.values():
            agg.append(f"SUM(pi_{p} * {q}) AS dm_{p}_{q}")
    rows = f"(SELECT {', '.join(base)} FROM {engine.table}) s0"
    cand = select(f"({select(f'({select(rows, stages[0])}) s1', stages[1])}) s2", stages[2])
    return f"SELECT {', '.join(agg)} FROM ({cand}) s3 GROUP BY request_id"


def _check_requests(engine: Engine, table: str, policies, pol_index, q_alias) -> tuple[int, bool]:
    """Raise on requests the estimators cannot use; return the number of requests and whether unsupported
    mass is known (there are unshown candidates and all carry a logging propensity)."""
    checks = ["COUNT(*) AS n_requests", "SUM(CASE WHEN n_logged > 1 THEN 1 ELSE 0 END) AS multi_logged",
              "SUM(n_unshown) AS n_unshown", "SUM(n_unshown_no_propensity) AS n_unshown_no_propensity",
              "SUM(CASE WHEN n_logged = 1 AND (p_log IS NULL OR p_log <= 0 OR p_log > 1) THEN 1 ELSE 0 END) "
              "AS bad_propensity"]
    for p in pol_index.values():
        checks += [f"SUM(bad_pi_{p}) AS bad_pi_{p}", f"SUM(missing_in_{p}) AS missing_in_{p}",
                   f"SUM(CASE WHEN filled_{p} > 1 + 1e-9 THEN 1 ELSE 0 END) AS over_{p}"]
    for q in q_alias.values():
        checks.append(f"SUM({q}_missing) AS {q}_missing")
    row = engine.query(f"SELECT {', '.join(checks)} FROM {table}").iloc[0]

    def examples(where: str) -> list:
        return engine.query(f"SELECT request_id FROM {table} WHERE {where} ORDER BY request_id LIMIT 5")[
            "request_id"].tolist()

    src = engine.source
    if _count(row["multi_logged"]):
        raise DataValidationError(f"{_count(row['multi_logged'])} requests have more than one shown item at "
                                  "position 1", source=src, column="position", count=_count(row["multi_logged"]),
                                  examples=examples("n_logged > 1"),
                                  fix="read and validate the log (duplicate positions are quarantined) or fix "
                                      "the logging")
    if _count(row["bad_propensity"]):
        raise DataValidationError(
            f"{_count(row['bad_propensity'])} shown items at position 1 have a missing or invalid logging propensity",
            source=src, column="propensity", count=_count(row["bad_propensity"]),
            examples=examples("n_logged = 1 AND (p_log IS NULL OR p_log <= 0 OR p_log > 1)"),
            fix="filter those requests out (read_decision_log quarantines them) or fix the logging")
    for name, p in pol_index.items():
        col = policies[name].inputs()[0]
        if _count(row[f"missing_in_{p}"]):
            raise SchemaError(f"column {col!r} of policy {name!r} is missing for {_count(row[f'missing_in_{p}'])} "
                              "eligible candidates", source=src, column=col,
                              count=_count(row[f"missing_in_{p}"]), examples=examples(f"missing_in_{p} > 0"),
                              fix="log a score / probability for every eligible candidate")
        for key, what in ((f"bad_pi_{p}", "negative or missing probabilities"),
                          (f"over_{p}", "more than probability 1 at position 1")):
            if _count(row[key]):
                where = f"{key} > 0" if key.startswith("bad") else f"filled_{p} > 1 + 1e-9"
                raise SchemaError(f"policy {name!r} has {what} in {_count(row[key])} requests", source=src,
                                  column=col, count=_count(row[key]), examples=examples(where),
                                  fix="probabilities must be in [0, 1] and sum to at most 1 per request")
    for col, q in q_alias.items():
        if _count(row[f"{q}_missing"]):
            raise SchemaError(f"reward-model column {col!r} is missing for {_count(row[f'{q}_missing'])} candidates",
                              source=src, column=col, count=_count(row[f"{q}_missing"]),
                              examples=examples(f"{q}_missing > 0"),
                              fix="predict every candidate (0 is a valid prediction), or use IPS/SNIPS only")
    return _count(row["n_requests"]), _count(row["n_unshown"]) > 0 and _count(row["n_unshown_no_propensity"]) == 0


def _policy_sums(engine: Engine, table: str, ests: Sequence[Estimator], p: str, r: int, q: str | None,
                 clustered: bool, grouped: bool):
    """Sums of one policy and reward over the evaluated requests (one shown item at position 1, observed
    reward): moments of the estimators' terms, weight statistics and optional per-cluster / per-group sums."""
    row_cols = ", ".join([
        "cluster_key", "group_key", "p_log", f"y{r} AS y", f"pi_{p}_logged / p_log AS w", f"filled_{p} AS filled",
        f"unsupported_{p} AS unsupported", f"{q}_logged AS q_a" if q else f"{ZERO} AS q_a",
        f"dm_{p}_{q} AS dm" if q else f"{ZERO} AS dm"])
    names, exprs = _term_columns(ests, engine)
    terms = ", ".join(f"{e} AS {n}" for n, e in exprs.items())
    per_req = (f"SELECT cluster_key, group_key, w, p_log, filled, unsupported, {terms} "
               f"FROM (SELECT {row_cols} FROM {table} WHERE n_logged = 1 AND y{r} IS NOT NULL) r")
    sums = [f"SUM({n}) AS s_{n}" for n in names]
    prods = [f"SUM({a} * {b}) AS p_{a}__{b}" for i, a in enumerate(names) for b in names[i:]]
    stats = ["COUNT(*) AS n", "SUM(w) AS sum_w", "SUM(w * w) AS sum_w2", "MAX(w) AS max_w",
             f"{engine.quantiles('w', QUANTILES)} AS q_w", "MIN(p_log) AS min_p", "AVG(1 - filled) AS outside",
             "AVG(unsupported) AS unsupported", "MAX(ABS(w * y)) AS max_wy", "SUM(ABS(w * y)) AS sum_wy",
             f"AVG(CASE WHEN unsupported > 1e-12 THEN {ONE} ELSE {ZERO} END) AS ushare"]
    row = engine.query(f"SELECT {', '.join(stats + sums + prods)} FROM ({per_req}) t").iloc[0]
    n = _count(row["n"])
    if n == 0:
        raise DataValidationError("no request has an observed reward on a shown item at position 1 (immature "
                                  "labels?)", source=engine.source,
                                  fix="analyse requests whose label windows have closed")
    cluster_sums = None
    if clustered:
        cl = engine.query(f"SELECT COUNT(*) AS one, {', '.join(f'SUM({x}) AS {x}' for x in names)} FROM "
                          f"({per_req}) t GROUP BY cluster_key")
        cluster_sums = cl[["one", *names]].to_numpy(dtype=float)
    mom = Moments.from_sums(names, n, {x: row[f"s_{x}"] for x in names},
                            {(a, b): row[f"p_{a}__{b}"] for i, a in enumerate(names) for b in names[i:]},
                            cluster_sums=cluster_sums)
    st = WeightStats(n, float(row["sum_w"]), float(row["sum_w2"]), float(row["max_w"]),
                     tuple(float(v) for v in row["q_w"]), float(row["min_p"]))
    by_group = None
    if grouped:
        by_group = engine.query(f"SELECT group_key, COUNT(*) AS n, SUM(w) AS sum_w, SUM(w * w) AS sum_w2, "
                                f"MAX(w) AS max_w FROM ({per_req}) t GROUP BY group_key ORDER BY group_key")
        by_group = by_group.rename(columns={"group_key": "group"})
    extra = {"outside": float(row["outside"]), "unsupported": float(row["unsupported"]),
             "unsupported_share": float(row["ushare"]),
             "contribution_share": float(row["max_wy"]) / float(row["sum_wy"]) if float(row["sum_wy"]) > 0 else 0.0}
    return mom, st, extra, by_group


def _term_columns(ests: Sequence[Estimator], engine: Engine) -> tuple[list[str], dict[str, str]]:
    exprs = {"y": "y"}
    for i, est in enumerate(ests):
        for k, (a, b) in enumerate(est.sql_terms(engine)):
            name_a, name_b = term_columns(i, k)
            exprs[name_a], exprs[name_b] = a, b
    return list(exprs), exprs
