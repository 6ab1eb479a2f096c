"""Evaluate several target policies and rewards in one call: estimates, lifts over the logging policy, support.

>>> from recsys_causal.simulate import simulate_decision_log
>>> from recsys_causal.ope import policies
>>> sim = simulate_decision_log(n_requests=3000, n_candidates=6, slate_size=1, seed=0)
>>> res = evaluate_policies(sim.log, {"new": policies.softmax(sim.log, "pred_new", 1)}, rewards=["click"])
>>> sorted({e.details["estimator"] for e in res.estimates})[:3]
['DM', 'DR', 'IPS']
>>> res.support[("new", "click")].verdict
'supported'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.caveats import (
    AssumptionWarning,
    SupportWarning,
    category_of,
    caveat,
    emits_caveats,
    prefixed,
)
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.frames import as_pandas
from recsys_causal.kernel.moments import Moments
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.cascade_dr import slate_reward_predictions, with_reward_model
from recsys_causal.ope.components import components, logged_actions, slate_components, top_slot_rows
from recsys_causal.ope.estimates import (  # noqa: F401  (re-exported: the final step's former home)
    block_columns,
    estimates_from_moments,
    estimator_columns,
    term_columns,
)
from recsys_causal.ope.estimators import Estimator, resolve_estimators
from recsys_causal.ope.logged_position import (
    logged_position_components,
    resolve_mode,
    top_slot_excluded,
    with_mode_details,
)
from recsys_causal.ope.multi_logger import DEFAULT_VERSION_COLUMN, multi_logger_options, multi_logger_setup
from recsys_causal.ope.policies import TargetPolicy, check_policy
from recsys_causal.ope.reward_model import RewardModel, reward_predictions
from recsys_causal.ope.rewards import check_reward_range
from recsys_causal.ope.slate_checks import slate_ips_disagreement
from recsys_causal.ope.support import SupportReport, SupportThresholds, support_report
from recsys_causal.progress import progress_option, track
from recsys_causal.results import ResultProtocol

DEFAULT_ESTIMATORS = ("DM", "IPS", "SNIPS", "DR", "SNDR")  # registered names (recsys_causal.ope.estimators)
SLATE_ESTIMATORS = ("PI-IPS", "SN-PI-IPS")
EstimatorSpec = Estimator | str | Mapping[str, Any]


@dataclass
class OPEResult(ResultProtocol):
    """Estimates (values and lifts over the logging policy), a support report per policy and reward, and the
    warnings of the run (each also on the estimates it concerns). Renders and serialises through the results
    protocol (:class:`~recsys_causal.results.ResultProtocol`)."""

    estimates: EstimateTable
    support: dict[tuple[str, str], SupportReport]
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def support_frame(self) -> pd.DataFrame:
        return pd.concat([r.to_frame().assign(policy=p, reward=w) for (p, w), r in self.support.items()],
                         ignore_index=True)

    def __repr__(self) -> str:
        lines = ["OPEResult("]
        lines += [f"  {e!r}" for e in self.estimates]
        lines += [f"  support {p} / {w}: {r!r}" for (p, w), r in self.support.items()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n)"

    def _title(self) -> str:
        return "Off-policy evaluation"

    def plot(self, quantity: str = "relative lift"):
        """A matplotlib Figure (shown inline in Jupyter): per reward, every policy's ``quantity`` (``"relative
        lift"``, ``"lift"`` or ``"value"``) by estimator with its interval, each row labelled with its support
        verdict and effective-sample-size ratio."""
        from recsys_causal.plotting import Rows, rows_figure

        def tag(e: Estimate) -> str:
            s = self.support.get((e.details.get("policy"), e.details.get("reward")))
            return f"  [{s.verdict}, ESS {s.ess_ratio:.1%}]" if s is not None else ""

        rewards = dict.fromkeys(e.details.get("reward") for e in self.estimates)
        panels = [[e for e in self.estimates if e.details.get("reward") == r and e.details.get("quantity") == quantity]
                  for r in rewards]
        return rows_figure(*(Rows.of(es, [f"{e.details.get('policy')} · {e.details.get('estimator')}{tag(e)}"
                                          for e in es], title=f"{quantity} of {r}", xlabel=quantity)
                             for r, es in zip(rewards, panels, strict=True)), what=f"{quantity} estimates")

    def _caveats(self) -> list[tuple[type, str]]:
        """The run's warnings, and each policy and reward whose support is not ``supported``."""
        return [(category_of(w), w) for w in self.warnings] + [
            (SupportWarning, r.caveat(f"{p} | {w}")) for (p, w), r in self.support.items() if r.verdict != "supported"]

    def _sections(self) -> list[tuple[str, Any]]:
        return [("estimates", self.estimates), ("Support", self.support_frame())]


