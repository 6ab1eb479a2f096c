"""The engine-independent part of an A/B readout: variant labels, lifts of every metric and treatment with
multiplicity adjustment, guardrail verdicts, and the assembled :class:`~.ab_readout.ABReadout`.

``analyze_ab`` in memory and on an engine differ only in how a metric's arm summaries are computed
(:meth:`~recsys_causal.experiments.metric_base.Metric.arms_frame` / ``arms_sql``); both call
:func:`lifts_and_guardrails` with a function returning them.

>>> from recsys_causal.kernel.contrast import ArmMean
>>> arms = (ArmMean(2.0, 0.01, 100), ArmMean(1.0, 0.01, 100), "welch", {})
>>> lifts, _ = lifts_and_guardrails([Metric("x")], [], ["t"], "c", alpha=0.05, arms_for=lambda m, v, a: arms)
>>> [(e.details["lift"], e.details["quantity"], round(e.value, 3)) for e in lifts]
[('absolute', 'lift', 1.0), ('relative', 'relative lift', 1.0)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from recsys_causal.caveats import AssumptionWarning, caveat
from recsys_causal.checks import Quarantine
from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, EstimateTable
from recsys_causal.experiments.ab_readout import ABReadout
from recsys_causal.experiments.guardrails import Guardrail
from recsys_causal.experiments.metric_base import ArmSummaries, Metric
from recsys_causal.experiments.srm import SRMResult
from recsys_causal.kernel.contrast import lift_from_arms
from recsys_causal.kernel.multiplicity import adjust_by_hypothesis
from recsys_causal.suggest import did_you_mean

#: Multiplicity correction per metric role.
FAMILIES = (("primary", "holm"), ("secondary", "bh"))


def resolve_variants(
    control: object, expected_split: Mapping | None, present: Sequence[str],
) -> tuple[str, dict[str, float] | None, list[str]]:
    """Control label, expected split and allowed labels as strings; the control must be one of them."""
    control = str(control)
    split = {str(k): v for k, v in expected_split.items()} if expected_split else None
    if split:
        bad = {k: v for k, v in split.items()
               if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not np.isfinite(v) or v <= 0}
        if bad:
            raise ConfigError(f"expected_split shares must be positive finite numbers, got {bad}",
                              fix="give every variant its planned share, e.g. {'control': 0.5, 'treatment': 0.5}")
    known = list(split) if split else sorted(present)
    if control not in known:
        raise ConfigError(f"control variant {control!r} is not among the variants {known}"
                          f"{did_you_mean(control, known)}",
                          fix="pass control= one of the variant labels, or add it to expected_split")
    return control, split, known


def analysed_metrics(metrics: Sequence[Metric], guardrails: Sequence[Guardrail]) -> list[Metric]:
    """The metrics, then a mean metric for every guardrail that names a column rather than a listed metric."""
    names = {m.name for m in metrics}
    return [*metrics, *dict.fromkeys(Metric.mean(g.metric) for g in guardrails if g.metric not in names)]


def lift_estimate(metric: Metric, arms: ArmSummaries, *, relative: bool, alpha: float, name: str,
                  details: dict) -> Estimate:
    """The absolute or relative lift of ``metric`` from its arm summaries (the metric chooses the reference)."""
    t, c, method, extra = arms
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method,
                          df=metric.reference_df(t, c),
                          details={**extra, **details, "lift": "relative" if relative else "absolute"})


def lifts_and_guardrails(
    metrics: Sequence[Metric], guardrails: Sequence[Guardrail], treatments: Sequence[str], control: str, *,
    alpha: float, arms_for: Callable[[Metric, str, float], ArmSummaries],
) -> tuple[list[Estimate], list[Estimate]]:
    """Absolute and relative lifts of every metric and treatment, adjusted (Holm across primary, BH across
    secondary) and sorted, and the guardrail estimates with verdicts. ``arms_for(metric, variant, alpha)``
    checks the metric and returns its arm summaries (in memory or from SQL sums)."""
    estimates: dict[str, list[Estimate]] = {"primary": [], "secondary": []}
    for v in treatments:
        for m in metrics:
            arms = arms_for(m, v, alpha)
            for rel in (False, True):
                det = {"metric": m.name, "variant": v, "control": control, "kind": m.kind, "role": m.role}
                estimates[m.role].append(lift_estimate(m, arms, relative=rel, alpha=alpha, details=det,
                                                       name=f"{m.name} {v} {'rel' if rel else 'abs'}"))
    adjusted: list[Estimate] = []
    for role, multiplicity in FAMILIES:  # one hypothesis per metric and variant
        adjusted += adjust_by_hypothesis(estimates[role], multiplicity=multiplicity, alpha=alpha)
    adjusted.sort(key=lambda e: (e.details["role"] != "primary", e.details["variant"], e.details["metric"],
                                 e.details["lift"]))
    metric_by_name = {m.name: m for m in metrics}
    guard_estimates = []
    for g in guardrails:
        m = metric_by_name.get(g.metric) or Metric.mean(g.metric)
        for v in treatments:
            det = {"metric": m.name, "variant": v, "control": control, "kind": m.kind}
            arms = arms_for(m, v, g.alpha)
            guard_estimates.append(g.evaluate(lift_estimate(m, arms, relative=g.relative, alpha=g.alpha,
                                                            details=det, name=f"{g.metric} {v} guardrail")))
    return adjusted, guard_estimates


def finish_readout(
    srm: SRMResult, lifts: Sequence[Estimate], guardrails: Sequence[Estimate], segments: EstimateTable | None,
    n_units: dict[str, int], control: str, quarantine: Quarantine | None, warnings: list[str],
    srm_threshold: float,
) -> ABReadout:
    """The :class:`ABReadout`, with the sample-ratio-mismatch warning first when the SRM test flags, and the
    lifts' small-sample and unbounded-interval warnings repeated once at the readout level."""
    for w in dict.fromkeys(w for e in lifts for w in e.warnings if w.startswith("small sample")):
        warnings.append(w)
    warnings += [f"{e.name}: {w}" for e in lifts for w in e.warnings if "unbounded" in w]
    if srm.flagged:
        warnings.insert(0, caveat(f"sample-ratio mismatch (p={srm.p_value:.3g} < {srm_threshold:g}): lifts are suspect",
                                  AssumptionWarning))
    return ABReadout(srm, EstimateTable(lifts, title="Metric lifts"), EstimateTable(guardrails, title="Guardrails"),
                     segments, n_units, control, quarantine, warnings)


__all__ = ["FAMILIES", "analysed_metrics", "finish_readout", "lift_estimate", "lifts_and_guardrails",
           "resolve_variants"]
