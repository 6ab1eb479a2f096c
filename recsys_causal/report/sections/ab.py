"""The A/B sections: primary and secondary metrics (with the sample-ratio check), and guardrails.

Both read the one A/B readout of the run (:func:`~recsys_causal.report.ab_units.ab_readout`).
"""

from __future__ import annotations

from recsys_causal.estimate import Estimate, interval_label
from recsys_causal.plotting import bar_intervals, figure_svg
from recsys_causal.report.ab_units import ab_readout
from recsys_causal.report.context import ReportContext
from recsys_causal.report.decision import Finding, pct
from recsys_causal.report.records import estimates_json, json_number
from recsys_causal.report.sections.base import Section, SectionResult, register


def lift_kind(e: Estimate) -> str | None:
    """``"relative"``, ``"absolute"`` or ``None`` (not a lift, e.g. a quantile difference), from
    ``details["lift"]`` or, in the shared vocabulary, ``details["quantity"]`` (``"relative lift"`` / ``"lift"``)."""
    if "lift" in e.details:
        return e.details["lift"]
    return {"relative lift": "relative", "lift": "absolute"}.get(e.details.get("quantity"))


@register
class Metrics(Section):
    """Lifts of the primary and secondary metrics (a table and a figure of the relative lifts); contributes the
    sample-ratio check and the units by group to data quality, and the SRM and primary-lift findings."""

    name, title, order = "metrics", "Primary and secondary metrics", 30
    designs, empty_json = ("ab",), []

    def run(self, ctx: ReportContext) -> SectionResult:
        ab = ab_readout(ctx)
        srm = ab.srm
        quality = {"srm": {"observed": {k: int(v) for k, v in srm.observed.items()}, "expected": srm.expected,
                           "chi2": json_number(srm.chi2), "p_value": json_number(srm.p_value),
                           "threshold": srm.threshold, "flagged": bool(srm.flagged)},
                   "units": {k: int(v) for k, v in ab.n_units.items()}}
        covariates = ctx.cfg.covariates
        methods = [
            "Lifts: Welch t (Welch–Satterthwaite df) for differences, delta method for ratio metrics; each relative "
            "lift shares the p-value of its absolute lift (one hypothesis per metric) with a Fieller interval"
            + (", CUPED with pre-period covariates " + ", ".join(covariates) if covariates else "") + ".",
            "Multiplicity: Holm across primary metrics, Benjamini–Hochberg across secondary metrics.",
            "Guardrails: one-sided non-inferiority tests against each margin (ok / violated / inconclusive).",
            f"Sample-ratio mismatch: chi-square against the expected split, flagged at p < {srm.threshold:g}."]
        rel = [e for e in ab.metrics if lift_kind(e) == "relative"]
        figures = {"lifts": figure_svg(bar_intervals(
            [f"{e.details.get('metric')} ({e.details.get('variant')})" for e in rel], [e.value for e in rel],
            [e.ci_low for e in rel], [e.ci_high for e in rel], title="Relative lift",
            xlabel="relative lift (treatment / control − 1)", interval=interval_label(rel[0].alpha)))} if rel else {}
        rows = [row | {"feeds": feeds(e, ctx.cfg.alpha)} for row, e in zip(estimates_json(ab.metrics), ab.metrics,
                                                                            strict=True)]
        return SectionResult(ab, rows, figures=figures, methods=methods,
                             warnings=list(ab.warnings), quality=quality, findings=self.findings(ab, ctx.cfg.alpha))

    @staticmethod
    def findings(ab, alpha: float) -> list[Finding]:
        """The sample-ratio check first (a mismatch blocks), then each primary metric's relative lift (or its
        only estimate): up and significant is positive, down and significant a blocker, else unknown."""
        srm = ab.srm
        out = [Finding("blocker", f"Sample-ratio mismatch (p = {srm.p_value:.2g}): assignment is broken, so no "
                                  "lift can be trusted.") if srm.flagged
               else Finding("reason", f"Sample ratio matches the planned split (p = {srm.p_value:.2g}).")]
        iv = interval_label(alpha)
        return out + [primary_finding(e, alpha, iv) for e in ab.metrics if decides(e)]


FEEDS = {"positive": "supports ship", "blocker": "blocks ship", "unknown": "leaves it inconclusive"}


def decides(e: Estimate) -> bool:
    """Whether an estimate feeds the decision: a primary metric's relative lift (or its only estimate)."""
    return e.details.get("role", "primary") == "primary" and lift_kind(e) in ("relative", None)


def feeds(e: Estimate, alpha: float) -> str:
    """What a metric row contributes to the decision, in words (the kind of its finding, or why none)."""
    if decides(e):
        return FEEDS[primary_finding(e, alpha, "").kind]
    if e.details.get("role") == "secondary":
        return "informs only (secondary)"
    return "same test as the relative lift"


def primary_finding(e: Estimate, alpha: float, iv: str) -> Finding:
    """A primary lift: up and significant (adjusted p) is positive, down and significant a blocker, else unknown."""
    p = json_number(e.details.get("p_adjusted", e.p_value))
    label = f"{e.details.get('metric', e.name)} ({e.details.get('variant', '')})"
    interval = f"[{pct(e.ci_low)}, {pct(e.ci_high)}] ({iv})"
    if e.details.get("degenerate") and json_number(e.ci_low) is None:
        return Finding("unknown", f"Primary metric {label} is not estimable: {e.details['degenerate']}.")
    if p is not None and p < alpha and e.value > 0:
        return Finding("positive", f"Primary metric {label} is up {pct(e.value)} {interval}, adjusted p = {p:.2g}.")
    if p is not None and p < alpha:
        return Finding("blocker", f"Primary metric {label} is down {pct(-e.value)} {interval}, "
                                  f"adjusted p = {p:.2g}.")
    return Finding("unknown", f"Primary metric {label}: {pct(e.value)} {interval} is not distinguishable from 0.")


@register
class Guardrails(Section):
    """Non-inferiority verdicts of the guardrails against their margins (a table and a figure of the harm
    bounds); a violated guardrail blocks the decision."""

    name, title, order = "guardrails", "Guardrails", 40
    designs, empty_json = ("ab",), []

    def run(self, ctx: ReportContext) -> SectionResult:
        g = list(ab_readout(ctx).guardrails)
        figures = {"guardrails": figure_svg(bar_intervals(
            [str(e.details.get("guardrail")) for e in g], [e.details["harm"] for e in g],
            [e.details["harm_lower"] for e in g], [e.details["harm_upper"] for e in g],
            title="Guardrails: harm (one-sided bounds) against the margin", xlabel="harm in the bad direction",
            marks=[e.details["margin"] for e in g], interval=interval_label(g[0].alpha, "bounds")))} if g else {}
        return SectionResult(g, estimates_json(g), figures=figures, findings=self.findings(g))

    @staticmethod
    def findings(guardrails) -> list[Finding]:
        """A violated guardrail blocks, an inconclusive one is unknown, an ok one is a plain reason."""
        kinds = {"violated": "blocker", "inconclusive": "unknown"}
        return [Finding(kinds.get(e.details.get("verdict"), "reason"),
                        f"Guardrail {e.details.get('guardrail')} ({e.details.get('direction')}, margin "
                        f"{json_number(e.details.get('margin'))}): {e.details.get('verdict')}.") for e in guardrails]