@renamed_arguments(log="data", cluster_by="cluster_col")
@emits_caveats
@progress_option
def evaluate_policies(
    data: DecisionLog | Any,
    policies: Mapping[str, Any],
    *,
    rewards: Sequence[str | Mapping[str, float]] = ("click",),
    estimators: Sequence[EstimatorSpec] | None = None,
    mode: str | None = None,
    slate: bool = False,
    position_weights: np.ndarray | None = None,
    reward_model: RewardModel | str | Mapping[str, str] | None = None,
    cluster_col: str | None = None,
    alpha: float = 0.05,
    thresholds: SupportThresholds | None = None,
    support_groups: str | None = None,
    bootstrap: int = 0, seed: int = 0,
    reward_ranges: Mapping[str, tuple[float, float]] | None = None,
    multi_logger: str | None = None, version_col: str = DEFAULT_VERSION_COLUMN,
    version_propensities: Mapping[str, str] | None = None,
    progress: bool | None = None,
) -> OPEResult:
    """Off-policy estimates of each policy's value and its lift over the logging policy, per reward.

    ``data``: a :class:`~recsys_causal.logs.DecisionLog` (evaluated in memory), or where a large log lives — an
    engine, a Parquet file or Hive-partitioned directory, a DuckDB relation, a Spark DataFrame or a pandas frame
    in the long layout — evaluated by the engine (:func:`recsys_causal.scale.ope.evaluate_on_engine`: single
    slot, policies given as SQL policies such as :class:`~recsys_causal.scale.TopK`, which also work on a
    ``DecisionLog``). ``estimators``: instances, registered names (``"DR"``) or ``{"name": "IPS", "clip": 10}``
    (:mod:`recsys_causal.ope.estimators`); default DM, IPS, SNIPS, DR, SNDR (slates: PI-IPS, SN-PI-IPS;
    engines: IPS, SNIPS, plus DR, SNDR with a reward model).
    ``mode``: ``"top_slot"`` (default), ``"logged_position"`` or ``"ranking"`` (``slate=True``, deprecated), see
    :mod:`recsys_causal.ope.logged_position`; rows carry ``details["mode"]`` and ``details["excluded"]``.
    ``multi_logger``, ``version_col``, ``version_propensities``: see :mod:`recsys_causal.ope.multi_logger`.
    A reward is an outcome column or a weighted composite ``{"click": 1, "purchase": 5}`` (missing wherever a
    component is). ``reward_model``: a :class:`RewardModel` (default) or the candidate column of precomputed
    predictions (one for every reward, or a mapping reward → column). ``cluster_col`` (e.g. ``"user_id"``)
    makes intervals cluster-robust; ``bootstrap`` > 0 adds percentile intervals from that many clustered
    resamples (self-normalised estimators renormalised inside). ``reward_ranges`` declares the range of reward
    columns (``{"revenue": (0, 500)}``); binary-looking columns are presumed to lie in [0, 1]; values outside
    raise :class:`~recsys_causal.errors.DataValidationError` (:mod:`recsys_causal.ope.rewards`). For a
    deterministic slate target with logged slate propensities, each slate estimator is compared with standard
    slate IPS and a warning names it when they disagree (:mod:`recsys_causal.ope.slate_checks`). Warnings are on
    the estimates and in ``OPEResult.warnings``, also emitted as ``StatisticalWarning`` (weak support:
    ``SupportWarning``). ``progress``: bars over bootstrap resamples and engine scans (:mod:`recsys_causal.progress`).
    Deprecated names: ``log`` for ``data``, ``cluster_by`` for ``cluster_col``.
    """
    slate = (mode := resolve_mode(mode, slate)) == "ranking"
    if not isinstance(data, DecisionLog):
        return _on_engine(as_pandas(data, relations=False), policies, rewards=rewards, estimators=estimators,
                          reward_model=reward_model, cluster_col=cluster_col, support_groups=support_groups,
                          alpha=alpha, thresholds=thresholds, reward_ranges=reward_ranges,
                          memory_only={"slate": slate, "position_weights": position_weights is not None,
                                       "bootstrap": bootstrap > 0, "logged_position": mode == "logged_position",
                                       "multi_logger": multi_logger is not None})
    ests = resolve_estimators(estimators if estimators is not None else
                              (SLATE_ESTIMATORS if slate else DEFAULT_ESTIMATORS), slate=slate)
    multi = multi_logger_options(multi_logger, mode, version_col, version_propensities)
    return _evaluate_log(data, policies, ests, rewards=rewards, mode=mode, position_weights=position_weights,
                         reward_model=reward_model, cluster_col=cluster_col, alpha=alpha, thresholds=thresholds,
                         support_groups=support_groups, bootstrap=bootstrap, seed=seed, reward_ranges=reward_ranges,
                         multi=multi)


