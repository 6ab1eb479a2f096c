"""Pre-launch screening: off-policy estimates + support + guardrails + protected segments → a verdict.

Decision rule per candidate (one-sided bounds at level ``alpha``; ``z = Φ⁻¹(1 − alpha)``):

1. **inconclusive** when support is *weak* or *unsupported* for the primary reward (the reasons are named);
2. **fail** when the primary lift's upper bound is below the required lift, or a guardrail's harm is shown
   above its margin (Holm-adjusted across guardrails), or a protected segment is shown harmed (primary lift
   below 0, Holm-adjusted across segments);
3. **pass** when the primary lift's lower bound clears the required lift and every guardrail is shown
   non-inferior (harm below its margin, Holm-adjusted);
4. **inconclusive** otherwise (an interval too wide to decide).

Data quality overrides a "pass": when more than ``max_quarantine_share`` of the requests read were quarantined
by the reader (or, if set, more than ``max_excluded_share`` were excluded by the screen), a passing candidate is
**inconclusive** with the data-quality reason first. Every output shows requests read, quarantined by reason,
excluded by reason and used, per reward (:mod:`recsys_causal.gate.quality`), and every interval its level and
sidedness.

Evaluation modes (``mode=``, per candidate through ``per_candidate``; :mod:`recsys_causal.gate.modes`):
``top_slot`` (position 1, the default), ``logged_position`` (every impression at its logged position) and
``ranking`` (the target's slate of ``K`` positions, slate estimators). Guardrails and protected segments are
estimated in the candidate's mode; requests the mode leaves out are counted by reason.

Candidates are ranked by the lower confidence bound of the primary lift. Exit codes: 0 every candidate passes,
1 some candidate fails, 3 inconclusive and none fails (2 is kept for invalid config or input).

>>> from recsys_causal.simulate import simulate_decision_log
>>> from recsys_causal.ope import policies
>>> sim = simulate_decision_log(n_requests=4000, n_candidates=6, slate_size=1, epsilon=0.3, seed=1)
>>> res = screen(sim.log, {"new": policies.softmax(sim.log, "pred_new", 1)}, primary="click")
>>> res.candidates[0].verdict in ("pass", "fail", "inconclusive"), res.exit_code in (0, 1, 3)
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy import stats

from recsys_causal.caveats import emits_caveats
from recsys_causal.deprecation import renamed_arguments
from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.estimate import interval_label
from recsys_causal.frames import FrameTypeError, is_table
from recsys_causal.gate.guardrails import Guardrail, adjust, guardrail_rows
from recsys_causal.gate.lifts import Lifts
from recsys_causal.gate.modes import (
    OPTIONAL_CHECKS,
    SEGMENT_ESTIMATORS,
    _logged_position_lifts,
    check_mode,
    mode_estimators,
)
from recsys_causal.gate.quality import DataQuality, account
from recsys_causal.gate.results import (
    EXIT_FAIL,
    EXIT_INCONCLUSIVE,
    EXIT_INVALID,
    EXIT_PASS,
    SCHEMA_VERSION,
    CandidateVerdict,
    GateResult,
    json_number,
)
from recsys_causal.gate.versions import DEFAULT_VERSION_COLUMN
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.estimators import Estimator
from recsys_causal.ope.evaluate import reward_label
from recsys_causal.ope.policies import TargetPolicy, check_policy
from recsys_causal.ope.reward_model import RewardModel
from recsys_causal.ope.support import SupportThresholds


def decision_log(data: Any) -> DecisionLog:
    """``data``, the log :func:`screen` reads; a table (pandas, polars, pyarrow, a DuckDB relation) is refused
    with the way to read it as a validated log."""
    if is_table(data) or not hasattr(data, "candidates"):
        raise FrameTypeError(f"screen needs a DecisionLog, got {type(data).__name__}", column="data",
                             fix="read the table first: log, report = read_decision_log(table) (a pandas, polars "
                                 "or pyarrow table or a DuckDB relation), then screen(log, ...)")
    return data

__all__ = ["EXIT_FAIL", "EXIT_INCONCLUSIVE", "EXIT_INVALID", "EXIT_PASS", "SCHEMA_VERSION", "CandidateVerdict",
           "DataQuality", "GateResult", "Guardrail", "screen"]

SEGMENT_ESTIMATOR = SEGMENT_ESTIMATORS["top_slot"]  # guardrails and segments: DR (PI-IPS in ranking mode)


@renamed_arguments(log="data", cluster_by="cluster_col")
@emits_caveats
def screen(
    data: DecisionLog,
    candidates: Mapping[str, TargetPolicy],
    *,
    primary: str | Mapping[str, float],
    min_lift: float = 0.0,
    relative: bool = True,
    guardrails: Sequence[Guardrail] = (),
    baseline: TargetPolicy | None = None,
    estimator: str | Estimator | None = None,
    cross_check: Sequence[str | Estimator] | None = None,
    alpha: float = 0.05,
    multiplicity: str = "holm",
    thresholds: SupportThresholds | None = None,
    protected_segments: Sequence[tuple[str, Sequence[str] | None]] = (),
    reward_model: RewardModel | str | Mapping[str, str] | None = None,
    name: str = "screen",
    seed: int = 0,
    validation=None,
    max_quarantine_share: float = 0.01,
    max_excluded_share: float | None = None,
    cluster_col: str | None = None,
    mode: str = "top_slot",
    per_candidate: Mapping[str, Mapping[str, Any]] | None = None,
    per_version: bool = False, multi_logger: str | None = None, version_col: str = DEFAULT_VERSION_COLUMN,
) -> GateResult:
    """Screen candidate policies against the logging policy (or ``baseline``); see the module docstring.

    ``mode``: ``"top_slot"``, ``"logged_position"`` or ``"ranking"`` (module docstring);
    ``per_candidate`` maps a candidate name to overrides of ``mode``, ``estimator`` and ``cross_check``.
    ``estimator`` and ``cross_check``: registered estimators of the mode's kind (names or instances; None: the
    mode's defaults, :mod:`recsys_causal.gate.modes`); guardrails and protected segments use DR (PI-IPS for
    rankings). ``reward_model``: a :class:`RewardModel` (default, fitted per reward) or the candidate column
    of predictions (one for every reward, or a mapping reward → column). ``cluster_col`` (e.g. ``user_id``)
    makes every interval cluster-robust. ``per_version``, ``multi_logger``, ``version_col``: logs mixing policy
    versions (:mod:`~recsys_causal.gate.versions`). ``validation``: the reader's ``ValidationReport`` (default:
    the one in ``data.metadata`` when it describes this log).
    Deprecated names: ``log`` for ``data``, ``cluster_by`` for ``cluster_col``.
    """
    log = decision_log(data)
    plans = {c: _plan(c, mode, estimator, cross_check, (per_candidate or {}).get(c, {})) for c in candidates}
    _, est, _ = _plan(None, mode, estimator, cross_check, {})
    if not 0 < alpha < 0.5:
        raise ConfigError(f"alpha must lie in (0, 0.5), got {alpha!r}", column="alpha", fix="e.g. alpha: 0.05")
    quality_of = _Accounting(log, primary, guardrails, validation, max_quarantine_share, max_excluded_share)
    keys = {c: (plans[c][0].mode, _evaluated_size(plans[c][0].mode, p)) for c, p in candidates.items()}
    overall = next((k for k in keys.values() if k[0] == mode), (mode, 1))  # the screen's own accounting
    clusters = None if cluster_col is None else log.request_column(cluster_col)
    lifts = Lifts(log, alpha, baseline, reward_model, seed, clusters, cluster_col, version_col, multi_logger)
    verdicts = [_candidate(c, p, lifts, quality_of(keys[c]), plans[c], primary=primary, relative=relative,
                           min_lift=min_lift, guardrails=guardrails, protected_segments=protected_segments,
                           thresholds=thresholds, alpha=alpha, multiplicity=multiplicity,
                           own_quality=keys[c] != overall, per_version=per_version) for c, p in candidates.items()]
    verdicts.sort(key=lambda v: -v.lower_bound)
    settings = {"primary": reward_label(primary), "min_lift": min_lift, "relative": relative, "estimator": est.name,
                "alpha": alpha, "multiplicity": multiplicity, "seed": seed, "mode": mode, "cluster_col": cluster_col,
                "baseline": "logging" if baseline is None else baseline.name, "reward_model": _model_label(reward_model),
                "max_quarantine_share": max_quarantine_share, "max_excluded_share": max_excluded_share}
    settings |= {k: v for k, v in (("per_version", per_version), ("multi_logger", multi_logger)) if v}
    return GateResult(name, verdicts, settings, quality_of(overall))


class _Accounting(dict):
    """The data accounting per (mode, evaluated positions), computed once each."""

    def __init__(self, log, primary, guardrails, validation, max_quarantine_share, max_excluded_share):
        super().__init__()
        if validation is None:  # the reader's report stored with the log, when it describes this log
            stored = log.metadata.get("validation")
            validation = stored if getattr(stored, "n_requests_used", None) == log.n_requests else None
        rewards = [(reward_label(primary), "primary", primary)]
        rewards += [(g.label, "guardrail", g.reward) for g in guardrails if g.label not in {r[0] for r in rewards}]
        self.args = (log, rewards, validation)
        self.shares = {"max_quarantine_share": max_quarantine_share, "max_excluded_share": max_excluded_share}

    def __call__(self, key: tuple) -> DataQuality:
        if key not in self:
            self[key] = account(*self.args, **self.shares, mode=key[0], slate_size=key[1])
        return self[key]


def _plan(cname, mode, estimator, cross_check, override: Mapping[str, Any]):
    """The mode, primary estimator, cross-checks and optional cross-checks of one candidate (``cname`` None:
    the screen's own settings); keys of errors name the candidate's override when it has one."""
    from types import SimpleNamespace

    unknown = set(override) - {"mode", "estimator", "cross_check"}
    if unknown:
        raise ConfigError(f"per_candidate[{cname!r}]: unknown keys {sorted(unknown)}", column="per_candidate",
                          fix="override only mode, estimator or cross_check")
    m = check_mode(override.get("mode", mode), "mode" if "mode" not in override else f"candidates.{cname}.mode")
    e = override.get("estimator", estimator)
    checks = override.get("cross_check", cross_check)
    key = f"candidates.{cname}.estimator" if cname and {"mode", "estimator"} & set(override) else "estimator"
    est, cross = mode_estimators(m, e, checks, key=key)
    optional = set(OPTIONAL_CHECKS) if checks is None else set()
    return SimpleNamespace(mode=m, optional=optional), est, cross


def _model_label(model) -> str | dict | None:
    """The reward model as the JSON shows it: its column(s), a fitted model's learner and features, or None."""
    if model is None or isinstance(model, str | dict):
        return model
    if isinstance(model, RewardModel):
        learner = "hgb" if model.estimator is None else type(model.estimator).__name__
        return f"cross-fitted {learner} ({model.folds} folds) on {', '.join(model.features or ['default features'])}"
    return None


def _evaluated_size(mode: str, policy: TargetPolicy) -> int | None:
    """Positions a mode evaluates for ``policy``: 1 (top_slot) or the target's ``K`` (ranking, logged_position:
    a request is evaluated when it shows an item at positions ``1..K``)."""
    return 1 if mode == "top_slot" else policy.slate_size


def _candidate(cname: str, policy: TargetPolicy, lifts: Lifts, quality: DataQuality, plan, *, primary,
               relative, min_lift, guardrails, protected_segments, thresholds, alpha, multiplicity,
               own_quality: bool, per_version: bool = False) -> CandidateVerdict:
    """The verdict of one candidate: primary lift, support, cross-checks, guardrails and protected segments."""
    log, (opts, est, checks) = lifts.log, plan
    mode = opts.mode
    check_policy(log, policy)
    _check_positions(log, cname, policy, mode)
    prim, support, n_used, positions, versions = lifts.screened(policy, primary, est, relative=relative, mode=mode,
                                                                thresholds=thresholds, per_version=per_version)
    if n_used is not None and n_used != quality.rewards[0].used:
        raise EstimationError(f"internal accounting mismatch: {n_used} requests evaluated, "
                              f"{quality.rewards[0].used} counted as used", fix="report this as a bug")
    cross = [x for x in (_cross(lifts, policy, primary, e, relative, mode, opts.optional) for e in checks) if x]
    z = float(stats.norm.ppf(1 - alpha))
    lb, ub = prim.value - z * prim.se, prim.value + z * prim.se
    seg_est = SEGMENT_ESTIMATORS[mode]
    g_rows = guardrail_rows([_lift(lifts, policy, g.reward, seg_est, g.relative, mode) for g in guardrails],
                            guardrails, alpha=alpha, multiplicity=multiplicity)
    s_rows = _segments(log, policy, primary, protected_segments, lifts, relative, alpha, multiplicity, mode)
    verdict, reasons = _decide(prim, lb, ub, support, g_rows, s_rows, reward_label(primary), min_lift, alpha)
    reasons += [f"cross-check {e.details['estimator']}: {e.value:.4g} [{e.ci_low:.4g}, {e.ci_high:.4g}] "
                f"({interval_label(e.alpha)})" for e in cross]
    if mode != "top_slot":  # assumption checks of the mode's estimators (e.g. slate IPS disagreement)
        reasons += [f"warning ({e.details['estimator']}): {w}" for e in [prim, *cross] for w in e.warnings]
    blocking = quality.blocking_reasons()
    if blocking:
        verdict = "inconclusive" if verdict == "pass" else verdict
        reasons = blocking + reasons
    return CandidateVerdict(cname, verdict, reasons, prim, lb, cross, g_rows, s_rows, support, mode=mode,
                            positions=positions, data_quality=quality if own_quality else None, versions=versions)


def _check_positions(log: DecisionLog, cname: str, policy: TargetPolicy, mode: str) -> None:
    """A ranking target may not rank more positions than the log ever shows (they would count as reward 0)."""
    shown = log.position[log.shown]
    longest = int(shown.max()) if shown.size else 0
    if mode == "ranking" and policy.slate_size > longest:
        raise ConfigError(f"candidate {cname!r} ranks {policy.slate_size} positions but the log shows at most "
                          f"{longest}: positions {longest + 1}..{policy.slate_size} cannot be evaluated",
                          source=log.source, column="slate_size",
                          fix=f"set slate_size to at most {longest} (the longest logged slate)")


def _lift(lifts: Lifts, policy, spec, estimator, relative, mode, mask=None, where=""):
    """One lift estimate in ``mode`` (logged_position through ``evaluate_policies``)."""
    if mode == "logged_position":
        return _logged_position_lifts(lifts, policy, spec, estimator, relative=relative, mask=mask, where=where)[0]
    return lifts.lift(policy, spec, estimator, relative=relative, mask=mask, where=where, mode=mode)[0]


def _cross(lifts, policy, primary, est, relative, mode, optional):
    """A cross-check lift, or None for a default cross-check the log cannot give (e.g. slate IPS without
    slate propensities or for a target that does not fill the logged slates)."""
    try:
        return _lift(lifts, policy, primary, est, relative, mode)
    except EstimationError:
        if est.name in optional:
            return None
        raise


def _decide(prim, lb, ub, support, g_rows, s_rows, primary_label, min_lift, alpha) -> tuple[str, list[str]]:
    """The verdict of one candidate and its reasons (rule in the module docstring; data quality comes after)."""
    lo_label, hi_label = interval_label(alpha, "lower"), interval_label(alpha, "upper")
    reasons: list[str] = []
    if support.verdict != "supported":
        verdict = "inconclusive"
        reasons.append(f"support is {support.verdict}: " + "; ".join(support.reasons))
    else:
        fails = []
        if ub < min_lift:
            fails.append(f"primary {primary_label} lift {prim.value:.4g} is confidently below the required "
                         f"{min_lift:g} ({hi_label} {ub:.4g})")
        fails += [f"guardrail {g['reward']} is worse than its margin {g['margin']:g}: harm {g['harm']:.4g} "
                  f"({lo_label} {g['harm_lower']:.4g}, adjusted p {g['p_violation_adjusted']:.2g})"
                  for g in g_rows if g["verdict"] == "violated"]
        fails += [f"protected segment {s['column']}={s['segment']} is harmed: lift {s['value']:.4g} "
                  f"({hi_label} {s['upper']:.4g}, adjusted p {s['p_harm_adjusted']:.2g})"
                  for s in s_rows if s["harmed"]]
        if fails:
            verdict, reasons = "fail", fails
        elif lb >= min_lift and all(g["verdict"] == "ok" for g in g_rows):
            verdict = "pass"
            reasons.append(f"primary {primary_label} lift {prim.value:.4g}, {lo_label} {lb:.4g} ≥ "
                           f"{min_lift:g}")
            reasons += [f"guardrail {g['reward']} non-inferior (harm {hi_label} {g['harm_upper']:.4g} < "
                        f"{g['margin']:g})" for g in g_rows]
        else:
            verdict = "inconclusive"
            if lb < min_lift:
                reasons.append(f"primary {primary_label} lift {prim.value:.4g} [{lb:.4g}, {ub:.4g}] "
                               f"({interval_label(2 * alpha)}) is too uncertain to clear {min_lift:g}")
            reasons += [f"guardrail {g['reward']} not shown non-inferior (harm {hi_label} "
                        f"{g['harm_upper']:.4g} vs margin {g['margin']:g})" for g in g_rows
                        if g["verdict"] == "inconclusive"]
        reasons.append(f"support: ESS {support.ess:.0f} of {support.n} ({support.ess_ratio:.1%})")
    return verdict, reasons



def _segments(log, policy, primary, protected, lifts, relative, alpha, multiplicity, mode) -> list[dict]:
    rows = []
    for column, values in protected:
        col = log.request_column(column).astype(str)
        for v in (values if values is not None else sorted(set(col))):
            mask = col == str(v)
            if mask.sum() < 20:
                raise ConfigError(f"protected segment {column}={v} has only {int(mask.sum())} requests",
                                  column=column, fix="protect larger segments or drop this one")
            e = _lift(lifts, policy, primary, SEGMENT_ESTIMATORS[mode], relative, mode, mask,
                      f" in protected segment {column}={v}")
            zval = e.value / e.se if e.se > 0 else 0.0
            rows.append({"column": column, "segment": str(v), "value": json_number(e.value), "se": json_number(e.se),
                         "upper": json_number(e.value + stats.norm.ppf(1 - alpha) * e.se),
                         "requests": int(mask.sum()), "p_harm": float(stats.norm.cdf(zval))})
    if rows:
        adj = adjust([r["p_harm"] for r in rows], multiplicity)
        for r, a in zip(rows, adj, strict=True):
            r["p_harm_adjusted"], r["harmed"] = float(a), bool(a < alpha)
    return rows
