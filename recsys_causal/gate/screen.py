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

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from scipy import stats

from recsys_causal.errors import ConfigError, EstimationError
from recsys_causal.estimate import Estimate, interval_label
from recsys_causal.gate.quality import DataQuality, account
from recsys_causal.inference import influence_estimate
from recsys_causal.logs.model import DecisionLog
from recsys_causal.ope.evaluate import policy_support, resolve_reward, reward_label
from recsys_causal.ope.policies import TargetPolicy, check_policy
from recsys_causal.ope.reward_model import RewardModel
from recsys_causal.ope.single_slot import DR, IPS, SNDR, SNIPS, components
from recsys_causal.ope.support import SupportReport, SupportThresholds
from recsys_causal.pvalues import adjust_pvalues

SCHEMA_VERSION = 1
ESTIMATORS = {"DR": DR, "SNDR": SNDR, "IPS": IPS, "SNIPS": SNIPS}
EXIT_PASS, EXIT_FAIL, EXIT_INVALID, EXIT_INCONCLUSIVE = 0, 1, 2, 3


@dataclass(frozen=True)
class Guardrail:
    reward: str | Mapping[str, float]
    direction: str  # increase_is_bad | decrease_is_bad
    margin: float
    relative: bool = True

    def __post_init__(self) -> None:
        if self.direction not in ("increase_is_bad", "decrease_is_bad"):
            raise ConfigError(f"guardrail {self.label!r}: direction {self.direction!r} is not one of "
                              "'increase_is_bad', 'decrease_is_bad'", column="direction")
        if not (isinstance(self.margin, int | float) and math.isfinite(self.margin) and self.margin >= 0):
            raise ConfigError(f"guardrail {self.label!r}: margin must be a finite number >= 0, got {self.margin!r}",
                              column="margin", fix="e.g. margin=0.05 (a 5% relative harm is tolerated)")

    @property
    def label(self) -> str:
        return reward_label(self.reward)


@dataclass
class CandidateVerdict:
    name: str
    verdict: str
    reasons: list[str]
    primary: Estimate
    lower_bound: float
    cross_checks: list[Estimate]
    guardrails: list[dict]
    segments: list[dict]
    support: SupportReport

    def to_dict(self) -> dict:
        return {"name": self.name, "verdict": self.verdict, "reasons": self.reasons,
                "primary": _est(self.primary), "lower_bound": _f(self.lower_bound),
                "cross_checks": [_est(e) for e in self.cross_checks], "guardrails": self.guardrails,
                "segments": self.segments,
                "support": {"verdict": self.support.verdict, "reasons": self.support.reasons,
                            "ess": _f(self.support.ess), "ess_ratio": _f(self.support.ess_ratio),
                            "max_weight_share": _f(self.support.max_weight_share),
                            "mean_weight": _f(self.support.mean_weight),
                            "unsupported_mass": _f(self.support.unsupported_mass),
                            "outside_mass": _f(self.support.outside_mass)}}