def _evaluate_log(log: DecisionLog, policies: Mapping[str, Any], ests: list[Estimator], *, rewards, mode,
                  position_weights, reward_model, cluster_col, alpha, thresholds, support_groups, bootstrap, seed,
                  reward_ranges, multi=None) -> OPEResult:
    """The in-memory path of :func:`evaluate_policies`: per reward and policy, components → moments →
    estimates, and the support report."""
    clusters_all = log.request_column(cluster_col) if cluster_col else None
    groups_all = log.request_column(support_groups) if support_groups else None
    out: list[Estimate] = []
    run_warnings: list[str] = []
    support: dict[tuple[str, str], SupportReport] = {}
    slate = mode == "ranking"
    slot_rows = top_slot_rows(log) if mode == "top_slot" else None  # the logged actions' rows, found once
    for spec in rewards:
        rname, y = resolve_reward(log, spec, reward_ranges)
        q_hat = None
        if any(e.needs_reward_model for e in ests):
            q_hat = (slate_reward_predictions(log, reward_model, y, rname, seed=seed) if mode != "top_slot"
                     else reward_predictions(log, reward_model, y, rname, seed=seed))
        for pname, pol in policies.items():
            policy = target_policy(log, pname, pol)
            c, logged_v, w_req, p_diag, contrib, extra = _policy_components(log, policy, y, q_hat, rname, mode,
                                                                            position_weights, slot_rows)
            groups = None if groups_all is None else groups_all[c.requests]
            used, more = ests, {}
            if multi is not None:
                rows = extra["rows"] if extra["rows"] is not None else logged_actions(log, y, rname,
                                                                                      slot_rows=slot_rows)[0]
                c, used, versions = multi_logger_setup(log, c, rows, ests, **multi)
                w_req, p_diag, contrib = c.w, c.p_log, c.w * c.y
                groups, more = (versions if groups is None else groups), {"multi_logger": multi["method"]}
            cl = _clusters(clusters_all, c, mode)
            block, warns = _estimates(c, logged_v, used, pname, rname, slate=slate, clusters=cl, alpha=alpha,
                                      bootstrap=bootstrap, seed=seed)
            out += with_mode_details(block, mode, extra["excluded"], more)
            run_warnings += warns
            support[(pname, rname)] = policy_support(
                log, policy, w_req, p_diag, c.requests, thresholds=thresholds, slate=slate, groups=groups,
                contributions=contrib, positions=extra.get("positions"), slate_pi=extra.get("slate_pi"))
    return OPEResult(EstimateTable(out, title="Off-policy evaluation"), support, list(dict.fromkeys(run_warnings)))


def _estimates(c, logged_v, ests, pname, rname, *, slate, clusters, alpha, bootstrap, seed
               ) -> tuple[list[Estimate], list[str]]:
    """The estimates of one policy and reward from its components (moments → estimates, optional bootstrap)
    and the run warnings they raise."""
    terms = [e.terms(c) for e in ests]  # once: shared by the moments and the slate assumption check
    mom = Moments.from_columns(estimator_columns(ests, c, logged_v, terms), clusters=clusters)
    est_warn = estimator_warnings(ests, c, slate=slate, clusters=clusters, alpha=alpha, terms=terms)
    warns = [prefixed(f"{pname} | {rname} | {e.name}: ", w) for e, ws in zip(ests, est_warn, strict=True) for w in ws]
    block = estimates_from_moments(mom, ests, policy=pname, reward=rname, n_excluded=c.n_excluded, alpha=alpha,
                                   estimator_warnings=est_warn)
    if bootstrap:
        block = _bootstrapped(block, ests, c, bootstrap, alpha=alpha, clusters=clusters, seed=seed)
    return block, warns


