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

import numpy as np
import pandas as pd

from recsys_causal.errors import EstimationError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.logs.model import DecisionLog
from recsys_causal.moments import Moments
from recsys_causal.ope.policies import TargetPolicy, check_policy
from recsys_causal.ope.reward_model import RewardModel
from recsys_causal.ope.rewards import check_reward_range
from recsys_causal.ope.single_slot import DM, DR, IPS, SNDR, SNIPS, SlotEstimator, components
from recsys_causal.ope.slate import PositionIPS, SNPositionIPS, slate_components
from recsys_causal.ope.slate_checks import slate_ips_disagreement
from recsys_causal.ope.support import SupportReport, SupportThresholds, support_report

DEFAULT_ESTIMATORS = (DM(), IPS(), SNIPS(), DR(), SNDR())
SLATE_ESTIMATORS = (PositionIPS(), SNPositionIPS())


@dataclass
class OPEResult:
    """Estimates (values and lifts over the logging policy), a support report per policy and reward, and the
    warnings of the run (each also on the estimates it concerns)."""

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

    def _repr_html_(self) -> str:
        import html

        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (self.estimates._repr_html_() + "<p>Support</p>"
                + self.support_frame().to_html(index=False, escape=True)
                + (f"<p>Warnings</p><ul>{warn}</ul>" if warn else ""))