@dataclass
class GateResult:
    """Verdicts of every candidate, ranked by the primary lift's lower confidence bound."""

    name: str
    candidates: list[CandidateVerdict]
    settings: dict = field(default_factory=dict)
    data_quality: DataQuality | None = None

    @property
    def intervals(self) -> dict[str, str]:
        """The level and sidedness of every interval and bound shown, from the alpha that computed them."""
        a = self.settings.get("alpha", 0.05)
        return {"primary": interval_label(2 * a), "lower_bound": interval_label(a, "lower"),
                "upper_bound": interval_label(a, "upper"), "guardrail_bounds": interval_label(a, "bounds"),
                "segment_upper": interval_label(a, "upper"), "cross_checks": interval_label(2 * a)}

    @property
    def exit_code(self) -> int:
        verdicts = {c.verdict for c in self.candidates}
        if "fail" in verdicts:
            return EXIT_FAIL
        return EXIT_PASS if verdicts == {"pass"} else EXIT_INCONCLUSIVE

    def to_dict(self, timestamp: bool = True) -> dict:
        out = {"schema_version": SCHEMA_VERSION, "name": self.name, "exit_code": self.exit_code,
               "settings": self.settings, "intervals": self.intervals,
               "data_quality": None if self.data_quality is None else self.data_quality.to_dict(),
               "candidates": [c.to_dict() for c in self.candidates]}
        if timestamp:
            out["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_markdown(self) -> str:
        from recsys_causal.gate.render import to_markdown

        return to_markdown(self)

    def to_html(self) -> str:
        from recsys_causal.gate.render import to_html

        return to_html(self)

    def __repr__(self) -> str:
        return self.to_markdown()


def screen(
    log: DecisionLog,
    candidates: Mapping[str, TargetPolicy],
    *,
    primary: str | Mapping[str, float],
    min_lift: float = 0.0,
    relative: bool = True,
    guardrails: Sequence[Guardrail] = (),
    baseline: TargetPolicy | None = None,
    estimator: str = "DR",
    cross_check: Sequence[str] = ("IPS", "SNIPS"),
    alpha: float = 0.05,
    multiplicity: str = "holm",
    thresholds: SupportThresholds | None = None,
    protected_segments: Sequence[tuple[str, Sequence[str] | None]] = (),
    reward_model: RewardModel | None = None,
    name: str = "screen",
    seed: int = 0,
    validation=None,
    max_quarantine_share: float = 0.01,
    max_excluded_share: float | None = None,
) -> GateResult:
    """Screen candidate policies against the logging policy (or ``baseline``); see the module docstring.

    ``validation`` is the ``ValidationReport`` returned with ``log`` by ``read_decision_log`` (requests read
    and quarantined); when omitted, the one the reader stored in ``log.metadata`` is used if it describes this
    log, else only what the screen excludes itself is counted.
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {estimator!r}", fix=f"use one of {list(ESTIMATORS)}")
    if not 0 < alpha < 0.5:
        raise ConfigError(f"alpha must lie in (0, 0.5), got {alpha!r}", column="alpha", fix="e.g. alpha: 0.05")
    z = float(stats.norm.ppf(1 - alpha))
    if validation is None:
        stored = log.metadata.get("validation")
        validation = stored if getattr(stored, "n_requests_used", None) == log.n_requests else None
    rewards = [(reward_label(primary), "primary", primary)]
    rewards += [(g.label, "guardrail", g.reward) for g in guardrails if g.label not in {r[0] for r in rewards}]
    quality = account(log, rewards, validation, max_quarantine_share=max_quarantine_share,
                      max_excluded_share=max_excluded_share)
    blocking = quality.blocking_reasons()
    model = reward_model or RewardModel(seed=seed)
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def reward_and_model(spec):
        key = reward_label(spec)
        if key not in cache:
            y = resolve_reward(log, spec)[1]
            cache[key] = (y, model.predict(log, y))
        return cache[key]

    def lift(policy, spec, est_name, mask=None, rel=relative):
        y, q = reward_and_model(spec)
        sub_log, probs, base_probs, yy, qq = log, policy.probs, None if baseline is None else baseline.probs, y, q
        if mask is not None:
            rows = mask[log.request_index]
            sub_log = log.select_requests(mask)
            probs, yy, qq = probs[rows], y[rows], q[rows]
            base_probs = None if base_probs is None else base_probs[rows]
        est = ESTIMATORS[est_name]()
        c = components(sub_log, probs, yy, qq, reward_label(spec))
        v1, psi1 = est.contributions(c)
        if base_probs is None:
            v0 = float(c.y.mean())
            psi0 = c.y - v0
        else:
            v0, psi0 = est.contributions(components(sub_log, base_probs, yy, qq, reward_label(spec)))
        if rel:
            value, psi = v1 / v0 - 1, psi1 / v0 - v1 * psi0 / v0**2
        else:
            value, psi = v1 - v0, psi1 - psi0
        kind = "relative lift" if rel else "lift"
        e = influence_estimate(name=f"{policy.name}: {kind} in {reward_label(spec)} ({est_name})", value=value,
                               influence=psi, method=f"{est_name}, paired", alpha=2 * alpha, null=0.0,
                               details={"estimator": est_name, "reward": reward_label(spec), "quantity": kind})
        return e, c

    verdicts = []
    for cname, policy in candidates.items():
        check_policy(log, policy)
        prim, c = lift(policy, primary, estimator)
        if prim.n != quality.rewards[0].used:
            raise EstimationError(f"internal accounting mismatch: {prim.n} requests evaluated, "
                                  f"{quality.rewards[0].used} counted as used", fix="report this as a bug")
        support = policy_support(log, policy, c.w, c.p_log, c.requests, thresholds=thresholds)
        checks = [lift(policy, primary, e)[0] for e in cross_check if e != estimator]
        lb, ub = prim.value - z * prim.se, prim.value + z * prim.se
        g_rows = _guardrails(policy, guardrails, lift, z, alpha, multiplicity)
        s_rows = _segments(log, policy, primary, protected_segments, lift, alpha, multiplicity)
        verdict, reasons = _decide(prim, lb, ub, support, g_rows, s_rows, reward_label(primary), min_lift, alpha)
        for e in checks:
            reasons.append(f"cross-check {e.details['estimator']}: {e.value:.4g} [{e.ci_low:.4g}, {e.ci_high:.4g}] "
                           f"({interval_label(e.alpha)})")
        if blocking:
            verdict = "inconclusive" if verdict == "pass" else verdict
            reasons = blocking + reasons
        verdicts.append(CandidateVerdict(cname, verdict, reasons, prim, lb, checks, g_rows, s_rows, support))
    verdicts.sort(key=lambda v: -v.lower_bound)
    settings = {"primary": reward_label(primary), "min_lift": min_lift, "relative": relative, "estimator": estimator,
                "alpha": alpha, "multiplicity": multiplicity, "seed": seed,
                "baseline": "logging" if baseline is None else baseline.name,
                "max_quarantine_share": max_quarantine_share, "max_excluded_share": max_excluded_share}
    return GateResult(name, verdicts, settings, quality)


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


def _guardrails(policy, guardrails, lift, z, alpha, multiplicity) -> list[dict]:
    rows = []
    for g in guardrails:
        e, _ = lift(policy, g.reward, "DR", rel=g.relative)
        sign = 1.0 if g.direction == "increase_is_bad" else -1.0
        h = sign * e.value
        zstat = (h - g.margin) / e.se if e.se > 0 else (np.inf if h > g.margin else -np.inf)
        rows.append({"reward": g.label, "direction": g.direction, "margin": g.margin, "relative": g.relative,
                     "harm": _f(h), "harm_lower": _f(h - z * e.se), "harm_upper": _f(h + z * e.se),
                     "p_noninferiority": float(stats.norm.cdf(zstat)), "p_violation": float(stats.norm.sf(zstat))})
    if rows:
        adj_ni = _adjust([r["p_noninferiority"] for r in rows], multiplicity)
        adj_v = _adjust([r["p_violation"] for r in rows], multiplicity)
        for r, a, b in zip(rows, adj_ni, adj_v, strict=True):
            r["p_noninferiority_adjusted"], r["p_violation_adjusted"] = float(a), float(b)
            r["verdict"] = "ok" if a < alpha else "violated" if b < alpha else "inconclusive"
    return rows


def _segments(log, policy, primary, protected, lift, alpha, multiplicity) -> list[dict]:
    rows = []
    for column, values in protected:
        col = log.request_column(column).astype(str)
        for v in (values if values is not None else sorted(set(col))):
            mask = col == str(v)
            if mask.sum() < 20:
                raise ConfigError(f"protected segment {column}={v} has only {int(mask.sum())} requests",
                                  column=column, fix="protect larger segments or drop this one")
            e, _ = lift(policy, primary, "DR", mask=mask)
            zval = e.value / e.se if e.se > 0 else 0.0
            rows.append({"column": column, "segment": str(v), "value": _f(e.value), "se": _f(e.se),
                         "upper": _f(e.value + stats.norm.ppf(1 - alpha) * e.se), "requests": int(mask.sum()),
                         "p_harm": float(stats.norm.cdf(zval))})
    if rows:
        adj = _adjust([r["p_harm"] for r in rows], multiplicity)
        for r, a in zip(rows, adj, strict=True):
            r["p_harm_adjusted"], r["harmed"] = float(a), bool(a < alpha)
    return rows


def _adjust(p_values: list[float], multiplicity: str) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    return p if multiplicity == "none" else adjust_pvalues(p, multiplicity)


def _f(v):
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _est(e: Estimate) -> dict:
    return {"name": e.name, "value": _f(e.value), "se": _f(e.se), "ci_low": _f(e.ci_low), "ci_high": _f(e.ci_high),
            "alpha": e.alpha, "interval": interval_label(e.alpha), "n": e.n, "method": e.method}