def target_policy(log: DecisionLog, name: str, policy: Any) -> TargetPolicy:
    """A checked :class:`TargetPolicy` from a target policy, a SQL policy (built on ``log``) or an array of
    probabilities per candidate and position."""
    if isinstance(policy, TargetPolicy):
        out = policy
    elif hasattr(policy, "to_local"):  # a SQL policy (recsys_causal.scale.policies)
        out = policy.to_local(log)
    else:
        out = TargetPolicy(name, np.asarray(policy, dtype=float))
    check_policy(log, out)
    return out


def _on_engine(data: Any, policies: Mapping[str, Any], *, memory_only: Mapping[str, Any], **options: Any
               ) -> OPEResult:
    """The engine path of :func:`evaluate_policies` (single slot, sums computed where the log lives)."""
    from recsys_causal.scale.ope import evaluate_on_engine

    used = [k for k, v in memory_only.items() if v]
    if used or isinstance(options.get("reward_model"), RewardModel):
        raise ConfigError(f"{used or ['a fitted RewardModel']} need the log in memory: an engine evaluates "
                          "single-slot policies with reward-model predictions read from a column",
                          column=(used or ["reward_model"])[0],
                          fix="read the log with read_decision_log and pass the DecisionLog, or drop the option")
    return evaluate_on_engine(data, policies, **options)


def _clusters(clusters_all: np.ndarray | None, c, mode: str) -> np.ndarray | None:
    """Cluster labels of the evaluated entries: ``cluster_col``'s, else (logged-position mode) the request."""
    if clusters_all is not None:
        return clusters_all[c.requests]
    return c.requests if mode == "logged_position" else None


def _policy_components(log, policy, y, q_hat, rname, mode, position_weights, slot_rows=None):
    """The estimators' components of one policy and reward, the logged value per entry, the per-entry
    weights and logged propensities for the support diagnostics, the per-entry contributions ``w · r``, and
    extras: excluded requests by reason, candidate rows (single-slot modes), positions (logged-position)."""
    if mode == "ranking":
        c = slate_components(log, policy.table, y, position_weights=position_weights,
                             deterministic=policy.deterministic, reward_name=rname)
        if q_hat is not None:  # slate estimators with a reward model (cascade-DR)
            c = with_reward_model(c, log, policy.table, q_hat)
        extra = {"excluded": c.excluded, "slate_pi": c.slate_pi}
        return c, c.y @ c.alpha, c.w.mean(axis=1), c.p_shown, (c.w * c.y) @ c.alpha, extra
    if mode == "logged_position":
        c, excluded, rows = logged_position_components(log, policy.table, y, q_hat, rname)
        extra = {"excluded": excluded, "rows": rows, "positions": log.position[rows].astype(np.int64)}
        return c, c.y, c.w, c.p_log, c.w * c.y, extra
    c = components(log, policy.table, y, q_hat, rname, slot_rows=slot_rows)
    extra = {"excluded": top_slot_excluded(log, y, slot_rows), "rows": None}
    return c, c.y, c.w, c.p_log, c.w * c.y, extra


def estimator_warnings(estimators: Sequence[Estimator], c, *, slate: bool, clusters: np.ndarray | None = None,
                       alpha: float = 0.05, terms: Sequence[list] | None = None) -> list[list[str]]:
    """Per estimator: its own caveats on these components and, for slates, the disagreement warning of the
    assumption check against standard slate IPS (:mod:`recsys_causal.ope.slate_checks`; ``terms[i]``: the
    terms of ``estimators[i]`` when already computed)."""
    out = [list(e.warnings(c)) for e in estimators]
    if slate:
        checks = slate_ips_disagreement(c, estimators, clusters=clusters, alpha=alpha, terms=terms)
        for i, check in enumerate(checks):
            if check is not None and check["warning"]:
                out[i].append(caveat(check["warning"], AssumptionWarning))
    return out


def reward_label(spec: str | Mapping[str, float]) -> str:
    """A reward's display name: the column, or ``1·click+5·purchase`` for a composite."""
    return spec if isinstance(spec, str) else "+".join(f"{w:g}·{k}" for k, w in spec.items())