def evaluate_policies(
    log: DecisionLog,
    policies: Mapping[str, TargetPolicy | np.ndarray],
    *,
    rewards: Sequence[str | Mapping[str, float]] = ("click",),
    estimators: Sequence[SlotEstimator] | None = None,
    slate: bool = False,
    position_weights: np.ndarray | None = None,
    reward_model: RewardModel | str | None = None,
    cluster_by: str | None = None,
    alpha: float = 0.05,
    thresholds: SupportThresholds | None = None,
    support_groups: str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    reward_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> OPEResult:
    """Off-policy estimates of each policy's value and its lift over the logging policy, per reward.

    Single-slot (default) evaluates position 1; ``slate=True`` evaluates slates with position-level rewards.
    A reward is an outcome column or a weighted composite ``{"click": 1, "purchase": 5}`` (missing wherever a
    component is). ``reward_model``: a :class:`RewardModel` (default) or the name of a precomputed prediction
    column. ``cluster_by`` (e.g. ``"user_id"``) makes intervals cluster-robust; ``bootstrap`` > 0 adds
    percentile intervals from that many clustered resamples (self-normalised estimators renormalised inside).
    ``reward_ranges`` declares the range of reward columns (``{"revenue": (0, 500)}``); binary-looking columns
    are presumed to lie in [0, 1]; values outside raise :class:`~recsys_causal.errors.DataValidationError`
    (:mod:`recsys_causal.ope.rewards`). For a deterministic slate target with logged slate propensities, each
    slate estimator is compared with standard slate IPS and a warning names it when they disagree
    (:mod:`recsys_causal.ope.slate_checks`). Warnings are on the estimates and in ``OPEResult.warnings``.
    """
    out: list[Estimate] = []
    run_warnings: list[str] = []
    support: dict[tuple[str, str], SupportReport] = {}
    ests = list(estimators) if estimators is not None else list(SLATE_ESTIMATORS if slate else DEFAULT_ESTIMATORS)
    clusters_all = log.request_column(cluster_by) if cluster_by else None
    groups_all = log.request_column(support_groups) if support_groups else None
    for spec in rewards:
        rname, y = resolve_reward(log, spec, reward_ranges)
        q_hat = None
        if not slate and any(e.needs_reward_model for e in ests):
            q_hat = log.column(reward_model) if isinstance(reward_model, str) else \
                (reward_model or RewardModel(seed=seed)).predict(log, y)
        for pname, pol in policies.items():
            policy = pol if isinstance(pol, TargetPolicy) else TargetPolicy(pname, np.asarray(pol, dtype=float))
            check_policy(log, policy)
            c, logged_v, w_req, p_diag, contrib = _policy_components(log, policy, y, q_hat, rname, slate,
                                                                     position_weights)
            req = c.requests
            cl = None if clusters_all is None else clusters_all[req]
            mom = Moments.from_columns(estimator_columns(ests, c, logged_v), clusters=cl)
            est_warn = estimator_warnings(ests, c, slate=slate, clusters=cl, alpha=alpha)
            run_warnings += [f"{pname} | {rname} | {e.name}: {w}" for e, ws in zip(ests, est_warn, strict=True)
                             for w in ws]
            block = estimates_from_moments(mom, ests, policy=pname, reward=rname, n_excluded=c.n_excluded,
                                           alpha=alpha, estimator_warnings=est_warn)
            if bootstrap:
                block = _bootstrapped(block, ests, c, bootstrap, alpha=alpha, clusters=cl, seed=seed)
            out.extend(block)
            support[(pname, rname)] = policy_support(
                log, policy, w_req, p_diag, req, thresholds=thresholds, slate=slate,
                groups=None if groups_all is None else groups_all[req], contributions=contrib)
    return OPEResult(EstimateTable(out, title="Off-policy evaluation"), support, list(dict.fromkeys(run_warnings)))


def _policy_components(log, policy, y, q_hat, rname, slate, position_weights):
    """The estimators' components of one policy and reward, the logged value per request, the per-request
    weights and logged propensities for the support diagnostics, and the per-request contributions ``w · r``."""
    if slate:
        c = slate_components(log, policy.probs, y, position_weights=position_weights,
                             deterministic=policy.deterministic, reward_name=rname)
        p_diag = log.propensity[log.shown & (log.position <= policy.slate_size)]
        return c, c.y @ c.alpha, c.w.mean(axis=1), p_diag, (c.w * c.y) @ c.alpha
    c = components(log, policy.probs, y, q_hat, rname)
    return c, c.y, c.w, c.p_log, c.w * c.y


def estimator_warnings(estimators: Sequence[SlotEstimator], c, *, slate: bool, clusters: np.ndarray | None = None,
                       alpha: float = 0.05) -> list[list[str]]:
    """Per estimator: its own caveats on these components and, for slates, the disagreement warning of the
    assumption check against standard slate IPS (:mod:`recsys_causal.ope.slate_checks`)."""
    out = [list(e.warnings(c)) for e in estimators]
    if slate:
        for i, check in enumerate(slate_ips_disagreement(c, estimators, clusters=clusters, alpha=alpha)):
            if check is not None and check["warning"]:
                out[i].append(check["warning"])
    return out


def estimator_columns(estimators: Sequence[SlotEstimator], c, logged_value: np.ndarray) -> dict[str, np.ndarray]:
    """Per-request columns whose moments determine every estimate: the logged reward ``y`` and, for estimator
    ``i`` and ratio term ``k``, its numerator ``e{i}a{k}`` and denominator ``e{i}b{k}``."""
    cols = {"y": np.asarray(logged_value, dtype=float)}
    for i, est in enumerate(estimators):
        for k, (a, b) in enumerate(est.terms(c)):
            name_a, name_b = term_columns(i, k)
            cols[name_a] = np.asarray(a, dtype=float)
            cols[name_b] = np.broadcast_to(np.asarray(b, dtype=float), cols[name_a].shape)
    return cols


def term_columns(i: int, k: int) -> tuple[str, str]:
    """Names of the numerator and denominator columns of ratio term ``k`` of estimator ``i``."""
    return f"e{i}a{k}", f"e{i}b{k}"


def estimates_from_moments(mom: Moments, estimators: Sequence[SlotEstimator], *, policy: str, reward: str,
                           n_excluded: int = 0, alpha: float = 0.05, warnings: Sequence[str] = (),
                           estimator_warnings: Sequence[Sequence[str]] | None = None) -> list[Estimate]:
    """The logging-policy value, then per estimator its value, lift and relative lift over the logging policy,
    from the moments of :func:`estimator_columns` — the final step of the local, DuckDB and Spark paths.

    An estimator ``Σ_k Σ a_k / Σ b_k`` has influence value ``Σ_k (a_k − v_k b_k) / mean(b_k)``, a linear
    combination of the columns, so its standard error is :meth:`Moments.linear_se` of those coefficients.
    ``estimator_warnings`` (one sequence per estimator) are added to that estimator's rows.
    """
    n_units = mom.n_clusters or mom.n
    warn = tuple(warnings) + ((f"{n_excluded} requests without an observed reward at the evaluated positions were "
                               "left out",) if n_excluded else ())
    details = {"policy": policy, "reward": reward, "excluded_requests": n_excluded}
    base_value = mom.mean("y")
    base = mom.coefficients({"y": 1.0})

    def estimate(name, value, coef, method, extra, null=None, more=()):
        return Estimate.from_normal(name=name, value=float(value), se=mom.linear_se(coef), n=n_units,
                                    method=method, alpha=alpha, null=null, warnings=warn + tuple(more),
                                    details={**details, **extra})

    out = [estimate(f"logging | {reward}", base_value, base, "on-policy mean",
                    {"policy": "logging", "estimator": "on-policy", "quantity": "value"})]
    for i, est in enumerate(estimators):
        value, coef = 0.0, np.zeros(len(mom.names))
        k = 0
        while (names := term_columns(i, k))[0] in mom.names:
            sa, sb = mom.sum(names[0]), mom.sum(names[1])
            mb = sb / mom.sums[0]
            if mb <= 0:
                raise EstimationError("the importance weights sum to 0: the target policy never takes a logged "
                                      "action", fix="check support: the logs cannot evaluate this policy")
            v = sa / sb
            value += v
            coef += mom.coefficients({names[0]: 1 / mb, names[1]: -v / mb})
            k += 1
        d = {"estimator": est.name}
        more = tuple(estimator_warnings[i]) if estimator_warnings is not None else ()
        out.append(estimate(f"{policy} | {reward} | {est.name}", value, coef, est.name, {**d, "quantity": "value"},
                            more=more))
        out.append(estimate(f"{policy} − logging | {reward} | {est.name}", value - base_value, coef - base,
                            f"{est.name}, paired", {**d, "quantity": "lift"}, null=0.0, more=more))
        if base_value != 0:
            out.append(estimate(f"{policy} / logging − 1 | {reward} | {est.name}", value / base_value - 1,
                                coef / base_value - value * base / base_value**2, f"{est.name}, delta method",
                                {**d, "quantity": "relative lift"}, null=0.0, more=more))
    return out


def reward_label(spec: str | Mapping[str, float]) -> str:
    """A reward's display name: the column, or ``1·click+5·purchase`` for a composite."""
    return spec if isinstance(spec, str) else "+".join(f"{w:g}·{k}" for k, w in spec.items())


def resolve_reward(log: DecisionLog, spec: str | Mapping[str, float],
                   reward_ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[str, np.ndarray]:
    """The label and per-candidate values of an outcome column or a weighted composite of columns, after
    checking each column against its declared or presumed range (:func:`~recsys_causal.ope.rewards.check_reward_range`)."""
    for column in ([spec] if isinstance(spec, str) else list(spec)):
        check_reward_range(log, column, reward_ranges)
    return reward_label(spec), log.reward(spec) if isinstance(spec, str) else log.composite_reward(spec)


def policy_support(log: DecisionLog, policy: TargetPolicy, w: np.ndarray, logged_propensity: np.ndarray,
                   requests: np.ndarray, *, thresholds: SupportThresholds | None = None, slate: bool = False,
                   groups: np.ndarray | None = None, contributions: np.ndarray | None = None) -> SupportReport:
    """The support report of one policy on the evaluated requests; ``contributions`` (per evaluated request,
    ``w · r``) adds the influential-observation check."""
    filled = np.stack([log.per_request_sum(policy.probs[:, k]) for k in range(policy.slate_size)], axis=1)
    outside = float(np.mean(1 - filled[requests].mean(axis=1)))
    return support_report(w, logged_propensity, outside_mass=max(outside, 0.0),
                          unsupported_mass=None if slate else _unsupported(log, policy, requests),
                          thresholds=thresholds, groups=groups, contributions=contributions,
                          request_ids=log.request_ids[requests])


def _unsupported(log: DecisionLog, policy: TargetPolicy, req: np.ndarray) -> np.ndarray | None:
    """Target mass (position 1) on candidates whose logged position-1 probability is 0 or missing; known only
    when every candidate carries its logging probability for position 1 (single-slot logs)."""
    unshown = ~log.shown
    if not unshown.any() or not np.isfinite(log.propensity[unshown]).all():
        return None
    zero = (log.propensity <= 0) | ~np.isfinite(log.propensity)
    return log.per_request_sum(policy.probs[:, 0] * zero)[req]


def bootstrap_interval(est: SlotEstimator, c, n_boot: int, *, alpha: float = 0.05, clusters=None, seed: int = 0,
                       chunk: int = 200) -> tuple[float, float]:
    """Percentile interval from Poisson(1) resampling weights on requests (or whole clusters), vectorised in
    chunks of resamples; self-normalised estimators are renormalised inside each resample."""
    rng = np.random.default_rng(seed)
    codes = pd.factorize(clusters)[0] if clusters is not None else np.arange(c.requests.size)
    values = []
    for start in range(0, n_boot, chunk):
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