def resolve_reward(log: DecisionLog, spec: str | Mapping[str, float],
                   reward_ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[str, np.ndarray]:
    """The label and per-candidate values of an outcome column or a weighted composite of columns, after
    checking each column against its declared or presumed range (:func:`~recsys_causal.ope.rewards.check_reward_range`)."""
    if isinstance(spec, str):  # one column: read once, checked and returned
        values = log.reward(spec)
        check_reward_range(log, spec, reward_ranges, values=values)
        return reward_label(spec), values
    for column in spec:
        check_reward_range(log, column, reward_ranges)
    return reward_label(spec), log.composite_reward(spec)


def policy_support(log: DecisionLog, policy: TargetPolicy, w: np.ndarray, logged_propensity: np.ndarray,
                   requests: np.ndarray, *, thresholds: SupportThresholds | None = None, slate: bool = False,
                   groups: np.ndarray | None = None, contributions: np.ndarray | None = None,
                   positions: np.ndarray | None = None, slate_pi: np.ndarray | None = None) -> SupportReport:
    """The support report of one policy on the evaluated requests; ``contributions`` (per evaluated request,
    ``w · r``) adds the influential-observation check; ``positions`` (per evaluated impression) adds support per
    logged position; ``slate_pi`` (ranking) the target's mass on slates never logged."""
    filled = policy.table.position_sums(log.offsets)
    outside = float(np.mean(1 - filled[requests].mean(axis=1)))
    return support_report(w, logged_propensity, outside_mass=max(outside, 0.0),
                          unsupported_mass=None if slate else _unsupported(log, policy, requests),
                          thresholds=thresholds, groups=groups, contributions=contributions,
                          request_ids=log.request_ids[requests], positions=positions, slate_pi=slate_pi)


def _unsupported(log: DecisionLog, policy: TargetPolicy, req: np.ndarray) -> np.ndarray | None:
    """Target mass (position 1) on candidates whose logged position-1 probability is 0 or missing; known only
    when every candidate carries its logging probability for position 1 (single-slot logs)."""
    shown, prop = log.shown, log.propensity
    first_unshown = int(np.argmin(shown)) if shown.size else 0
    if not shown.size or shown[first_unshown] or not np.isfinite(prop[first_unshown]):  # every candidate shown; or ranking logs
        return None
    if not (np.isfinite(prop) | shown).all():  # some unshown candidate without its probability
        return None
    zero = (prop <= 0) | ~np.isfinite(prop)
    return policy.table.weighted_sums(log.offsets, zero, 1)[:, 0][req]


def bootstrap_interval(est: Estimator, c, n_boot: int, *, alpha: float = 0.05, clusters=None, seed: int = 0,
                       chunk: int = 200) -> tuple[float, float]:
    """Percentile interval from Poisson(1) resampling weights on requests (or whole clusters), vectorised in
    chunks of resamples; self-normalised estimators are renormalised inside each resample."""
    rng = np.random.default_rng(seed)
    codes = pd.factorize(clusters)[0] if clusters is not None else np.arange(c.requests.size)
    values = []
    for start in track(range(0, n_boot, chunk), desc=f"bootstrap {est.name}", unit="chunk"):
        b = min(chunk, n_boot - start)
        weights = rng.poisson(1.0, size=(b, codes.max() + 1))[:, codes].astype(float)
        values.append(est.resampled(c, weights))
    return tuple(np.quantile(np.concatenate(values), [alpha / 2, 1 - alpha / 2]).tolist())


def _bootstrapped(block: list[Estimate], ests, c, n_boot: int, *, alpha: float, clusters, seed: int
                  ) -> list[Estimate]:
    """The block with percentile intervals on its value rows (they follow the logging row, one per estimator
    in order)."""
    block = list(block)
    value_rows = [j for j, e in enumerate(block) if j and e.details["quantity"] == "value"]
    for est, at in zip(ests, value_rows, strict=True):
        lo, hi = bootstrap_interval(est, c, n_boot, alpha=alpha, clusters=clusters, seed=seed)
        block[at] = _with_bootstrap(block[at], lo, hi)
    return block


def _with_bootstrap(e: Estimate, lo: float, hi: float) -> Estimate:
    from dataclasses import replace

    return replace(e, details={**e.details, "bootstrap_ci_low": lo, "bootstrap_ci_high": hi})


